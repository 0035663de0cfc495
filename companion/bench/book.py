"""The book's compute, counted run by run, against its wall time: the book's MFU and where its
time went (training the runs of every chapter, executing the chapters, the Jupyter Book build).

FLOPs are counted (:mod:`companion.flops`) from each cached run's config and history: NTP
training steps (right-sized, in expectation over the mixture), every evaluation (a batch decodes
to the chain's length when any answer in it is long, else two tokens), RL rollouts (likewise,
from each step's rollout statistics) and updates, and the chain probes. Seconds come from each run's
``timing.json``; the chapters' and the book's wall times from the build's ``timings.csv``.
Nothing is trained here: a run missing from the cache is counted as missing. The other chapters'
runs (a linear model, Hugging Face models) are timed from their ``timing.json``, not counted.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pandas as pd

from .. import cache, experiments
from ..config import ContinueNTPConfig, RLRunConfig
from ..flops import decode_steps, evaluation_flops, generate_flops, ntp_flops, rl_flops
from ..profiles import get_profile
from ..run import BOOK_ROW, RUNS_ROW
from ..task import VOCAB_SIZE, ParityMixture
from ..cache import TIMING
from .table import table_rows
from .timings import latest_timings, timing_files

COUNTED_CHAPTERS = (2, 3, 4)  # the chapters whose runs are GPT runs on the parity task


def book_runs(profile: str) -> list:
    """Every run of chapters 2-4 under ``profile`` and the runs they need, each once."""
    prof, seen, out = get_profile(profile), set(), []
    todo = [r for ch in COUNTED_CHAPTERS for r in experiments.claim(ch).runs(prof).values()]
    while todo:
        r = todo.pop(0)
        todo.extend(r.needs)
        if dataclasses.is_dataclass(r.key) and (r.kind, r.key) not in seen:
            seen.add((r.kind, r.key))
            out.append(r)
    return out


def other_run_seconds(profile: str) -> float:
    """The recorded seconds of the book's runs outside chapters 2-4 (the linear experiments,
    the LLM runs) found in the cache."""
    prof = get_profile(profile)
    runs = [r for ch in experiments.CLAIMS if ch not in COUNTED_CHAPTERS
            for r in experiments.book_runs(ch, prof).values()]
    return sum(timed(f).get("total_s", 0.0) for r in runs
               if (f := cache.lookup(r.kind, r.key)) is not None)


def counted(kind: str, cfg, folder: Path) -> dict[str, float]:
    """The FLOPs of one finished run, by part (empty for a kind not counted)."""
    if kind in ("ntp", "ntp-continue"):
        ntp = cfg.start if isinstance(cfg, ContinueNTPConfig) else cfg
        steps = cfg.steps if isinstance(cfg, ContinueNTPConfig) else cfg.train.steps
        return {"training": ntp_flops(ntp, steps),
                "evaluation": evaluation_flops(ntp, pd.read_csv(folder / "history.csv"))}
    if kind == "rl":
        hist = pd.read_csv(folder / "history.csv")
        return {**rl_flops(cfg, hist), "evaluation": evaluation_flops(cfg.start, hist)}
    if kind == "probe":
        p = cfg.policy
        ntp = p.start if isinstance(p, RLRunConfig) else p
        task, m = ParityMixture(ntp.task), ntp.model
        chains = pd.read_csv(folder / "chains.csv")
        gen = sum(generate_flops(m, VOCAB_SIZE, cfg.prompts, task.prompt_len,
                                 decode_steps(task, r.long_frac)) for r in chains.itertuples())
        k = pd.read_csv(folder / "interventions.csv").k
        forced = sum(generate_flops(m, VOCAB_SIZE, cfg.prompts, task.prompt_len + int(j),
                                    task.max_response - int(j)) for j in k)
        return {"probes": gen + forced}
    return {}


def timed(folder: Path) -> dict[str, float]:
    """A run's recorded seconds: total and parts (empty for a run that recorded none)."""
    path = folder / TIMING
    return json.loads(path.read_text()) if path.is_file() else {}


def book_rows(profile: str = "cpu", peak: float | None = None,
              timings: Path | None = None) -> list[dict]:
    """The benchmark rows: counted FLOPs and timed seconds by part, over the runs of chapters
    2-4 found in the cache; with ``peak`` (one core's fp32 matmul FLOP/s) the book's MFU."""
    prof = get_profile(profile)
    flops: dict[str, float] = {}
    secs = {"in runs": 0.0, "evaluation": 0.0, "rollouts": 0.0}
    missing = untimed = 0
    for r in book_runs(profile):
        folder = cache.lookup(r.kind, r.key)
        if folder is None:
            missing += 1
            continue
        for part, f in counted(r.kind, r.key, folder).items():
            flops[part] = flops.get(part, 0.0) + f
        t = timed(folder)
        untimed += not t
        secs["in runs"] += t.get("total_s", 0.0)
        secs["evaluation"] += t.get("evaluation_s", 0.0)
        secs["rollouts"] += t.get("rollout_s", 0.0)
    bench = f"the `{profile}` book's compute (chapters 2-4, counted)"
    total = sum(flops.values())
    rows = table_rows(bench, {f"{part}, TFLOP": f / 1e12 for part, f in flops.items()}
                      | {"all, TFLOP": total / 1e12, "runs not in the cache": missing,
                         "runs with no timing.json": untimed})
    rows += table_rows(bench, {f"run seconds: {k} (summed over processes)": v for k, v in secs.items()})
    df = latest_timings(timings or timing_files()[profile], profile)
    walls = {c: float(s) for c, s in zip(df.chapter, df.seconds)} if len(df) else {}
    if BOOK_ROW not in walls or RUNS_ROW not in walls:
        return rows + table_rows(bench, {"not measured: no whole-book build recorded": math.nan})
    chapters = sum(s for c, s in walls.items() if c not in (BOOK_ROW, RUNS_ROW))
    in_runs = secs["in runs"] / prof.workers
    others = other_run_seconds(profile) / prof.workers
    rows += table_rows(bench, {
        "book wall, s": walls[BOOK_ROW],
        f"training the runs, all chapters, {prof.workers} at a time, s": walls[RUNS_ROW],
        f"... in chapters 2-4's runs (run seconds / {prof.workers} workers), s": in_runs,
        f"... in the other chapters' runs (run seconds / {prof.workers} workers), s": others,
        "... idle workers, s": walls[RUNS_ROW] - in_runs - others,
        "executing the chapters (kernels, imports, reading, figures), s": chapters,
        "Jupyter Book build and staging, s": walls[BOOK_ROW] - walls[RUNS_ROW] - chapters})
    if peak:
        rows += table_rows(bench, {
            f"book MFU: counted FLOPs / (book wall x {prof.workers} cores x peak)":
                total / (walls[BOOK_ROW] * prof.workers * peak),
            "runs' MFU: counted FLOPs / (run seconds x peak)":
                total / (secs["in runs"] * peak) if secs["in runs"] else math.nan})
    return rows
