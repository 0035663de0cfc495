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

**Training.** NTP minimises the summed cross-entropy on response tokens plus
``l2/2 |W|^2`` (MAP with a Gaussian prior) by full-batch L-BFGS. The problem is convex, so
a fit has no seed; the ridge keeps the optimum finite, because chain steps are deterministic
and would push weights to infinity. STaR samples at temperature 1, keeps the correct
responses and refits on them (warm-started: the optimum does not depend on the start).

**Experiments** (cached by the complete :class:`~companion.config.LinearConfig`):
:func:`threshold_sweep` (Theorem 1), :func:`star_experiment` (Theorem 2) and
:func:`samples_vs_d` (sample complexity), each a tidy DataFrame.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import cache, theory
from .config import LinearConfig, TaskConfig
from .evaluate import decode_metrics
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


# ---------------------------------------------------------------------------------------------
# NTP: the loss decomposes over positions; positions 0-1 (first token, stop or continue) and
# 2..d (chain steps) are fitted separately, so the cheap and decisive head converges tightly
# however slowly the (separable, ill-conditioned) chain steps do.
HEAD = 2  # positions 0 and 1 form the head


@dataclass
class Block:
    """Response tokens at positions ``lo .. lo+m-1`` of ``n`` sequences, ready for the loss."""

    lo: int
    x: torch.Tensor  # [n, d+1] float: (1, bits)
    cls: torch.Tensor  # [n, m] long: target class (index into OUT_TOKENS), -1 where no loss
    is_one: torch.Tensor  # [n, m] float: the previous token is 1 (else 0, or '=' at position 0)
    target: torch.Tensor  # [n, m, 3] float: one-hot target, zero where no loss


@dataclass
class Tokens:
    """Response tokens to fit: the head block (positions 0-1) and the chain block (2..d)."""

    blocks: list[Block]
    n_seq: int  # sequences the tokens came from


def response_tokens(tokens: torch.Tensor, loss_mask: torch.Tensor, d: int) -> Tokens:
    """The NTP targets of sequences ``x_1..x_d = response`` (the ``task.encode`` layout)."""
    p = d + 1
    resp, mask = tokens[:, p:p + d + 1], loss_mask[:, p:p + d + 1]
    prev = torch.cat([torch.full((tokens.shape[0], 1), SEP), resp[:, :-1]], dim=1)
    cls = torch.full_like(resp, -1)  # -1: no loss here
    for tok, c in _CLASS_OF_TOKEN.items():
        cls[(resp == tok) & mask] = c
    x = LinearAR.bit_features(tokens[:, :d])
    has = cls >= 0
    blocks = []
    for lo, hi in ((0, HEAD), (HEAD, resp.shape[1])):
        rows = has[:, lo:hi].any(dim=1).nonzero(as_tuple=True)[0]
        if len(rows) and hi > lo:
            hi = lo + int(has[rows, lo:hi].long().cumsum(1).argmax(1).max()) + 1  # last used position
            c = cls[rows, lo:hi]
            target = nn.functional.one_hot(c.clamp(min=0), N_OUT).float() * (c >= 0).unsqueeze(-1)
            blocks.append(Block(lo=lo, x=x[rows], cls=c, is_one=(prev[rows, lo:hi] == ONE).float(),
                                target=target))
    return Tokens(blocks=blocks, n_seq=tokens.shape[0])


def _block_logits(w: torch.Tensor, b: Block) -> torch.Tensor:
    """Logits [n, m, 3] from the block's weights ``w = weight[lo:lo+m]``.

    Position 0 always follows ``'='`` and later positions always follow a bit, so only those
    weight blocks are computed (the others never see data and stay at zero).
    """
    n, m = b.cls.shape
    parts, start = [], 0
    if b.lo == 0:
        parts.append((b.x @ w[0, SEP].T).unsqueeze(1))
        start = 1
    if m > start:
        k = m - start
        z = (b.x @ w[start:m, :2].reshape(k * 2 * N_OUT, -1).T).view(n, k, 2, N_OUT)
        parts.append(z[:, :, 0] + b.is_one[:, start:].unsqueeze(-1) * (z[:, :, 1] - z[:, :, 0]))
    return torch.cat(parts, dim=1)


def _block_loss_grad(w: torch.Tensor, b: Block) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed cross-entropy of a block and its gradient in ``w`` (by hand: ~3x faster than autograd)."""
    n, m = b.cls.shape
    logits = _block_logits(w, b)
    shifted = logits - logits.max(dim=-1, keepdim=True).values
    e = shifted.exp()
    z = e.sum(dim=-1, keepdim=True)
    loss = -((shifted - z.log()) * b.target).sum()
    g = (e / z) * (b.cls >= 0).unsqueeze(-1) - b.target  # d loss / d logits, [n, m, 3]
    grad = torch.zeros_like(w)
    start = 0
    if b.lo == 0:
        grad[0, SEP] = g[:, 0].T @ b.x
        start = 1
    if m > start:
        k = m - start
        g1 = g[:, start:] * b.is_one[:, start:].unsqueeze(-1)
        dz = torch.stack([g[:, start:] - g1, g1], dim=2)  # [n, k, 2 (previous token), 3]
        grad[start:m, :2] = (dz.reshape(n, k * 2 * N_OUT).T @ b.x).view(k, 2, N_OUT, -1)
    return loss, grad


def ntp_loss(model: LinearAR, data: Tokens) -> torch.Tensor:
    """Sum of the response-token cross-entropies (nats); differentiable (autograd)."""
    w = model.weight
    total = w.new_zeros(())
    for b in data.blocks:
        logits = _block_logits(w[b.lo:b.lo + b.cls.shape[1]], b)
        total = total + nn.functional.cross_entropy(logits.reshape(-1, N_OUT), b.cls.reshape(-1),
                                                    ignore_index=-1, reduction="sum")
    return total


def fit(model: LinearAR, data: Tokens, l2: float, max_iter: int) -> None:
    """Minimise ``ntp_loss + l2/2 |W|^2`` by full-batch L-BFGS, warm-started from the current
    weights; each block of positions is a separate convex problem."""
    for b in data.blocks:
        hi = b.lo + b.cls.shape[1]
        w = model.weight.detach()[b.lo:hi].clone().requires_grad_(True)
        opt = torch.optim.LBFGS([w], lr=1.0, max_iter=max_iter, history_size=20, tolerance_grad=1e-5,
                                tolerance_change=1e-9, line_search_fn="strong_wolfe")

        def closure(w=w, b=b) -> torch.Tensor:
            with torch.no_grad():
                loss, grad = _block_loss_grad(w, b)
                w.grad = grad + l2 * w
                return loss + 0.5 * l2 * w.pow(2).sum()

        opt.step(closure)
        with torch.no_grad():
            model.weight[b.lo:hi] = w.detach()


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


# ---------------------------------------------------------------------------------------------
# NTP alone with a feature map that *can* answer in one step: one indicator per prompt
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


# ---------------------------------------------------------------------------------------------
# measurements (one row per model and decoding, the evaluate.decode_metrics conventions)
def measure(model, task: ParityMixture, n: int, seed: int) -> dict:
    """Greedy and temperature-1 metrics on ``n`` fresh prompts, prefixed ``greedy_`` / ``sampled_``."""
    gen = torch.Generator().manual_seed(seed)
    bits = task.sample_bits(n, gen)
    prompts = task.prompts(bits)
    row = {}
    for name, temp in (("greedy", 0.0), ("sampled", 1.0)):
        resp = model.generate(prompts, task.max_response, EOS, PAD, temperature=temp, generator=gen)
        row.update({f"{name}_{k}": v for k, v in decode_metrics(task, bits, resp).items()})
    return row


def star_run(task: ParityMixture, n: int, rounds: int, l2: float, max_iter: int, seed: int,
             n_eval: int, target: float | None = None) -> list[dict]:
    """NTP on ``n`` sequences, then up to ``rounds`` STaR rounds of ``n`` prompts each.

    One row per model (round 0 = after NTP) with its greedy/sampled metrics and, for r >= 1,
    what round r kept. Stops early once greedy accuracy reaches ``target`` (if given).
    """
    gen = torch.Generator().manual_seed(seed)
    model = train_ntp(task, n, l2, max_iter, gen)
    rows: list[dict] = []
    info: dict = {}
    for r in range(rounds + 1):
        rows.append({"round": r, "samples": n * (r + 1), **info,
                     **measure(model, task, n_eval, seed=10_000 * (seed + 1) + r)})
        if r == rounds or (target is not None and rows[-1]["greedy_accuracy"] >= target):
            break
        info = {f"round_{k}": v for k, v in star_round(model, task, n, l2, max_iter, gen).items()}
    return rows


@torch.no_grad()
def decision_probs(model: LinearAR, bits: torch.Tensor) -> dict:
    """The two probabilities the theory predicts, averaged over prompts ``bits``:
    P(first token = x_1) (theory: p + (1-p)/2) and P(continue | b_1 = x_1) (theory: 2p/(1+p))."""
    x1 = bits[:, 0].long()
    rows = torch.arange(len(bits))
    first = torch.softmax(model.logits(bits, torch.full_like(x1, SEP), torch.zeros_like(x1)).double(), -1)
    after = torch.softmax(model.logits(bits, x1, torch.ones_like(x1)).double(), -1)
    return {"p_first_x1": float(first[rows, x1].mean()),
            "p_continue": float(1 - after[:, _CLASS_OF_TOKEN[EOS]].mean())}


# ---------------------------------------------------------------------------------------------
# the chapter's three experiments: tidy DataFrames, cached by the complete LinearConfig
def _cached(kind: str, cfg: LinearConfig, compute: Callable[[LinearConfig], pd.DataFrame]) -> pd.DataFrame:
    hit = cache.lookup(kind, cfg)
    if hit is not None:
        return pd.read_csv(hit / "results.csv")
    df = compute(cfg)
    with cache.Writer(kind, cfg) as tmp:
        df.to_csv(tmp / "results.csv", index=False)
    return df


def _eval_seed(seed: int, salt: int) -> int:
    return 1_000_003 * (seed + 1) + salt  # evaluation prompts never share a stream with training


def _threshold_sweep(cfg: LinearConfig) -> pd.DataFrame:
    rows = []
    for i, p in enumerate(cfg.threshold_p_cots):
        task = ParityMixture(TaskConfig(d=cfg.d, p_cot=p))
        for s in cfg.seeds:
            model = train_ntp(task, cfg.threshold_n, cfg.l2, cfg.max_iter, torch.Generator().manual_seed(s))
            probe = task.sample_bits(cfg.n_eval, torch.Generator().manual_seed(_eval_seed(s, -1 - i)))
            rows.append({"p_cot": p, "seed": s, **decision_probs(model, probe),
                         **measure(model, task, cfg.n_eval, _eval_seed(s, i))})
    return pd.DataFrame(rows)


def threshold_sweep(cfg: LinearConfig) -> pd.DataFrame:
    """NTP alone across ``threshold_p_cots``: one row per (p_cot, seed) with greedy and sampled
    metrics and the model's decision probabilities (:func:`decision_probs`)."""
    return _cached("linear-threshold", cfg, _threshold_sweep)


def star_n(cfg: LinearConfig, p_cot: float) -> int:
    """Sequences per phase of a STaR run: enough for ``star_long`` long demonstrations, capped."""
    return int(min(cfg.star_n_max, math.ceil(cfg.star_long / p_cot)))


def _star_experiment(cfg: LinearConfig) -> pd.DataFrame:
    rows = []
    for p in cfg.star_p_cots:
        task = ParityMixture(TaskConfig(d=cfg.d, p_cot=p))
        n = star_n(cfg, p)
        for s in cfg.seeds:
            run = star_run(task, n, cfg.star_rounds, cfg.l2, cfg.max_iter, s, cfg.n_eval, cfg.star_target)
            for r, row in enumerate(run):
                prev = run[r - 1]["sampled_long_frac"] if r else float("nan")
                rows.append({"p_cot": p, "seed": s, "n_per_phase": n,
                             "kappa": -math.log(p) / math.log(cfg.d),
                             "predicted_long": theory.star_step(prev) if r else p,  # one step from measured
                             "iterated_long": theory.star_long_fractions(p, r)[-1],  # from p_cot
                             **row})
    return pd.DataFrame(rows)


def star_experiment(cfg: LinearConfig) -> pd.DataFrame:
    """NTP then STaR rounds from each of ``star_p_cots`` until greedy accuracy reaches
    ``star_target``: one row per (p_cot, seed, round) with the one-step prediction
    ``2p/(1+p)`` from the previous round's measured long fraction."""
    return _cached("linear-star", cfg, _star_experiment)


def star_summary(df: pd.DataFrame, cfg: LinearConfig) -> pd.DataFrame:
    """Per (p_cot, seed): rounds until greedy accuracy >= star_target (NaN: never) and the bound."""
    out = []
    for (p, s), g in df.groupby(["p_cot", "seed"], sort=False):
        ok = g[g.greedy_accuracy >= cfg.star_target]
        out.append({"p_cot": p, "seed": s, "kappa": g.kappa.iloc[0], "n_per_phase": g.n_per_phase.iloc[0],
                    "log2_odds": math.log2((1 - p) / p),
                    "rounds_measured": float(ok["round"].min()) if len(ok) else float("nan"),
                    "rounds_predicted": theory.star_rounds_to_threshold(p),
                    "final_greedy_accuracy": float(g.greedy_accuracy.iloc[-1]),
                    "final_sampled_long": float(g.sampled_long_frac.iloc[-1])})
    return pd.DataFrame(out)


def min_samples(attempt: Callable[[int], int | None], n0: int, factor: float = 2 ** 0.5,
                max_doublings: int = 8) -> tuple[int, int] | None:
    """Smallest ``n = n0 * factor^j`` whose ``attempt(n)`` succeeds (returns the samples used),
    assuming success is monotone in n: double or halve from ``n0``, then one bisection step.
    Returns ``(n, samples)`` or None if ``max_doublings`` doublings never succeed."""
    memo: dict[int, int | None] = {}

    def at(j: int) -> int | None:
        if j not in memo:
            memo[j] = attempt(max(1, round(n0 * factor ** j)))
        return memo[j]

    step = round(math.log(2) / math.log(factor))  # grid steps per doubling
    j = 0
    if at(j) is None:
        while at(j) is None:
            if j >= step * max_doublings:
                return None
            j += step
        lo, hi = j - step, j
    else:
        while at(j) is not None and j > -step * max_doublings:
            j -= step
        lo, hi = j, j + step
        if at(lo) is not None:
            hi = lo
    for mid in range(hi - 1, lo, -1):  # from the top: stop at the first failure below hi
        if at(mid) is None:
            break
        hi = mid
    return max(1, round(n0 * factor ** hi)), memo[hi]  # type: ignore[return-value]


def _samples_vs_d(cfg: LinearConfig) -> pd.DataFrame:
    rows = []
    for d in cfg.sample_ds:
        task = ParityMixture(TaskConfig(d=d, p_cot=cfg.sample_p_cot))
        for s in cfg.seeds:
            def attempt(n: int, task=task, s=s) -> int | None:
                run = star_run(task, n, cfg.sample_rounds, cfg.l2, cfg.max_iter, s, cfg.n_eval,
                               cfg.sample_target)
                return run[-1]["samples"] if run[-1]["greedy_accuracy"] >= cfg.sample_target else None

            found = min_samples(attempt, cfg.sample_n0 * d)
            rows.append({"learner": "NTP + STaR, degree-2 linear model", "d": d, "seed": s,
                         "n_per_phase": found[0] if found else float("nan"),
                         "samples": found[1] if found else float("nan")})
    for d in cfg.table_ds:
        task = ParityMixture(TaskConfig(d=d, p_cot=cfg.sample_p_cot))
        for s in cfg.seeds:
            def attempt(n: int, task=task, s=s) -> int | None:
                batch = task.sample(n, torch.Generator().manual_seed(s))
                table = PromptTable(task.d).fit(batch.tokens[:, : task.d], batch.is_long)
                acc = measure_greedy(table, task, cfg.n_eval, _eval_seed(s, task.d))
                return n if acc >= cfg.sample_target else None

            found = min_samples(attempt, 2 ** d, factor=2 ** 0.25)
            rows.append({"learner": "NTP alone, prompt table (2^d features)", "d": d, "seed": s,
                         "n_per_phase": found[0] if found else float("nan"),
                         "samples": found[1] if found else float("nan")})
    return pd.DataFrame(rows)


def measure_greedy(model, task: ParityMixture, n: int, seed: int) -> float:
    """Greedy accuracy on ``n`` fresh prompts."""
    bits = task.sample_bits(n, torch.Generator().manual_seed(seed))
    resp = model.generate(task.prompts(bits), task.max_response, EOS, PAD, temperature=0.0)
    return decode_metrics(task, bits, resp)["accuracy"]


def samples_vs_d(cfg: LinearConfig) -> pd.DataFrame:
    """Samples needed to reach ``sample_target`` greedy accuracy at ``sample_p_cot``, against d:
    NTP + STaR with the degree-2 linear model (total sequences, NTP and every round) and NTP
    alone with the prompt table. One row per (learner, d, seed)."""
    return _cached("linear-samples", cfg, _samples_vs_d)


def fit_slopes(df: pd.DataFrame) -> pd.DataFrame:
    """Least-squares slopes of log(samples) against log(d) (polynomial degree) and against d
    (bits of exponent: log2 samples per extra bit), per learner."""
    out = []
    for learner, g in df.dropna(subset=["samples"]).groupby("learner", sort=False):
        ld, ls = np.log(g.d.to_numpy(float)), np.log(g.samples.to_numpy(float))
        loglog = np.polyfit(ld, ls, 1)
        semilog = np.polyfit(g.d.to_numpy(float), ls / math.log(2), 1)
        out.append({"learner": learner, "loglog_slope": float(loglog[0]), "loglog_intercept": float(loglog[1]),
                    "bits_per_d": float(semilog[0]), "semilog_intercept": float(semilog[1])})
    return pd.DataFrame(out)


def feature_names(d: int) -> list[str]:
    """Names of the coordinates of :meth:`LinearAR.features`, e.g. ``k=1 | t=1 | x_3``."""
    return [f"k={k} | t={t} | {j}" for k in range(d + 1) for t in ("0", "1", "=")
            for j in ["1"] + [f"x_{i}" for i in range(1, d + 1)]]


def greedy_threshold(sweep: pd.DataFrame) -> float:
    """The p_cot where the (seed-averaged) greedy long fraction crosses 1/2, by linear
    interpolation between sweep points; NaN if it never crosses."""
    m = sweep.groupby("p_cot")["greedy_long_frac"].mean().sort_index()
    p, f = m.index.to_numpy(float), m.to_numpy(float)
    for i in range(1, len(p)):
        if f[i - 1] < 0.5 <= f[i]:
            return float(p[i - 1] + (0.5 - f[i - 1]) * (p[i] - p[i - 1]) / (f[i] - f[i - 1]))
    return float("nan")


@torch.no_grad()
def expected_long_frac(model: LinearAR, bits: torch.Tensor) -> float:
    """Exact probability, averaged over prompts ``bits``, that temperature-1 sampling goes past
    the first token (a long answer), from the model's probabilities rather than from samples."""
    n = len(bits)
    first = torch.softmax(model.logits(bits, torch.full((n,), SEP), torch.zeros(n, dtype=torch.long)).double(), -1)
    total = torch.zeros(n, dtype=torch.double)
    for t in (ZERO, ONE):
        after = torch.softmax(model.logits(bits, torch.full((n,), t), torch.ones(n, dtype=torch.long)).double(), -1)
        total += first[:, t] * (1 - after[:, _CLASS_OF_TOKEN[EOS]])
    return float(total.mean())


def all_prompts(d: int) -> torch.Tensor:
    """All 2^d prompts' bits [2^d, d] (for exact population checks at small d)."""
    codes = torch.arange(2 ** d)
    return (codes.unsqueeze(1) >> torch.arange(d)) & 1


def threshold_checks(sweep: pd.DataFrame) -> dict:
    """The numbers the chapter puts beside Theorem 1's closed forms (max deviations over the sweep)."""
    far_below = sweep[sweep.p_cot <= 0.3]
    return {"threshold": greedy_threshold(sweep),
            "cont_err": float((sweep.p_continue - theory.continue_prob(sweep.p_cot)).abs().max()),
            "first_err": float((sweep.p_first_x1 - (1 + sweep.p_cot) / 2).abs().max()),
            "calib_err": float((sweep.sampled_long_frac - sweep.p_cot).abs().max()),
            "below_acc_min": float(far_below.greedy_accuracy.min()) if len(far_below) else float("nan"),
            "below_acc_max": float(far_below.greedy_accuracy.max()) if len(far_below) else float("nan")}


def star_checks(runs: pd.DataFrame, summary: pd.DataFrame, tolerance: float = 0.05,
                common: float = 0.05) -> dict:
    """One-step errors |p_r - 2p_(r-1)/(1+p_(r-1))| over all rounds (and over runs with
    p_cot >= ``common``), the fraction within ``tolerance``, and the runs that never learned."""
    steps = runs[runs["round"] > 0]
    err = (steps.sampled_long_frac - steps.predicted_long).abs()
    err_common = err[steps.p_cot >= common]
    nan = float("nan")
    failed = summary[summary.rounds_measured.isna()].p_cot.drop_duplicates()
    return {"err_max": float(err.max()) if len(err) else nan,
            "err_mean": float(err.mean()) if len(err) else nan,
            "err_common": float(err_common.max()) if len(err_common) else nan,
            "within": float((err <= tolerance).mean()) if len(err) else nan,
            "failed": ", ".join(f"{p:.2g}" for p in failed) or "none"}
