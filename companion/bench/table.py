"""The benchmark table: one row per (benchmark, measure, value), printed as markdown."""

from __future__ import annotations

import math

import pandas as pd


def table_rows(benchmark: str, measures: dict[str, float]) -> list[dict]:
    """One row per measure of ``benchmark`` (a NaN value is printed as "missing")."""
    return [{"benchmark": benchmark, "measure": m, "value": v} for m, v in measures.items()]


def markdown(df: pd.DataFrame) -> str:
    lines = ["| benchmark | measure | value |", "|---|---|---|"]
    for r in df.itertuples():
        value = "missing" if isinstance(r.value, float) and math.isnan(r.value) else f"{r.value:,.3g}"
        lines.append(f"| {r.benchmark} | {r.measure} | {value} |")
    return "\n".join(lines)
