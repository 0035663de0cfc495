"""The null result of a page whose runs are not in the cache (and whose ``make book`` does not
train them): it says so, and which ``make`` target trains them, in place of its measurements.

One class for every such page (multiplication, chapter 6's tier (b)): the page's module builds it
with what the page glues instead of its numbers, and with its claims' outcomes (not run).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from .. import cache
from ..parallel import Run
from ..verdicts import Outcome


def missing(runs: Mapping[str, Run]) -> tuple[str, ...]:
    """The names of ``runs`` not in the cache (all of them when the cache is off)."""
    return tuple(name for name, r in runs.items() if not cache.cache_enabled() or not r.done())


@dataclass(frozen=True)
class NotComputed:
    """Runs a page reads that this build did not have: the message the page shows instead."""

    profile: str  # the profile's name
    missing: tuple[str, ...]  # the runs not cached, by name
    target: str  # the make target that trains them, e.g. "make multiplication"
    what: str = "the page's runs"  # which runs, in words
    texts: tuple[str, ...] = ()  # glue names of the page's text that carry the message instead
    values: Mapping[str, object] = field(default_factory=dict)  # what the page glues even so
    judged: tuple[Outcome, ...] = ()  # its claims' outcomes (status: not run)

    computed: ClassVar[bool] = False

    @property
    def command(self) -> str:
        return f"{self.target} PROFILE={self.profile}"

    @property
    def message(self) -> str:
        return (f"Not computed in this build: {len(self.missing)} of {self.what} are not in the "
                f"cache under profile '{self.profile}'. Run `{self.command}` (it trains them into "
                "the cache; the README says how long it takes), then build the book again.")

    def numbers(self) -> dict:
        """What the page glues: its ``values``, and the message for every name in ``texts``."""
        return {**self.values, **{name: self.message for name in self.texts}}

    def outcomes(self) -> list[Outcome]:
        return list(self.judged)
