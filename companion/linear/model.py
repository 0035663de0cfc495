"""The linear model itself: :class:`LinearAR`, its feature map and the hand-written NTP optimum.

The maths (the feature map, why each chain step is linear and the one-step answer is not) is
in the package docstring, :mod:`companion.linear`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..task import EOS, ONE, PAD, SEP, ZERO

OUT_TOKENS = (ZERO, ONE, EOS)  # the response alphabet: logit v predicts token OUT_TOKENS[v]
N_OUT = len(OUT_TOKENS)
N_PREV = 3  # previous token: 0, 1 or '=' (token ids ZERO=0, ONE=1, SEP=2 index the block)
CLASS_OF_TOKEN = {ZERO: 0, ONE: 1, EOS: 2}


class LinearAR(nn.Module):
    """``logits(context) = W[k, t] @ (1, x)``: one affine map of the bits per (position, previous token).

    ``weight`` has shape ``[d + 1, 3, 3, d + 1]`` = (position k, previous token t, output
    token v, feature j) with feature 0 the constant and feature j the bit ``x_j``.
    Equivalently ``logits = W_flat @ features(...)`` with the explicit one-hot map
    :meth:`features`.
    """

    def __init__(self, d: int):
        super().__init__()
        self.d = d
        self.n_pos = d + 1  # response positions: b_1..b_d and the final <eos>
        self.weight = nn.Parameter(torch.zeros(self.n_pos, N_PREV, N_OUT, d + 1))

    # -- the feature map ---------------------------------------------------------------
    @staticmethod
    def bit_features(bits: torch.Tensor) -> torch.Tensor:
        """``(1, x_1, ..., x_d)`` per row: [B, d+1] float."""
        return torch.cat([torch.ones(bits.shape[0], 1), bits.float()], dim=1)

    def features(self, bits: torch.Tensor, prev: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """The explicit feature vector ``e_k (x) e_t (x) (1, x)``: [B, (d+1) * 3 * (d+1)].

        Only for exposition and tests; computation uses the block form in :meth:`logits`.
        """
        b = bits.shape[0]
        phi = torch.zeros(b, self.n_pos, N_PREV, self.d + 1)
        phi[torch.arange(b), pos, prev] = self.bit_features(bits)
        return phi.reshape(b, -1)

    def flat_weight(self) -> torch.Tensor:
        """``W`` as a matrix [3 outputs, (d+1) * 3 * (d+1) features] matching :meth:`features`."""
        return self.weight.permute(2, 0, 1, 3).reshape(N_OUT, -1)

    def logits(self, bits: torch.Tensor, prev: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """Logits over ``OUT_TOKENS`` [B, 3] for contexts (bits, previous token id, position)."""
        w = self.weight[pos.clamp(max=self.n_pos - 1), prev]  # [B, 3, d+1]
        return torch.einsum("bvj,bj->bv", w, self.bit_features(bits).to(w.dtype))

    # -- decoding (same contract as companion.model.GPT.generate) -------------------------
    @torch.no_grad()
    def generate(self, prompts: torch.Tensor, max_new_tokens: int, eos_id: int = EOS,
                 pad_id: int = PAD, temperature: float = 0.0,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Continue prompts ``x_1..x_d =`` [B, d+1]; returns responses [B, <= max_new_tokens].

        Temperature 0 is greedy; otherwise tokens are sampled from softmax(logits / T) with
        ``generator``. A row stops at its first ``eos_id`` and is padded with ``pad_id``.
        Past the last trained position the model can only say ``<eos>``.
        """
        b = prompts.shape[0]
        rows = torch.arange(b)
        # every logit the decoding can need, in one product: [B, position, previous token, 3]
        z = (self.bit_features(prompts[:, : self.d]) @ self.weight.reshape(-1, self.d + 1).T)
        z = z.view(b, self.n_pos, N_PREV, N_OUT)
        out_tokens = torch.tensor(OUT_TOKENS)
        prev = torch.full((b,), SEP, dtype=torch.long)
        done = torch.zeros(b, dtype=torch.bool)
        out = []
        for k in range(max_new_tokens):
            if k >= self.n_pos:
                nxt = torch.full((b,), eos_id, dtype=torch.long)
            else:
                logits = z[rows, k, prev]
                if temperature == 0.0:
                    cls = logits.argmax(dim=-1)
                else:
                    probs = torch.softmax(logits.double() / temperature, dim=-1)
                    cls = torch.multinomial(probs, 1, generator=generator).squeeze(1)
                nxt = out_tokens[cls]
                nxt = torch.where(nxt == EOS, torch.full_like(nxt, eos_id), nxt)
            nxt = torch.where(done, torch.full_like(nxt, pad_id), nxt)
            out.append(nxt)
            done = done | (nxt == eos_id)
            if bool(done.all()):
                break
            prev = torch.where(done, torch.full_like(prev, SEP), nxt.clamp(max=SEP))
        return torch.stack(out, dim=1)

    @torch.no_grad()
    def next_token_probs(self, bits: torch.Tensor, prefix: list[int]) -> torch.Tensor:
        """P(next token | x, response prefix) over ``OUT_TOKENS`` [B, 3] (for the chapter's checks)."""
        b = bits.shape[0]
        prev = torch.full((b,), SEP if not prefix else prefix[-1], dtype=torch.long)
        pos = torch.full((b,), len(prefix), dtype=torch.long)
        return torch.softmax(self.logits(bits, prev, pos).double(), dim=-1)


def ideal_model(d: int, p_cot: float, margin: float = 30.0) -> LinearAR:
    """The population optimum of NTP on D(p_cot), written down by hand (``margin`` stands for
    the infinite weights of the deterministic parts): the first token is ``x_1`` with
    probability ``(1+p)/2``; after ``b_1 = x_1`` the chain continues with probability
    ``2p/(1+p)`` (never after a first token that is not ``x_1``); every chain step is
    ``b_k = b_(k-1) xor x_k``; ``<eos>`` follows ``b_d``. Shows that the feature map
    represents all of this, and is the reference the trained model is compared with.
    """
    if not 0 < p_cot < 1:
        raise ValueError(f"invalid p_cot={p_cot!r}: must be in (0, 1).")
    m = LinearAR(d)
    w = torch.zeros_like(m.weight)  # [position, previous token, output (0, 1, eos), (1, x_1..x_d)]
    c = math.log((1 + p_cot) / (1 - p_cot))
    w[0, SEP, 1, 1] = c  # logit(1) = c * x_1
    w[0, SEP, 0, 0], w[0, SEP, 0, 1] = c, -c  # logit(0) = c * (1 - x_1)
    w[0, SEP, 2, 0] = -margin  # never <eos> first
    keep = math.log(2 * p_cot / (1 - p_cot))  # logit(continue) - logit(<eos>) = log(2p/(1-p))
    for t in (ZERO, ONE):
        # "x_1 != t" (the first token was not x_1: stop) is x_1 for t = 0 and 1 - x_1 for t = 1
        off = torch.zeros(d + 1)
        off[1] = 1.0 if t == ZERO else -1.0
        off[0] = 0.0 if t == ZERO else 1.0
        for k in range(1, d):  # position k predicts b_(k+1) = t xor x_(k+1)
            is_x = torch.zeros(d + 1)
            is_x[k + 1] = 1.0  # x_(k+1)
            not_x = -is_x
            not_x[0] = 1.0  # 1 - x_(k+1)
            want1, want0 = (is_x, not_x) if t == ZERO else (not_x, is_x)  # [next bit is 1], [is 0]
            base = torch.zeros(d + 1)
            if k == 1:
                base[0] = keep
                base = base - margin * off
            w[k, t, 1] = base - margin * want0
            w[k, t, 0] = base - margin * want1
            w[k, t, 2, 0] = 0.0 if k == 1 else -margin
        w[d, t, 0, 0] = w[d, t, 1, 0] = -margin  # after b_d: <eos>
    with torch.no_grad():
        m.weight.copy_(w)
    return m


def feature_names(d: int) -> list[str]:
    """Names of the coordinates of :meth:`LinearAR.features`, e.g. ``k=1 | t=1 | x_3``."""
    return [f"k={k} | t={t} | {j}" for k in range(d + 1) for t in ("0", "1", "=")
            for j in ["1"] + [f"x_{i}" for i in range(1, d + 1)]]
