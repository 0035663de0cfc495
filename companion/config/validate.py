"""Validation helpers shared by every config: a bad value is refused before any compute, with a
message naming the parameter, the value and what is allowed."""

from __future__ import annotations

import math
from typing import Any


class ConfigError(ValueError):
    """A parameter is outside its allowed range. The message names it."""


def check(ok: bool, name: str, value: Any, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"invalid {name}={value!r}: {allowed}.")


def check_int(name: str, value: Any, low: int, high: int | None = None) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
    ok = ok and (high is None or value <= high)
    rng = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
    check(ok, name, value, f"must be {rng}")


def check_float(name: str, value: Any, low: float, high: float, *, open_low: bool = False,
                open_high: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > low if open_low else value >= low)
    ok = ok and (value < high if open_high else value <= high)
    bracket, close = "(" if open_low else "[", ")" if open_high else "]"
    check(ok, name, value, f"must be a number in {bracket}{low}, {high}{close}")


def check_tuple(name: str, value: Any, *, nonempty: bool = True) -> None:
    check(isinstance(value, tuple) and (len(value) > 0 or not nonempty), name, value,
          "must be a non-empty tuple" if nonempty else "must be a tuple")
