"""Process-level settings: torch threads and a quiet Lightning.

Small models on a 2-core CPU run fastest with one torch thread, and two spinning
OpenMP threads slow down 5-15x when another process holds a core (book/calibration.md);
``COMPANION_THREADS`` overrides the default of 1.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings

import torch


def set_threads() -> int:
    n = int(os.environ.get("COMPANION_THREADS", "1"))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


@contextlib.contextmanager
def all_cores():
    """Within: processes that call :func:`set_threads` use every core this process may run on
    (unless ``COMPANION_THREADS`` says otherwise): for a model large enough to use them."""
    before = os.environ.get("COMPANION_THREADS")
    if before is None:
        os.environ["COMPANION_THREADS"] = str(len(os.sched_getaffinity(0)))
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("COMPANION_THREADS", None)


def quiet_lightning() -> None:
    """Silence Lightning's hardware banners and tips so executed notebooks stay stable."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning",
                 "lightning.pytorch.utilities.rank_zero", "lightning.pytorch.accelerators.cuda"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for msg in (".*does not have many workers.*", ".*GPU available but not used.*",
                ".*LeafSpec.*", ".*is deprecated.*", ".*TPU available.*", ".*treespec.*"):
        warnings.filterwarnings("ignore", message=msg)


def accelerator() -> str:
    return "gpu" if torch.cuda.is_available() else "cpu"
