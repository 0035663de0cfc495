"""companion: the computations behind the runnable companion book to
"How Reinforcement Learning After Next-Token Prediction Facilitates Learning"
(Tsilivis, Malach, Ullrich, Kempe; ICLR 2026)."""

import warnings

# tqdm.auto, which Lightning imports, warns in a kernel without ipywidgets: noise in the output
# of every executed chapter (the book turns progress bars off anyway)
warnings.filterwarnings("ignore", message="IProgress not found")

__version__ = "0.1.0"
