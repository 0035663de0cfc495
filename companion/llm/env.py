"""The Hugging Face libraries' environment: offline, quiet, no progress bars.

:func:`hf_environment` is called at the top of every function of this package that imports
``transformers``, ``peft`` or ``tokenizers``, before that import. Importing ``companion.llm``
changes nothing. The libraries read these variables when they are first imported, and Lightning
imports ``transformers`` itself: when they are loaded already, the settings are applied to them.
"""

from __future__ import annotations

import os
import sys
import warnings

HF_VARIABLES = {
    # a missing model must fail at once, not after ~25 s of retries against the hub
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    # weight-loading progress bars would make executed chapters differ from run to run (it/s)
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
}


def _on(name: str) -> bool:
    return os.environ.get(name, "").upper() in ("1", "ON", "YES", "TRUE")


def hf_environment() -> None:
    """Set the variables above where the user has not (and apply them to the libraries already
    imported), and silence two warnings that are noise in the book; idempotent."""
    for name, value in HF_VARIABLES.items():
        os.environ.setdefault(name, value)
    # tqdm.auto warns in kernels without ipywidgets when transformers imports it
    warnings.filterwarnings("ignore", message="IProgress not found")
    # peft calls a transformers API that transformers 5 deprecates; nothing for a reader to act on
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*",
                            category=FutureWarning)
    hub = sys.modules.get("huggingface_hub.constants")
    if hub is not None and _on("HF_HUB_OFFLINE"):
        hub.HF_HUB_OFFLINE = True  # what huggingface_hub.is_offline_mode() returns
    bars = sys.modules.get("huggingface_hub.utils.tqdm")
    if bars is not None and _on("HF_HUB_DISABLE_PROGRESS_BARS"):
        bars.disable_progress_bars()
    logs = sys.modules.get("transformers.utils.logging")
    level = os.environ["TRANSFORMERS_VERBOSITY"]
    if logs is not None and level in getattr(logs, "log_levels", {}):
        logs.set_verbosity(logs.log_levels[level])
