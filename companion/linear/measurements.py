"""Measuring a model on the parity task: decoding metrics on fresh prompts (:func:`measure`),
the decision probabilities the theory predicts, exact population quantities at small ``d``,
and the summaries the chapter compares with Theorems 1 and 2 (:func:`threshold_checks`,
:func:`star_checks`)."""

from __future__ import annotations

import pandas as pd
import torch

from .. import theory
from ..evaluate import decode_metrics
from ..task import EOS, ONE, PAD, SEP, ZERO, ParityMixture
from .model import CLASS_OF_TOKEN, LinearAR

# one row per model and decoding, the evaluate.decode_metrics conventions)
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


@torch.no_grad()
def decision_probs(model: LinearAR, bits: torch.Tensor) -> dict:
    """The two probabilities the theory predicts, averaged over prompts ``bits``:
    P(first token = x_1) (theory: p + (1-p)/2) and P(continue | b_1 = x_1) (theory: 2p/(1+p))."""
    x1 = bits[:, 0].long()
    rows = torch.arange(len(bits))
    first = torch.softmax(model.logits(bits, torch.full_like(x1, SEP), torch.zeros_like(x1)).double(), -1)
    after = torch.softmax(model.logits(bits, x1, torch.ones_like(x1)).double(), -1)
    return {"p_first_x1": float(first[rows, x1].mean()),
            "p_continue": float(1 - after[:, CLASS_OF_TOKEN[EOS]].mean())}


def measure_greedy(model, task: ParityMixture, n: int, seed: int) -> float:
    """Greedy accuracy on ``n`` fresh prompts."""
    bits = task.sample_bits(n, torch.Generator().manual_seed(seed))
    resp = model.generate(task.prompts(bits), task.max_response, EOS, PAD, temperature=0.0)
    return decode_metrics(task, bits, resp)["accuracy"]


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
        total += first[:, t] * (1 - after[:, CLASS_OF_TOKEN[EOS]])
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
