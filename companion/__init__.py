"""companion: the computations behind the runnable companion book to
"How Reinforcement Learning After Next-Token Prediction Facilitates Learning"
(Tsilivis, Malach, Ullrich, Kempe; ICLR 2026)."""

__version__ = "0.1.0"
