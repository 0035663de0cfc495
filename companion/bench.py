"""Benchmarks: ratios measured side by side in one run, medians over repeats.

``python -m companion bench`` prints a markdown table and writes ``bench.csv``:

* NTP training throughput through Lightning's Trainer vs a bare PyTorch loop (same model,
  same data, same optimiser): the Lightning overhead;
* model FLOP utilisation: achieved FLOP/s of NTP training vs this machine's measured matmul
  peak (a float32 torch matmul on the same number of threads);
* rollout throughput (sampled responses/s) with the KV cache vs recomputing the prefix;
* one RL step of the ``cpu`` profile split into rollout and update time;
* independent runs one after the other vs two processes at once, as the chapters train them;
* the wall time of each chapter and of the whole book under ``tiny`` and ``cpu``, read from the
  ``timings.csv`` that every ``python -m companion book`` appends to (never a 20-minute book
  inside the benchmark: a missing file is reported as missing);
* with ``--scale``: NTP step times at several d for the ``cpu`` and the ``paper`` model, the
  fit ``seconds = overhead + FLOPs / rate`` on the smaller d checked against d=50, and the
  paper profile's cost on this CPU predicted from it (:mod:`companion.scale`).

Speed is measured here, never asserted in tests: numbers depend on the machine and its load.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import pandas as pd
import torch

from .config import NTPRunConfig
from .pretrain import NTPModule, ParityDataModule, build_model, ntp_loss
from .profiles import get_profile, with_
from .runtime import quiet_lightning, set_threads
from .task import PAD, ParityMixture


@dataclass
class Timing:
    seconds: list[float]  # one per repeat
    work: float  # units of work per repeat (tokens, responses)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rate(self) -> float:
        return self.work / self.median


def _rows(benchmark: str, measures: dict[str, float]) -> list[dict]:
    return [{"benchmark": benchmark, "measure": m, "value": v} for m, v in measures.items()]


def step_tokens_and_flops(cfg: NTPRunConfig, steps: int, seed: int = 0) -> tuple[float, float]:
    """Tokens actually computed (right-sized padding) and training FLOPs for ``steps`` batches.

    FLOPs: 6 N per token for the weights (forward + backward) plus 12 L C T per token for
    attention scores (the PaLM appendix estimate), N the non-embedding parameters.
    """
    task = ParityMixture(cfg.task)
    gen = torch.Generator().manual_seed(seed)
    m = cfg.model
    n_params = 12 * m.n_layer * m.n_embd ** 2
    tokens = flops = 0.0
    for _ in range(steps):
        b = task.sample(cfg.train.batch_size, gen)
        lens = (b.loss_mask[:, 1:] * torch.arange(1, b.tokens.shape[1])).amax(dim=1).float()
        tokens += float(lens.sum())
        flops += float((6 * n_params * lens + 12 * m.n_layer * m.n_embd * lens ** 2).sum())
    return tokens, flops


def bare_loop(cfg: NTPRunConfig, steps: int) -> list[float]:
    """NTP training in plain PyTorch; returns the wall seconds of each step."""
    task = ParityMixture(cfg.task)
    model = build_model(cfg).train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(cfg.train.seed + 1)
    out = []
    for _ in range(steps):
        t0 = time.perf_counter()
        b = task.sample(cfg.train.batch_size, gen)
        loss = ntp_loss(model, b.tokens, b.loss_mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
        opt.step()
        out.append(time.perf_counter() - t0)
    return out


def lightning_loop(cfg: NTPRunConfig, steps: int) -> None:
    train = cfg.train.__class__(**{**cfg.train.__dict__, "steps": steps, "checkpoint_steps": ()})
    module = NTPModule(build_model(cfg), train)
    trainer = L.Trainer(max_steps=steps, accelerator="cpu", devices=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, gradient_clip_val=cfg.train.grad_clip)
    trainer.fit(module, datamodule=ParityDataModule(ParityMixture(cfg.task), cfg.train.batch_size,
                                                    cfg.train.seed + 1))


def time_it(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def matmul_peak(n: int = 512, repeats: int = 5) -> float:
    """FLOP/s of a float32 n x n matmul on the current thread setting (median of repeats)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    inner = 20
    secs = time_it(lambda: [a @ b for _ in range(inner)], repeats)
    return 2 * n ** 3 * inner / statistics.median(secs)


def run(steps: int = 60, repeats: int = 3, rollout_prompts: int = 256) -> pd.DataFrame:
    set_threads()
    quiet_lightning()
    rows = []
    peak = matmul_peak()
    # the overhead and MFU benchmarks run at d=20 whatever the profile's headline d (d=50 on cpu):
    # a ratio needs only a few steps, and d=20 keeps the benchmark short
    cpu = with_(get_profile("cpu").headline, d=20)
    m = cpu.model
    # the cpu model's steps take ~0.1 s: it runs 4x the steps, so that one fit's fixed set-up
    # (and the machine's noise) weighs about as much as in the larger model's ~0.6 s steps
    for label, cfg, n in ((f"cpu profile model (d=20, {m.n_layer}x{m.n_embd})", cpu, 4 * steps),
                          ("larger (d=20, 4x128)", NTPRunConfig(
                              task=cpu.task, model=dataclasses.replace(m, n_layer=4, n_embd=128),
                              train=cpu.train, eval=cpu.eval), steps)):
        tokens, flops = step_tokens_and_flops(cfg, n, cfg.train.seed + 1)
        # warm both paths up, then alternate them so that load changes hit both alike
        bare_loop(cfg, 3)
        lightning_loop(cfg, 3)
        t_bare, t_light = [], []
        for _ in range(repeats):
            t_bare += time_it(lambda: bare_loop(cfg, n), 1)
            t_light += time_it(lambda: lightning_loop(cfg, n), 1)
        bare, light = Timing(t_bare, tokens), Timing(t_light, tokens)
        rows += _rows(f"NTP training, {label}", {
            "bare PyTorch loop, tokens/s": bare.rate,
            "Lightning Trainer, tokens/s": light.rate,
            "Lightning overhead (time ratio - 1)": light.median / bare.median - 1,
            "MFU (Lightning FLOP/s / matmul peak)": flops / light.median / peak,
        })
    rows += _rows("matmul peak (fp32, 512x512)", {"GFLOP/s": peak / 1e9})
    for d in (20, 32):
        cfg = with_(cpu, d=d)
        task = ParityMixture(cfg.task)
        model = build_model(cfg).eval()
        bits = task.sample_bits(rollout_prompts, torch.Generator().manual_seed(0))
        prompts = task.prompts(bits)

        def gen(use_cache: bool) -> None:
            # an <eos> id that never occurs: every row runs to the full chain length, so both
            # methods do the same work (a long RL rollout); sampled at T=1 as in RL
            model.generate(prompts, task.max_response, -1, PAD, temperature=1.0,
                           generator=torch.Generator().manual_seed(0), use_cache=use_cache)

        cached = Timing(time_it(lambda: gen(True), repeats), rollout_prompts)
        full = Timing(time_it(lambda: gen(False), repeats), rollout_prompts)
        rows += _rows(f"rollouts, d={d}, {rollout_prompts} prompts", {
            "KV cache, responses/s": cached.rate,
            "recompute, responses/s": full.rate,
            "KV-cache speed-up (x)": full.median / cached.median,
        })
    rows += rl_split_rows(get_profile("cpu"), repeats)
    rows += parallel_rows(repeats=min(repeats, 2))
    rows += timing_rows()
    return pd.DataFrame(rows)


def parallel_rows(workers: int = 2, steps: int = 200, repeats: int = 2) -> list[dict]:
    """``workers`` independent NTP runs of the cpu model (d=20): one after the other in this
    process vs ``workers`` processes at once, as the chapters train theirs (companion/plan.py).
    Each repeat trains into fresh temporary caches, so nothing is read back from a cache."""
    import os
    import tempfile
    from unittest import mock

    from .pretrain import train_ntp, train_ntp_many

    base = with_(get_profile("cpu").headline, d=20, steps=steps)
    base = dataclasses.replace(base, train=dataclasses.replace(base.train, eval_every=steps),
                               eval=dataclasses.replace(base.eval, n_prompts=200))
    cfgs = [with_(base, seed=s) for s in range(workers)]
    t_seq, t_par = [], []
    # the workers inherit the environment and hand their runs back through the cache: it must be on
    with mock.patch.dict(os.environ, {"COMPANION_CACHE": "on"}):
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as many:
                os.environ["COMPANION_CACHE_DIR"] = one
                t_seq += time_it(lambda: [train_ntp(c) for c in cfgs], 1)
                os.environ["COMPANION_CACHE_DIR"] = many
                t_par += time_it(lambda: train_ntp_many(cfgs, workers=workers), 1)
    seq, par = statistics.median(t_seq), statistics.median(t_par)
    return _rows(f"{workers} NTP runs, cpu profile model (d=20, {steps} steps + 1 evaluation each)", {
        "one after the other (1 process), s": seq,
        f"{workers} processes at once (process start-up included), s": par,
        "speed-up (x)": seq / par,
    })


def rl_split_rows(prof, repeats: int, d: int | None = None) -> list[dict]:
    """One RL step of ``prof`` (its headline model and RL config) split into rollout and update."""
    from .scale import rl_step_split

    cfg = prof.headline if d is None else with_(prof.headline, d=d)
    rl = prof.rl
    rows = []
    for full, regime in ((False, "untrained policy, random lengths"),
                         (True, "every response a full chain (late RL)")):
        s = rl_step_split(cfg, rl, repeats=repeats, full_length=full)
        rows += _rows(f"RL step, {prof.name} profile (d={cfg.task.d}, {rl.prompts_per_step} prompts "
                      f"x G={rl.G}), {regime}", {
                          "mean response tokens": s["mean_response_tokens"],
                          "rollout (sample + reward), s": s["rollout_s"],
                          "update (log-probs, backward, AdamW), s": s["update_s"],
                          "rollout share of the step": s["rollout_share"],
                      })
    return rows


# --- chapter wall times, recorded by companion/run.py ----------------------------------------
def timing_files(root: Path | None = None) -> dict[str, Path]:
    """Where ``make book`` (profile cpu) and ``make test`` (profile tiny) leave their timings."""
    from .run import ROOT, TIMINGS

    root = root or ROOT
    return {"tiny": root / "_build" / "tiny" / TIMINGS, "cpu": root / "_build" / TIMINGS}


def latest_timings(path: Path, profile: str) -> pd.DataFrame:
    """The most recent row per chapter for ``profile`` (the whole-book row only from a build of
    every chapter); empty if the file or the profile is missing."""
    from .run import BOOK_ROW

    if not path.is_file():
        return pd.DataFrame()
    df = pd.read_csv(path, dtype={"scope": str})
    df = df[df.profile == profile]
    df = df[(df.chapter != BOOK_ROW) | (df.scope == "all")]
    return df.sort_values("built_at", kind="stable").groupby("chapter", sort=False).tail(1)


def timing_rows(files: dict[str, Path] | None = None) -> list[dict]:
    from .run import BOOK_ROW

    rows = []
    for profile, path in (files or timing_files()).items():
        df = latest_timings(path, profile)
        bench = f"wall time under `{profile}`"
        if df.empty:
            rows += _rows(bench, {f"not measured: no build recorded in {path}": math.nan})
            continue
        df = pd.concat([df[df.chapter != BOOK_ROW].sort_values("chapter"), df[df.chapter == BOOK_ROW]])
        for r in df.itertuples():
            if r.cache == "off":
                how = "cache off: everything computed"
            elif r.new_runs == 0:
                how = "warm cache: nothing trained"
            else:
                how = f"{r.new_runs} runs trained"
            rows += _rows(bench, {f"{r.chapter}, s ({how}; {r.built_at})": float(r.seconds)})
    return rows


# --- the paper's scale, extrapolated from measured steps -------------------------------------
def scale_rows(repeats: int = 2, steps: int = 3, ds: tuple[int, ...] = (12, 20, 32, 50),
               fit_ds: tuple[int, ...] = (12, 20, 32)) -> tuple[list[dict], pd.DataFrame, pd.DataFrame]:
    """NTP step times at ``ds`` (data: the paper's p_cot and batch), the fit on ``fit_ds`` and
    its check at the largest d, and the paper profile's predicted cost on this CPU.

    Returns the benchmark rows, the measured steps and the predicted cost per group of runs.
    """
    from . import scale
    from .profiles import PROFILES

    paper = PROFILES["paper"]
    models = {"cpu model (2 x 64)": get_profile("cpu").headline.model,
              "paper model (4 x 256)": scale.paper_model()}
    measured = scale.measure_ntp(paper.headline, models, ds, steps)
    fits = scale.extrapolate(measured, fit_ds)
    rows = []
    for label, g in measured.groupby("model", sort=False):
        fit = fits[label]
        for r in g.itertuples():
            pred = fit(r.flops)
            tag = "fitted on" if r.d in fit_ds else "predicted"
            rows += _rows(f"NTP step, {label}, p_cot={paper.headline.task.p_cot}, batch "
                          f"{paper.headline.train.batch_size}", {
                              f"d={r.d}: measured s/step": r.seconds,
                              f"d={r.d}: fit s/step ({tag})": pred,
                          })
        rows += _rows(f"NTP step fit, {label} (d in {list(fit_ds)})", {
            "overhead, s/step": fit.overhead, "rate, GFLOP/s": fit.rate / 1e9})
    cost = scale.paper_cost(fits["paper model (4 x 256)"])
    for r in cost.itertuples():
        rows += _rows("paper profile on this CPU (fp32, 1 thread): NTP", {
            f"{r.runs}: {r.count} x {r.steps:,} steps at {r.predicted_s_per_step:.2f} s, hours":
                r.cpu_hours})
    rows += _rows("paper profile on this CPU (fp32, 1 thread): NTP", {
        "all NTP runs, hours": float(cost.cpu_hours.sum())})
    pcfg = scale.at_scale(paper.headline, scale.paper_model(), paper.headline.task.d)
    split = scale.rl_step_split(pcfg, paper.rl, repeats=repeats, full_length=True)
    rl = scale.rl_paper_cost(split)
    rows += _rows(f"paper profile on this CPU: one RL run ({paper.rl.prompts_per_step} prompts x "
                  f"G={paper.rl.G}, full-length responses, d={pcfg.task.d})", {
                      "rollout, s/step (measured)": split["rollout_s"],
                      "update, s/step (measured)": split["update_s"],
                      f"{rl['steps']} steps, hours": rl["cpu_hours"]})
    return rows, measured, cost


def markdown(df: pd.DataFrame) -> str:
    lines = ["| benchmark | measure | value |", "|---|---|---|"]
    for r in df.itertuples():
        value = "missing" if isinstance(r.value, float) and math.isnan(r.value) else f"{r.value:,.3g}"
        lines.append(f"| {r.benchmark} | {r.measure} | {value} |")
    return "\n".join(lines)
