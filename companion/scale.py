"""What a training step costs here, and what the paper-scale runs would cost on this CPU.

Three measurements, all with the real training pieces on the current thread setting:

* :func:`ntp_step_seconds` - one next-token-prediction step (forward, backward, clip, AdamW)
  of a fresh batch, as the bare loop in :mod:`companion.bench` does it (Lightning adds the few
  per cent that benchmark reports);
* :func:`rl_step_split` - one RL step split into its rollout (sampling + rewards, no gradients)
  and its update (log-probs, objective, backward, AdamW), with :func:`companion.rl.rollout`,
  :func:`~companion.rl.rewards` and :func:`~companion.rl.rl_objective`;
* :func:`extrapolate` - fits ``seconds per step = overhead + FLOPs / rate`` to NTP steps
  measured at small ``d`` and predicts larger ``d`` (the model is checked against a
  measurement at the largest ``d`` by the caller), then :func:`paper_cost` multiplies the
  paper profile's step counts by it.

Nothing here is asserted on in tests: times depend on the machine and its load.
"""

from __future__ import annotations

import dataclasses
import statistics
import time

import numpy as np
import pandas as pd
import torch

from .config import ModelConfig, NTPRunConfig, RLConfig
from .pretrain import build_model
from .profiles import PROFILES, with_
from .rl import Rollout, rewards, rl_objective, rollout
from .task import PAD, ParityMixture


def flops_per_step(cfg: NTPRunConfig, steps: int = 20, seed: int = 0) -> float:
    """Mean training FLOPs of one NTP step (right-sized padding; see bench.step_tokens_and_flops)."""
    from .bench import step_tokens_and_flops

    return step_tokens_and_flops(cfg, steps, seed)[1] / steps


def ntp_step_seconds(cfg: NTPRunConfig, steps: int = 4, warmup: int = 1) -> list[float]:
    """Wall seconds of each of ``steps`` NTP training steps (after ``warmup`` untimed ones)."""
    from .bench import bare_loop

    return bare_loop(cfg, warmup + steps)[warmup:]


def _full_length_rollout(model, task: ParityMixture, bits: torch.Tensor, G: int,
                         gen: torch.Generator) -> Rollout:
    """As :func:`companion.rl.rollout`, but every response runs to the full chain length.

    An <eos> id that never occurs makes each row as long as a late-RL chain of thought, the
    costliest step (early in RL most responses are one token long).
    """
    bits = bits.repeat_interleave(G, dim=0)
    prompts = task.prompts(bits)
    with torch.no_grad():
        resp = model.generate(prompts, task.max_response, -1, PAD, temperature=1.0, generator=gen)
    # every sampled token is scored, as in a late-RL batch of full chains (a sampled <eos> token
    # does not end the row here: it only stands for some chain token)
    mask = torch.cat([torch.zeros_like(prompts, dtype=torch.bool),
                      torch.ones_like(resp, dtype=torch.bool)], dim=1)
    return Rollout(bits=bits, responses=resp, tokens=torch.cat([prompts, resp], dim=1), loss_mask=mask)


def rl_step_split(cfg: NTPRunConfig, rl: RLConfig, repeats: int = 3,
                  full_length: bool = False) -> dict[str, float]:
    """Median seconds of the rollout and the update of one RL step, over ``repeats`` steps.

    The policy is the freshly initialised model of ``cfg`` (no trained model is needed to time
    a step): its responses have random lengths (an <eos> about every ``VOCAB_SIZE`` tokens), or
    all have the full chain length with ``full_length``. One untimed step warms up first.
    """
    task = ParityMixture(cfg.task)
    model = build_model(cfg).train()
    opt = torch.optim.AdamW(model.parameters(), lr=rl.lr, betas=(0.9, 0.95))
    prompts_gen = torch.Generator().manual_seed(rl.seed + 1)
    gen = torch.Generator().manual_seed(rl.seed)
    t_roll, t_upd, lengths = [], [], []
    for i in range(repeats + 1):
        bits = task.sample_bits(rl.prompts_per_step, prompts_gen)
        t0 = time.perf_counter()
        if full_length:
            roll = _full_length_rollout(model, task, bits, rl.G, gen)
        else:
            roll = rollout(model, task, bits, rl.G, rl.temperature, gen)
        r = rewards(task, roll.bits, roll.responses, rl.reward, rl.length_penalty)
        t1 = time.perf_counter()
        loss, _ = rl_objective(model, roll, r, rl.algorithm, rl.G, rl.kl_coef)
        opt.zero_grad(set_to_none=True)
        if loss is not None:
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), rl.grad_clip)
            opt.step()
        t2 = time.perf_counter()
        if i:
            t_roll.append(t1 - t0)
            t_upd.append(t2 - t1)
            lengths.append(float(roll.loss_mask.sum(dim=1).float().mean()))
    roll_s, upd_s = statistics.median(t_roll), statistics.median(t_upd)
    return {"rollout_s": roll_s, "update_s": upd_s, "rollout_share": roll_s / (roll_s + upd_s),
            "mean_response_tokens": statistics.mean(lengths)}


# ---------------------------------------------------------------------------------------------
# extrapolation to the paper's d=50


def paper_model() -> ModelConfig:
    return PROFILES["paper"].headline.model


def at_scale(base: NTPRunConfig, model: ModelConfig, d: int) -> NTPRunConfig:
    """``base`` (its p_cot, batch, optimiser) at ``d`` with ``model``; float32, one device."""
    return NTPRunConfig(task=dataclasses.replace(base.task, d=d),
                        model=dataclasses.replace(model, block_size=2 * d + 2),
                        train=dataclasses.replace(base.train, precision="32-true", devices=1,
                                                  strategy="auto"),
                        eval=base.eval)


def measure_ntp(base: NTPRunConfig, models: dict[str, ModelConfig], ds: tuple[int, ...],
                steps: int = 4) -> pd.DataFrame:
    """Median seconds per NTP step and FLOPs per step for each model at each d."""
    rows = []
    for label, model in models.items():
        for d in ds:
            cfg = at_scale(base, model, d)
            secs = ntp_step_seconds(cfg, steps)
            rows.append({"model": label, "d": d, "seconds": statistics.median(secs),
                         "flops": flops_per_step(cfg)})
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
    rows = [("headline NTP run (chapters 2-4 start from it)", prof.headline, 1)]
    for p in prof.sweep.p_cots:
        cfgs = [with_(prof.sweep.base, p_cot=p, seed=s) for s in prof.sweep.seeds]
        n = sum(c != prof.headline for c in cfgs)
        if n:
            rows.append((f"chapter 2 sweep, p_cot={p}", cfgs[0], n))
    for c in prof.long_runs():
        if c != prof.headline:
            rows.append((f"chapter 2 long run, p_cot={c.task.p_cot}", c, 1))
    return rows


def paper_cost(step_model: StepModel) -> pd.DataFrame:
    """Predicted seconds per step and CPU hours of the paper profile's NTP runs (float32, one
    device, this machine's thread setting), from ``step_model`` and each run's FLOPs per step."""
    rows = []
    for label, cfg, n in paper_runs():
        flops = flops_per_step(cfg)
        sec = step_model(flops)
        rows.append({"runs": label, "count": n, "steps": cfg.train.steps, "flops_per_step": flops,
                     "predicted_s_per_step": sec,
                     "cpu_hours": n * cfg.train.steps * sec / 3600})
    return pd.DataFrame(rows)


def rl_paper_cost(split: dict[str, float], rl: RLConfig | None = None) -> dict[str, float]:
    """Hours of one paper-profile RL run at the measured (full-length) step time."""
    rl = rl or PROFILES["paper"].rl
    step = split["rollout_s"] + split["update_s"]
    return {"steps": rl.steps, "s_per_step": step, "cpu_hours": rl.steps * step / 3600}
