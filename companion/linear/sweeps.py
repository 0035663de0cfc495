"""The chapter's three experiments, each a tidy DataFrame cached by the complete
:class:`~companion.config.LinearConfig`: :func:`threshold_sweep` (Theorem 1),
:func:`star_experiment` (Theorem 2) and :func:`samples_vs_d` (sample complexity), with the
runs they are made of (:func:`star_run`, :func:`min_samples`) and their summaries
(:func:`star_summary`, :func:`fit_slopes`)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch

from .. import cache, theory
from ..config import LinearConfig, TaskConfig
from ..task import ParityMixture
from .measurements import decision_probs, measure, measure_greedy
from .table import PromptTable
from .train import fit_ntp, star_round

def star_run(task: ParityMixture, n: int, rounds: int, l2: float, max_iter: int, seed: int,
             n_eval: int, target: float | None = None) -> list[dict]:
    """NTP on ``n`` sequences, then up to ``rounds`` STaR rounds of ``n`` prompts each.

    One row per model (round 0 = after NTP) with its greedy/sampled metrics and, for r >= 1,
    what round r kept. Stops early once greedy accuracy reaches ``target`` (if given).
    """
    gen = torch.Generator().manual_seed(seed)
    model = fit_ntp(task, n, l2, max_iter, gen)
    rows: list[dict] = []
    info: dict = {}
    for r in range(rounds + 1):
        rows.append({"round": r, "samples": n * (r + 1), **info,
                     **measure(model, task, n_eval, seed=10_000 * (seed + 1) + r)})
        if r == rounds or (target is not None and rows[-1]["greedy_accuracy"] >= target):
            break
        info = {f"round_{k}": v for k, v in star_round(model, task, n, l2, max_iter, gen).items()}
    return rows


# the chapter's three experiments: tidy DataFrames, cached by the complete LinearConfig
def _cached(kind: str, cfg: LinearConfig, compute: Callable[[LinearConfig], pd.DataFrame]) -> pd.DataFrame:
    made: list[pd.DataFrame] = []  # computed here: returned as computed, not re-read

    def make(folder) -> None:
        t0 = time.perf_counter()
        made.append(compute(cfg))
        made[0].to_csv(folder / "results.csv", index=False)
        cache.write_timing(folder, total_s=time.perf_counter() - t0)

    hit = cache.computed(kind, cfg, make)
    return made[0] if made else pd.read_csv(hit / "results.csv")


def _eval_seed(seed: int, salt: int) -> int:
    return 1_000_003 * (seed + 1) + salt  # evaluation prompts never share a stream with training


def _threshold_sweep(cfg: LinearConfig) -> pd.DataFrame:
    rows = []
    for i, p in enumerate(cfg.threshold_p_cots):
        task = ParityMixture(TaskConfig(d=cfg.d, p_cot=p))
        for s in cfg.seeds:
            model = fit_ntp(task, cfg.threshold_n, cfg.l2, cfg.max_iter, torch.Generator().manual_seed(s))
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


STAR_LEARNER = "NTP + STaR, degree-2 linear model"  # at the fixed sample_p_cot
TABLE_LEARNER = "NTP alone, prompt table (2^d features)"


def kappa_learner(kappa: float) -> str:
    """NTP + STaR at p_cot = d^-kappa: the regime of the paper's Theorem 2."""
    return f"NTP + STaR at p_cot = d^-{kappa:g}"


def _samples_vs_d(cfg: LinearConfig) -> pd.DataFrame:
    rows = []
    star = [(STAR_LEARNER, d, cfg.sample_p_cot) for d in cfg.sample_ds]
    star += [(kappa_learner(cfg.kappa), d, d ** -cfg.kappa) for d in cfg.kappa_ds]
    star += [(kappa_learner(cfg.steep_kappa), d, d ** -cfg.steep_kappa) for d in cfg.steep_kappa_ds]
    for learner, d, p_cot in star:
        task = ParityMixture(TaskConfig(d=d, p_cot=p_cot))
        for s in cfg.seeds:
            def attempt(n: int, task=task, s=s) -> int | None:
                run = star_run(task, n, cfg.sample_rounds, cfg.l2, cfg.max_iter, s, cfg.n_eval,
                               cfg.sample_target)
                return run[-1]["samples"] if run[-1]["greedy_accuracy"] >= cfg.sample_target else None

            found = min_samples(attempt, cfg.sample_n0 * d)
            rows.append({"learner": learner, "d": d, "seed": s, "p_cot": p_cot,
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
            rows.append({"learner": TABLE_LEARNER, "d": d, "seed": s, "p_cot": cfg.sample_p_cot,
                         "n_per_phase": found[0] if found else float("nan"),
                         "samples": found[1] if found else float("nan")})
    return pd.DataFrame(rows)


def samples_vs_d(cfg: LinearConfig) -> pd.DataFrame:
    """Samples needed to reach ``sample_target`` greedy accuracy at ``sample_p_cot``, against d:
    NTP + STaR with the degree-2 linear model (total sequences, NTP and every round) and NTP
    alone with the prompt table; NTP + STaR also at p_cot = d^-kappa (``kappa_ds``) and
    d^-steep_kappa (``steep_kappa_ds``). One row per
    (learner, d, seed)."""
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
