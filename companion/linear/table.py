"""NTP alone with a feature map that *can* answer in one step: :class:`PromptTable`, the linear
model over the ``2^d`` prompt indicators (the chapter's exponential-sample baseline)."""

from __future__ import annotations

import torch

from ..task import EOS, ONE, PAD, ZERO, ParityMixture

class PromptTable:
    """The linear model over ``one-hot(x)`` (2^d features), trained by NTP: a lookup table.

    The span of the ``2^d`` monomials of ``x`` (which contains the parity) is the span of the
    prompt indicators, so this is the smallest fixed feature map that lets a linear model
    output ``y`` in one step without knowing the task. Its NTP optimum is the empirical
    conditional distribution: greedy decoding repeats the majority demonstration of a seen
    prompt (short ``y`` or the chain, both correct) and falls back to the majority short
    answer for an unseen one (a coin with respect to ``y``). So it needs ~``2^d`` samples.
    """

    def __init__(self, d: int):
        self.d = d
        self.keys = torch.zeros(0, dtype=torch.long)  # sorted prompt codes seen in training
        self.long_major = torch.zeros(0, dtype=torch.bool)  # the chain was seen more often than y
        self.fallback = ZERO

    def _code(self, bits: torch.Tensor) -> torch.Tensor:
        return (bits.long() << torch.arange(self.d)).sum(dim=1)

    def fit(self, bits: torch.Tensor, is_long: torch.Tensor) -> "PromptTable":
        codes = self._code(bits)
        self.keys, inv = torch.unique(codes, return_inverse=True)
        n_long = torch.zeros(len(self.keys)).index_add_(0, inv, is_long.float())
        n_all = torch.zeros(len(self.keys)).index_add_(0, inv, torch.ones(len(codes)))
        self.long_major = n_long > n_all - n_long
        y = ParityMixture.parity(bits)[~is_long]
        self.fallback = ONE if len(y) and float(y.float().mean()) > 0.5 else ZERO
        return self

    @torch.no_grad()
    def generate(self, prompts: torch.Tensor, max_new_tokens: int, eos_id: int = EOS,
                 pad_id: int = PAD, temperature: float = 0.0,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Greedy responses (the table is only used greedily): chain, ``y`` or the fallback."""
        bits = prompts[:, : self.d]
        codes = self._code(bits)
        idx = torch.searchsorted(self.keys, codes).clamp(max=max(len(self.keys) - 1, 0))
        seen = (self.keys[idx] == codes) if len(self.keys) else torch.zeros_like(codes, dtype=torch.bool)
        chain = seen & self.long_major[idx] if len(self.keys) else seen
        out = torch.full((len(bits), max(max_new_tokens, self.d + 1)), pad_id, dtype=torch.long)
        # every demonstration of a seen prompt (y, or a chain ending in y) carries its parity, so
        # the table's stored answer for it is that parity
        out[:, 0] = torch.where(seen, ParityMixture.parity(bits), torch.full_like(codes, self.fallback))
        out[:, 1] = eos_id
        rows = chain.nonzero(as_tuple=True)[0]
        out[rows, : self.d] = bits[rows].long().cumsum(dim=1) % 2
        out[rows, self.d] = eos_id
        return out[:, :max_new_tokens]
