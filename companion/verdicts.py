"""How a claim judges itself: a typed outcome, the thresholds it reads, the scale it ran.

Every row of the scorecard is an :class:`Outcome` that its experiment module computes from typed
numbers (never from a sentence): a :class:`Status`, the numbers the rule read, every threshold it
used, and the scale it ran beside the paper's. The chapter glues its outcomes as JSON
(:func:`glue_outcomes`); the scorecard page (``companion.scorecard``) only renders them.

Three habits keep a status honest:

- **positive controls**: a negative claim ("NTP stays at chance") earns credit only when a control
  shows the capacity was there (the chain is learned); "X fails where Y succeeds" needs Y to
  succeed;
- **noise**: a rise, a gap or "within" is judged against the binomial standard error of the prompts
  counted (:func:`se`, :func:`rose`, :func:`within`), so that a status does not flip with the CPU;
- **scale**: a rule that reproduces a scaled analogue of the claim (fewer samples, a smaller
  problem) gives :attr:`Status.SCALED`, never :attr:`Status.REPRODUCED` (:func:`capped`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from enum import Enum

# --- thresholds: one constant per meaning ---------------------------------------------------------
SOLVED = 0.95  # greedy accuracy at or above this: the task counts as solved
CHANCE = 0.05  # greedy accuracy within this of 1/2 (a yes/no answer): at chance
KNOWN = 0.9  # sampled long answers right at least this often: the chain is learned
SHORT = 2.0  # median greedy response length below this (tokens before <eos>): answers short
CALIBRATED = 0.05  # a measured probability within this of its closed form: "as predicted"
Z = 3.0  # a difference counts when it exceeds Z binomial standard errors of the prompts counted

# the paper's scale, as far as it is known: what a row must reach for more than a scaled analogue
PAPER_D = 50  # the input size of the paper's headline (Figs. 1-3)
PAPER_SAMPLES = 10**7  # its NTP budget: at chance "even with ~10^7 samples"
PAPER_SEEDS = 3  # it trains its transformers with 3 seeds
PAPER_SETUP = ("~10^7 NTP samples; transformers of depth 2, 4 or 8 and width 128 or 256, 3 seeds "
               "(which size went with which figure is not known)")

THRESHOLDS = {"SOLVED": SOLVED, "CHANCE": CHANCE, "KNOWN": KNOWN, "SHORT": SHORT,
              "CALIBRATED": CALIBRATED, "Z": Z}


class Status(str, Enum):
    """A row's status, from the most credit to none."""

    REPRODUCED = "reproduced"
    SCALED = "partly (scaled analogue)"  # reproduced, but below the claim's own scale
    PARTLY = "partly"
    NOT_REPRODUCED = "not reproduced"
    NOT_TESTABLE = "not testable as built"  # our own closed form says no run of ours decides it
    NOT_RUN = "not run under this profile"

    @property
    def credit(self) -> bool:
        """Whether the status gives the claim any credit."""
        return self in (Status.REPRODUCED, Status.SCALED, Status.PARTLY)


# --- noise ----------------------------------------------------------------------------------------
def se(p: float, n: int) -> float:
    """The binomial standard error of a proportion ``p`` measured on ``n`` prompts."""
    if n <= 0:
        raise ValueError(f"n (the prompts counted) must be positive, got {n}")
    p = min(max(p, 0.0), 1.0)
    return math.sqrt(p * (1 - p) / n)


def rose(before: float, after: float, n_before: int, n_after: int | None = None) -> bool:
    """``after`` is above ``before`` by more than ``Z`` standard errors of their difference, the
    two proportions pooled (so that 0 of 2 -> 2 of 2, where each alone has no spread, is noise)."""
    n_after = n_before if n_after is None else n_after
    pooled = (before * n_before + after * n_after) / (n_before + n_after)
    band = Z * se(pooled, 1) * math.sqrt(1 / n_before + 1 / n_after)
    return after - before > max(band, 1e-12)


def within(measured: float, predicted: float, n: int, tol: float = CALIBRATED) -> bool:
    """``measured`` agrees with ``predicted``: within ``tol`` or within ``Z`` standard errors of
    ``predicted`` on ``n`` prompts, whichever is wider (a finite sample cannot do better)."""
    return abs(measured - predicted) <= max(tol, Z * se(predicted, n))


def at_chance(acc: float, n: int) -> bool:
    """A yes/no greedy accuracy indistinguishable from 1/2: within ``CHANCE`` or ``Z`` SE of it."""
    return within(acc, 0.5, n, CHANCE)


def chain_learned(acc_long: float | None, n_long: int) -> bool:
    """The positive control of most rules: sampled long answers right at least ``KNOWN`` of the
    time, over enough of them to tell from a coin (outside ``CHANCE`` and ``Z`` SE of 1/2 on the
    ``n_long`` counted): a handful of lucky long answers is not a learned chain."""
    return (acc_long is not None and n_long > 0 and acc_long >= KNOWN
            and not at_chance(acc_long, n_long))


# --- the outcome ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scale:
    """The scale a row ran at beside the paper's, and whether ours reaches the claim's own."""

    ours: str  # e.g. "256,000 NTP samples; d = 50; 2 x 64; 3 seeds"
    paper: str  # e.g. "~10^7 NTP samples; d = 50" ("(reconstructed)" where it is ours)
    met: bool  # False: a scaled analogue, capped at Status.SCALED


@dataclass(frozen=True)
class Outcome:
    """One row of the scorecard: a claim, what this build measured and the status its rule gave."""

    claim: str  # a stable id, e.g. "ntp_threshold"
    title: str
    chapter: str  # the chapter that measures it, e.g. "02_ntp"
    section: str  # its section, in words
    statement: str  # the paper's statement in a line, attributed (paper / reconstructed / ours)
    ours: bool  # True: a check of our reconstruction or a question of ours (the second tally)
    status: Status
    key: str  # our key number, with its seed spread, in a line
    measured: str  # the details, as a sentence
    reason: str  # why this status, with the numbers the rule compared
    rule: str  # the rule in words
    thresholds: dict[str, float] = field(default_factory=dict)  # every threshold it used, by name
    scale: Scale = Scale("", "", True)
    value: float | None = None  # the number the rule turned on, for the page's figure ...
    target: float | None = None  # ... and the threshold it was compared with

    def __post_init__(self):
        object.__setattr__(self, "status", Status(self.status))
        if isinstance(self.scale, Mapping):
            object.__setattr__(self, "scale", Scale(**self.scale))

    @property
    def sentence(self) -> str:
        """The verdict in words, rendered from the outcome (never the other way round)."""
        return f"{self.status.value}: {self.reason}"

    def to_json(self) -> dict:
        """JSON primitives only (the page reads them back with :meth:`from_json`)."""
        d = asdict(self)
        d["status"] = self.status.value
        return d

    @classmethod
    def from_json(cls, d: Mapping) -> Outcome:
        return cls(**d)


def capped(status: Status, scale: Scale) -> Status:
    """``status``, "reproduced" lowered to "partly (scaled analogue)" below the claim's scale."""
    return Status.SCALED if status is Status.REPRODUCED and not scale.met else status


def both(a: bool, b: bool) -> Status:
    """Reproduced when both halves of a claim hold, partly when one does."""
    return Status.REPRODUCED if a and b else Status.PARTLY if a or b else Status.NOT_REPRODUCED


# --- rules ----------------------------------------------------------------------------------------
RULES: dict[str, Callable] = {}


def rule(fn: Callable) -> Callable:
    """Register a rule (evidence -> Outcome): the null-build test holds every registered rule to
    give no credit on a build that learned nothing. Its docstring is the rule in words."""
    if not fn.__doc__:
        raise ValueError(f"rule {fn.__name__} needs a docstring: the page prints it")
    RULES[f"{fn.__module__}.{fn.__qualname__}"] = fn
    return fn


def doc(fn: Callable) -> str:
    """A rule's docstring on one line."""
    return " ".join(fn.__doc__.split())


# --- to the page ----------------------------------------------------------------------------------
OUTCOMES = "outcomes"  # the glued JSON record holding a chapter's outcomes
# glued records carry their data as JSON text under this type, never as a repr to parse (a notebook
# keeps a glued value's data as a string: nbformat refuses an object there)
JSON_MIME = "application/vnd.companion.record+json"


def dumps(outcomes: Iterable[Outcome]) -> list[dict]:
    """JSON primitives of ``outcomes`` (checked: no nan, no object)."""
    data = [o.to_json() for o in outcomes]
    json.dumps(data, allow_nan=False)
    return data


def record(data: str | list[str]) -> dict:
    """A glued record's data, as a notebook keeps it (JSON text, maybe split in lines)."""
    return json.loads("".join(data) if isinstance(data, list) else data)


def loads(data: Iterable[Mapping]) -> list[Outcome]:
    return [Outcome.from_json(d) for d in data]


class _Record:
    """A value IPython displays as JSON text (what ``myst_nb.glue`` records under ``JSON_MIME``)."""

    def __init__(self, data: dict):
        self.data = data

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {JSON_MIME: json.dumps(self.data, allow_nan=False)}

    def __repr__(self) -> str:
        return f"<{len(self.data)} JSON fields>"


def glue_json(name: str, data: dict) -> None:
    """Glue ``data`` (JSON primitives) under ``name``: the notebook keeps it as JSON."""
    from myst_nb import glue

    json.dumps(data, allow_nan=False)
    glue(name, _Record(data), display=False)


def glue_outcomes(outcomes: Iterable[Outcome]) -> None:
    """Glue a chapter's outcomes as one JSON record (the scorecard page reads it back), and each
    outcome's sentence as ``status_<claim>`` for the chapter's text."""
    from myst_nb import glue

    outcomes = list(outcomes)
    glue_json(OUTCOMES, {OUTCOMES: dumps(outcomes)})
    for o in outcomes:
        glue(f"status_{o.claim}", o.sentence, display=False)


def number(x: float | None) -> float | None:
    """A float fit for JSON (nan and inf become None)."""
    return None if x is None or not math.isfinite(x) else float(x)


def primitive(value: object) -> object:
    """``value`` as a JSON primitive: numpy scalars unwrapped, nan as None, objects as text."""
    if hasattr(value, "item") and callable(value.item):  # a numpy scalar
        value = value.item()
    if isinstance(value, float):
        return number(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [primitive(v) for v in value]
    return str(value)
