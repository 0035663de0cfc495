"""The autoregressive linear model of the theory chapter, trained by NTP and then by STaR.

**The model (our reconstruction, in the spirit of Malach 2023).** The paper's linear model
is not public. Here every next response token is predicted by a *linear* function of a
*fixed* feature map of the context, with one weight matrix per response position (Malach's
time-inhomogeneous linear auto-regressive predictor). At response position ``k`` (0-based;
``k = 0`` predicts ``b_1``) with previous token ``t`` (``'='`` at ``k = 0``, else the
previously emitted bit) and prompt bits ``x = x_1 .. x_d``::

    phi(context) = e_k  (x)  e_t  (x)  (1, x_1, ..., x_d)        logits = W phi(context)

where ``e_k`` one-hot encodes the position (``d + 1`` of them: ``b_1..b_d`` and ``<eos>``),
``e_t`` the previous token (``0``, ``1`` or ``=``) and ``(x)`` is the outer product. The
logits range over the response alphabet ``0, 1, <eos>``. For a bit ``t`` the block
``e_t (x) (1, x)`` spans ``{1, t, x_i, t * x_i}``: the bits, the previous token and their
pairwise products, a degree-2 feature map of dimension ``3 (d+1)^2``, polynomial in ``d``.

Why this map (the two properties the theory needs):

* **Each chain step is linear.** ``b_k = b_(k-1) xor x_k = t + x_k - 2 t x_k`` is an affine
  function of the features at position ``k``, so ``logit(1) - logit(0) = M (2 b_k - 1)`` is
  linear in ``phi`` and the chain is learned to any accuracy as ``M`` grows. The weights
  must *find* which bit a position reads (all ``d`` bits are offered at every position):
  learning the chain is a real, polynomial-size learning problem.
* **The one-step answer is not.** Every coordinate of ``phi`` depends on at most one prompt
  bit (given the previous token), and the parity of ``m >= 2`` uniform bits is uncorrelated
  with every function of fewer than ``m`` of them. So the direct answer ``y`` at position 0
  (``m = d``), and the stop-or-continue decision after ``b_1 = x_1`` (which depends on
  ``y xor x_1``, ``m = d - 1``), look like fair coins to the model (``d >= 3``). A linear model
  that outputs ``y`` in one step needs the degree-``d`` monomial; a fixed feature map that
  contains it without knowing the task contains all ``2^d`` of them (exponential size), and
  then needs ``~2^d`` samples: :class:`PromptTable` is that learner.

So after NTP this model is exactly the "learned everything except x -> y" model of
:mod:`companion.theory`, and its predictions (the 1/3 greedy threshold, calibration in
length, the STaR recursion ``p -> 2p/(1+p)``) can be checked against it numerically.

**Training.** NTP minimises the mean (per sequence) cross-entropy on response tokens plus
``l2/2 |W|^2`` by full-batch L-BFGS (the problem is convex; the small ridge keeps the
optimum finite, because chain steps are deterministic and would push weights to infinity).
STaR samples at temperature 1, keeps the correct responses and refits on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .task import EOS, ONE, PAD, SEP, ZERO, ParityMixture

OUT_TOKENS = (ZERO, ONE, EOS)  # the response alphabet: logit v predicts token OUT_TOKENS[v]
N_OUT = len(OUT_TOKENS)
N_PREV = 3  # previous token: 0, 1 or '=' (token ids ZERO=0, ONE=1, SEP=2 index the block)
_CLASS_OF_TOKEN = {ZERO: 0, ONE: 1, EOS: 2}


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
        bits = prompts[:, : self.d]
        out_tokens = torch.tensor(OUT_TOKENS)
        prev = torch.full((b,), SEP, dtype=torch.long)
        done = torch.zeros(b, dtype=torch.bool)
        out = []
        for k in range(max_new_tokens):
            if k >= self.n_pos:
                nxt = torch.full((b,), eos_id, dtype=torch.long)
            else:
                logits = self.logits(bits, prev, torch.full((b,), k, dtype=torch.long))
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


# ---------------------------------------------------------------------------------------------
# training data: every response token as (sequence, position k, previous token t, target)
@dataclass
class Tokens:
    """Response tokens to fit, in dense [sequence, position] blocks.

    Short responses touch only positions 0 and 1, long ones all ``d + 1``: the two kinds
    are kept in separate blocks so the loss is a few dense matrix products either way.
    """

    blocks: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]  # (x [n, d+1], prev [n, K], cls [n, K])
    n_seq: int  # the loss is a mean over sequences


def response_tokens(tokens: torch.Tensor, loss_mask: torch.Tensor, d: int) -> Tokens:
    """The NTP targets of sequences ``x_1..x_d = response`` (the ``task.encode`` layout)."""
    p = d + 1
    resp, mask = tokens[:, p:p + d + 1], loss_mask[:, p:p + d + 1]
    prev = torch.cat([torch.full((tokens.shape[0], 1), SEP), resp[:, :-1]], dim=1).clamp(max=SEP)
    cls = torch.full_like(resp, -1)  # -1: no loss here
    for tok, c in _CLASS_OF_TOKEN.items():
        cls[(resp == tok) & mask] = c
    x = LinearAR.bit_features(tokens[:, :d])
    n_pos = (cls >= 0).long().cumsum(1).argmax(1) + 1  # last position with a loss, + 1
    blocks = []
    for rows in ((n_pos <= 2).nonzero(as_tuple=True)[0], (n_pos > 2).nonzero(as_tuple=True)[0]):
        if len(rows):
            k = int(n_pos[rows].max())
            blocks.append((x[rows], prev[rows, :k], cls[rows, :k]))
    return Tokens(blocks=blocks, n_seq=tokens.shape[0])


def ntp_loss(model: LinearAR, data: Tokens) -> torch.Tensor:
    """Sum of the response-token cross-entropies (nats)."""
    w = model.weight
    total = w.new_zeros(())
    for x, prev, cls in data.blocks:
        n, k = cls.shape
        z = (x @ w[:k].reshape(k * N_PREV * N_OUT, -1).T).view(n, k, N_PREV, N_OUT)
        logits = z.gather(2, prev.view(n, k, 1, 1).expand(n, k, 1, N_OUT)).squeeze(2)  # [n, k, 3]
        ce = nn.functional.cross_entropy(logits.reshape(n * k, N_OUT), cls.reshape(-1),
                                         ignore_index=-1, reduction="sum")
        total = total + ce
    return total


def fit(model: LinearAR, data: Tokens, l2: float, max_iter: int) -> float:
    """Minimise ``ntp_loss + l2/2 |W|^2`` by full-batch L-BFGS (warm-started); returns the loss."""
    opt = torch.optim.LBFGS([model.weight], lr=1.0, max_iter=max_iter, history_size=20,
                            tolerance_grad=1e-6, tolerance_change=1e-9, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = ntp_loss(model, data) + 0.5 * l2 * model.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float(ntp_loss(model, data))


def train_ntp(task: ParityMixture, n: int, l2: float, max_iter: int,
              generator: torch.Generator) -> LinearAR:
    """Fit a fresh model to ``n`` fresh sequences of D(p_cot)."""
    batch = task.sample(n, generator)
    model = LinearAR(task.d)
    fit(model, response_tokens(batch.tokens, batch.loss_mask, task.d), l2, max_iter)
    return model


def star_round(model: LinearAR, task: ParityMixture, n: int, l2: float, max_iter: int,
               generator: torch.Generator, temperature: float = 1.0) -> dict:
    """One STaR round: sample ``n`` fresh prompts at ``temperature``, keep the correct responses,
    refit the model on them (in place). Returns what the round saw."""
    bits = task.sample_bits(n, generator)
    prompts = task.prompts(bits)
    resp = model.generate(prompts, task.max_response, EOS, PAD, temperature, generator)
    keep = task.is_correct(bits, resp)
    parsed = task.parse(resp)
    tokens = torch.cat([prompts, resp], dim=1)[keep]
    pos = torch.arange(resp.shape[1]).unsqueeze(0)
    resp_mask = pos <= parsed.length[keep].unsqueeze(1)  # response tokens up to and including <eos>
    loss_mask = torch.cat([torch.zeros(len(tokens), prompts.shape[1], dtype=torch.bool), resp_mask], 1)
    fit(model, response_tokens(tokens, loss_mask, task.d), l2, max_iter)
    return {"sampled_long_frac": float(parsed.is_long.float().mean()),
            "kept_frac": float(keep.float().mean()),
            "kept_long_frac": float(parsed.is_long[keep].float().mean()) if bool(keep.any()) else 0.0}
