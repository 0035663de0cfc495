"""What the paper-scale runs would cost on this CPU, extrapolated from measured NTP steps.

:func:`step_times` times NTP steps (the bare loop of :mod:`companion.bench.throughput`) at small
``d``; :func:`extrapolate` fits ``seconds per step = overhead + FLOPs / rate`` (:class:`StepModel`)
to them, the caller checks it against a step measured at the largest ``d``, and
:func:`paper_cost` multiplies the paper profile's step counts by it (:func:`paper_runs`: the NTP
runs its claim blocks ask for). :func:`rl_paper_cost` does the same for one RL run from a measured
RL step (:func:`companion.bench.rl_step.rl_step_split`).

Nothing here is asserted on in tests but the arithmetic: times depend on the machine and its load.
"""

from __future__ import annotations

import dataclasses
import statistics

import numpy as np
import pandas as pd

from ..config import ModelConfig, NTPRunConfig, RLConfig, with_
from ..profiles import PROFILES
from .throughput import bare_loop, step_tokens_and_flops

FLOP_BATCHES = 20  # batches whose FLOPs are averaged for a config's FLOPs per step


def paper_model() -> ModelConfig:
    return PROFILES["paper"].headline.model


def at_scale(base: NTPRunConfig, model: ModelConfig, d: int) -> NTPRunConfig:
    """``base`` (its p_cot, batch, optimiser) at ``d`` with ``model``; float32, one device."""
    return NTPRunConfig(task=dataclasses.replace(base.task, d=d),
                        model=dataclasses.replace(model, block_size=2 * d + 2),
                        train=dataclasses.replace(base.train, precision="32-true", devices=1,
                                                  strategy="auto"),
                        eval=base.eval)


def step_times(base: NTPRunConfig, models: dict[str, ModelConfig], ds: tuple[int, ...],
               steps: int = 4) -> pd.DataFrame:
    """Median seconds per NTP step (after one untimed step) and FLOPs per step, for each model
    at each d."""
    rows = []
    for label, model in models.items():
        for d in ds:
            cfg = at_scale(base, model, d)
            secs = bare_loop(cfg, steps, warmup=1)
            rows.append({"model": label, "d": d, "seconds": statistics.median(secs),
                         "flops": step_tokens_and_flops(cfg, FLOP_BATCHES)[1] / FLOP_BATCHES})
    return pd.DataFrame(rows)


@dataclasses.dataclass(frozen=True)
class StepModel:
    """seconds per step = overhead + flops / rate, least squares on measured steps."""

    overhead: float  # seconds per step that do not grow with the FLOPs (Python, small kernels)
    rate: float  # achieved FLOP/s on the FLOP-proportional part

    def __call__(self, flops: float) -> float:
        return self.overhead + flops / self.rate


def fit_step_model(flops, seconds) -> StepModel:
    """Fit :class:`StepModel` to measured (FLOPs, seconds) pairs; needs two distinct FLOP counts."""
    x, y = np.asarray(flops, float), np.asarray(seconds, float)
    if len(np.unique(x)) < 2:
        raise ValueError("fit_step_model needs steps measured at two or more different sizes")
    slope, intercept = np.polyfit(x, y, 1)
    if slope <= 0:
        raise ValueError(f"measured step times do not grow with FLOPs (slope {slope:g}): "
                         "the machine was too noisy to extrapolate; rerun with more steps")
    return StepModel(overhead=max(0.0, float(intercept)), rate=float(1.0 / slope))


def extrapolate(measured: pd.DataFrame, fit_ds: tuple[int, ...]) -> dict[str, StepModel]:
    """One :class:`StepModel` per model, fitted on the rows with ``d`` in ``fit_ds``."""
    out = {}
    for label, g in measured.groupby("model", sort=False):
        g = g[g.d.isin(fit_ds)]
        out[label] = fit_step_model(g.flops, g.seconds)
    return out


def paper_runs() -> list[tuple[str, NTPRunConfig, int]]:
    """(label, config, number of runs) of the NTP training the paper profile asks for.

    Runs with identical configs are trained once (the cache shares them), so the chapter-2
    sweep's run at the headline's p_cot and seed is not counted again.
    """
    prof = PROFILES["paper"]
    sweep = prof.ntp_threshold.sweep
    rows = [("headline NTP run (chapters 2-4 start from it)", prof.headline, 1)]
    for p in sweep.p_cots:
        cfgs = [with_(sweep.base, p_cot=p, seed=s) for s in sweep.seeds]
        n = sum(c != prof.headline for c in cfgs)
        if n:
            rows.append((f"chapter 2 sweep, p_cot={p}", cfgs[0], n))
    for c in prof.ntp_threshold.long_runs(prof.headline):
        if c != prof.headline:
            rows.append((f"chapter 2 long run, p_cot={c.task.p_cot}", c, 1))
    return rows


def paper_cost(step_model: StepModel) -> pd.DataFrame:
    """Predicted seconds per step and CPU hours of the paper profile's NTP runs (float32, one
    device, this machine's thread setting), from ``step_model`` and each run's FLOPs per step."""
    rows = []
    for label, cfg, n in paper_runs():
        flops = step_tokens_and_flops(cfg, FLOP_BATCHES)[1] / FLOP_BATCHES
        sec = step_model(flops)
        rows.append({"runs": label, "count": n, "steps": cfg.train.steps, "flops_per_step": flops,
                     "predicted_s_per_step": sec,
                     "cpu_hours": n * cfg.train.steps * sec / 3600})
    return pd.DataFrame(rows)


def rl_paper_cost(split: dict[str, float], rl: RLConfig | None = None) -> dict[str, float]:
    """Hours of one paper-profile RL run at the measured (full-length) step time."""
    rl = rl or PROFILES["paper"].rl_after_ntp.rl
    step = split["rollout_s"] + split["update_s"]
    return {"steps": rl.steps, "s_per_step": step, "cpu_hours": rl.steps * step / 3600}
