"""The chapters' wall times, read from the ``timings.csv`` every ``python -m companion book``
appends to (``companion/run.py``); the benchmark never builds a book itself."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ..run import BOOK_ROW, ROOT, TIMINGS
from .table import table_rows


def timing_files(root: Path | None = None) -> dict[str, Path]:
    """Where ``make book`` (profile cpu) and ``make test`` (profile tiny) leave their timings."""
    root = root or ROOT
    return {"tiny": root / "_build" / "tiny" / TIMINGS, "cpu": root / "_build" / TIMINGS}


def latest_timings(path: Path, profile: str) -> pd.DataFrame:
    """The most recent row per chapter for ``profile`` (the whole-book row only from a build of
    every chapter); empty if the file or the profile is missing."""
    if not path.is_file():
        return pd.DataFrame()
    df = pd.read_csv(path, dtype={"scope": str})
    df = df[df.profile == profile]
    df = df[(df.chapter != BOOK_ROW) | (df.scope == "all")]
    return df.sort_values("built_at", kind="stable").groupby("chapter", sort=False).tail(1)


def timing_rows(files: dict[str, Path] | None = None) -> list[dict]:
    """One row per chapter (then the whole book) of each profile's latest build; a profile with
    no recorded build gets one "not measured" row (NaN)."""
    rows = []
    for profile, path in (files or timing_files()).items():
        df = latest_timings(path, profile)
        bench = f"wall time under `{profile}`"
        if df.empty:
            rows += table_rows(bench, {f"not measured: no build recorded in {path}": math.nan})
            continue
        df = pd.concat([df[df.chapter != BOOK_ROW].sort_values("chapter"), df[df.chapter == BOOK_ROW]])
        for r in df.itertuples():
            if r.cache == "off":
                how = "cache off: everything computed"
            elif r.new_runs == 0:
                how = "warm cache: nothing trained"
            else:
                how = f"{r.new_runs} runs trained"
            rows += table_rows(bench, {f"{r.chapter}, s ({how}; {r.built_at})": float(r.seconds)})
    return rows
