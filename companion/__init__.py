"""companion: the computations behind the runnable companion book to
"How Reinforcement Learning After Next-Token Prediction Facilitates Learning"
(Tsilivis, Malach, Ullrich, Kempe; ICLR 2026).

The entry points a reader starts from are importable from here (``companion.train_ntp``,
``companion.get_profile``, ...); they load lazily, so ``python -m companion list`` does not pay
for importing torch and Lightning.
"""

import importlib
import warnings

# tqdm.auto, which Lightning imports, warns in a kernel without ipywidgets: noise in the output
# of every executed chapter (the book turns progress bars off anyway)
warnings.filterwarnings("ignore", message="IProgress not found")

__version__ = "0.1.0"

# name -> the module that defines it
_EXPORTS = {
    "train_ntp": "companion.train.ntp",
    "train_rl": "companion.train.rl",
    "get_profile": "companion.profiles",
    "PROFILES": "companion.profiles",
    "NTPRunConfig": "companion.config",
    "RLConfig": "companion.config",
    "RLRunConfig": "companion.config",
    "ConfigError": "companion.config",
    "with_": "companion.config",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'companion' has no attribute {name!r}")
