"""The Hugging Face libraries' environment: offline, quiet, no progress bars.

:func:`hf_environment` is called at the top of every function of this package that imports
``transformers``, ``peft`` or ``tokenizers``, before that import (the hub reads its variables
when it is first imported). Importing ``companion.llm`` changes nothing.
"""

from __future__ import annotations

import os
import warnings

HF_VARIABLES = {
    # a missing model must fail at once, not after ~25 s of retries against the hub
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    # weight-loading progress bars would make executed chapters differ from run to run (it/s)
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
}


def hf_environment() -> None:
    """Set the variables above where the user has not, and silence two warnings that are noise
    in the book; idempotent."""
    for name, value in HF_VARIABLES.items():
        os.environ.setdefault(name, value)
    # tqdm.auto warns in kernels without ipywidgets when transformers imports it
    warnings.filterwarnings("ignore", message="IProgress not found")
    # peft calls a transformers API that transformers 5 deprecates; nothing for a reader to act on
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*",
                            category=FutureWarning)
