"""Benchmarks: ratios measured side by side in one run, medians over repeats.

``python -m companion bench`` prints a markdown table and writes ``bench.csv``
(:func:`measure_all`, :func:`markdown`):

* NTP training throughput through Lightning's Trainer vs a bare PyTorch loop (same model,
  same data, same optimiser): the Lightning overhead; model FLOP utilisation against this
  machine's measured fp32 matmul peak; rollout throughput with the KV cache vs recomputing the
  prefix (:mod:`.throughput`);
* one RL step of the ``cpu`` profile split into rollout and update time (:mod:`.rl_step`);
* where chapter 6's tier (b) (SmolLM2, ``make pretrained``) spends its time: SFT, evaluation,
  GRPO rollouts and updates, read from its cached runs (:mod:`.pretrained`);
* k models' NTP steps stacked into one (``torch.func`` ``vmap``) vs one after the other, with
  the largest gradient difference (:mod:`.stacked`);
* an NTP step eager vs ``torch.compile``, with the compile time (:mod:`.compiled`);
* independent runs one after the other vs two processes at once, as the chapters train them
  (:mod:`.workers`);
* the wall time of each chapter and of the whole book under ``tiny`` and ``cpu``, read from the
  ``timings.csv`` that every ``python -m companion book`` appends to (:mod:`.timings`; never a
  20-minute book inside the benchmark: a missing file is reported as missing);
* the ``cpu`` book's compute: FLOPs counted run by run from the cache (training, evaluation,
  rollouts, updates, probes), the runs' recorded seconds, where the book's wall time went
  (training the runs, idle workers, executing the chapters, the Jupyter Book build), and the
  book's MFU against the matmul peak of every core it used (:mod:`.book`);
* with ``--scale`` (:func:`scale_rows`): NTP step times at several d for the ``cpu`` and the
  ``paper`` model, the fit ``seconds = overhead + FLOPs / rate`` on the smaller d checked against
  d=50, and the paper profile's cost on this CPU predicted from it (:mod:`.scale`).

Speed is measured here, never asserted in tests: numbers depend on the machine and its load.
"""

from __future__ import annotations

import pandas as pd

from ..profiles import PROFILES, get_profile
from ..runtime import quiet_lightning, set_threads
from . import scale
from .book import book_rows
from .compiled import compiled_rows
from .pretrained import pretrained_rows
from .rl_step import rl_split_rows, rl_step_split
from .stacked import stacked_rows
from .table import markdown, table_rows
from .throughput import matmul_peak, ntp_rows, rollout_rows
from .timings import timing_rows
from .workers import parallel_rows

__all__ = ["markdown", "measure_all", "scale_rows"]


def measure_all(steps: int = 60, repeats: int = 3, rollout_prompts: int = 256) -> pd.DataFrame:
    """Every benchmark but ``--scale``'s, as rows (benchmark, measure, value)."""
    set_threads()
    quiet_lightning()
    peak = matmul_peak()
    rows = ntp_rows(steps, repeats, peak)
    rows += table_rows("matmul peak (fp32, 512x512)", {"GFLOP/s": peak / 1e9})
    rows += rollout_rows(repeats, rollout_prompts)
    rows += rl_split_rows(get_profile("cpu"), repeats)
    rows += stacked_rows(repeats=repeats)
    rows += compiled_rows(repeats=repeats)
    rows += parallel_rows(repeats=min(repeats, 2))
    rows += timing_rows()
    rows += book_rows("cpu", peak)
    rows += pretrained_rows("cpu")
    return pd.DataFrame(rows)


def scale_rows(repeats: int = 2, steps: int = 3, ds: tuple[int, ...] = (12, 20, 32, 50),
               fit_ds: tuple[int, ...] = (12, 20, 32)) -> tuple[list[dict], pd.DataFrame, pd.DataFrame]:
    """NTP step times at ``ds`` (data: the paper's p_cot and batch), the fit on ``fit_ds`` and
    its check at the largest d, and the paper profile's predicted cost on this CPU.

    Returns the benchmark rows, the measured steps and the predicted cost per group of runs.
    """
    paper = PROFILES["paper"]
    head, paper_rl = paper.headline, paper.rl_after_ntp.rl
    models = {"cpu model (2 x 64)": get_profile("cpu").headline.model,
              "paper model (4 x 256)": scale.paper_model()}
    measured = scale.step_times(head, models, ds, steps)
    fits = scale.extrapolate(measured, fit_ds)
    rows = []
    for label, g in measured.groupby("model", sort=False):
        fit = fits[label]
        for r in g.itertuples():
            tag = "fitted on" if r.d in fit_ds else "predicted"
            rows += table_rows(f"NTP step, {label}, p_cot={head.task.p_cot}, batch "
                               f"{head.train.batch_size}", {
                                   f"d={r.d}: measured s/step": r.seconds,
                                   f"d={r.d}: fit s/step ({tag})": fit(r.flops),
                               })
        rows += table_rows(f"NTP step fit, {label} (d in {list(fit_ds)})", {
            "overhead, s/step": fit.overhead, "rate, GFLOP/s": fit.rate / 1e9})
    cost = scale.paper_cost(fits["paper model (4 x 256)"])
    ntp = "paper profile on this CPU (fp32, 1 thread): NTP"
    for r in cost.itertuples():
        rows += table_rows(ntp, {
            f"{r.runs}: {r.count} x {r.steps:,} steps at {r.predicted_s_per_step:.2f} s, hours":
                r.cpu_hours})
    rows += table_rows(ntp, {"all NTP runs, hours": float(cost.cpu_hours.sum())})
    pcfg = scale.at_scale(head, scale.paper_model(), head.task.d)
    split = rl_step_split(pcfg, paper_rl, repeats=repeats, full_length=True)
    rl = scale.rl_paper_cost(split)
    rows += table_rows(f"paper profile on this CPU: one RL run ({paper_rl.prompts_per_step} prompts "
                       f"x G={paper_rl.G}, full-length responses, d={pcfg.task.d})", {
                           "rollout, s/step (measured)": split["rollout_s"],
                           "update, s/step (measured)": split["update_s"],
                           f"{rl['steps']} steps, hours": rl["cpu_hours"]})
    return rows, measured, cost
