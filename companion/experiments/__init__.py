"""One module per claim of the paper. Each says which runs it needs (``runs(profile)``: cached
units that ``companion.parallel`` trains several at a time), loads them (``load(profile)``), and
returns the numbers and verdicts its chapter prints (``<result>.numbers()``, glued by name).

A chapter is then: its parameters cell, ``ex = <claim>.load(prof)``, a few figure and table
calls on ``ex``, and one cell that glues ``ex.numbers()``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# chapter number -> the claim it shows (chapter 1 derives the closed forms: no runs)
CLAIMS = {2: "ntp_threshold", 3: "rl_after_ntp", 4: "test_time", 5: "linear_theory", 6: "llama",
          7: "multiplication"}


def claim(chapter: int) -> ModuleType:
    """The experiment module of a chapter."""
    return importlib.import_module(f"{__name__}.{CLAIMS[chapter]}")


def book_runs(chapter: int, prof) -> dict:
    """The runs the book's runner computes for ``chapter`` before executing it (with every other
    chapter's, ``prof.workers`` at a time): the claim module's ``book_runs`` where it keeps some
    runs out of that pool, else all its ``runs``."""
    module = claim(chapter)
    return getattr(module, "book_runs", module.runs)(prof)


def spread(lo: float, hi: float, digits: int) -> str:
    """A range for the text: "0.31", or "0.29-0.35" when the two ends differ as printed."""
    a, b = f"{lo:.{digits}f}", f"{hi:.{digits}f}"
    return a if a == b else f"{a}-{b}"


MISSING = "n/a"  # a number a run did not give (no long answer sampled, a level never reached)


def number_text(x: float | None, fmt: str = ".3f") -> str:
    """``x`` as the text prints it, or ``MISSING`` when there is none (None or nan)."""
    return MISSING if x is None or x != x else format(x, fmt)


def span(xs, digits: int = 3) -> str:
    """The range of ``xs`` for the text (:func:`spread`), or ``MISSING`` when there are none."""
    return spread(min(xs), max(xs), digits) if len(xs) else MISSING


def plural(n: int, noun: str) -> str:
    """"1 RL seed", "3 RL seeds"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def wilson(k: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95% at z = 1.96) of a proportion of ``k`` successes in ``n``:
    unlike the normal approximation it stays inside [0, 1] and is not empty at k = 0 or n."""
    if n <= 0:
        return float("nan"), float("nan")
    p = k / n
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5
    return max(0.0, mid - half), min(1.0, mid + half)


def glue_numbers(numbers: dict) -> None:
    """Glue every value by its name, for the chapter's text to cite (``{glue:text}`name```), and
    all of them as one JSON record (``numbers``) that the scorecard page reads back typed."""
    from myst_nb import glue

    from ..verdicts import glue_json, primitive

    for name, value in numbers.items():
        glue(name, value, display=False)
    glue_json("numbers", {name: primitive(value) for name, value in numbers.items()})
