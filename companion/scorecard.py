"""The reproduction scorecard page (``book/scorecard``): each claim the book checks, our numbers,
and the status its rule computed, as the executed chapters recorded them.

Each experiment module judges its own claims (``companion.verdicts``: a typed :class:`Outcome` per
claim) and its chapter glues them as one JSON record. The runner (:func:`companion.run.stage`)
writes this page from the executed notebooks of the build: nothing is loaded or trained here, and
nothing is read from a sentence. This module only renders: two tallies (the paper's claims; checks
of our reconstruction and questions of ours), a compact table, a figure of each claim's value
against its threshold, each row's details folded, and the findings of our own.
"""

from __future__ import annotations

import json
import math
import string
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .experiments import CLAIMS
from .verdicts import JSON_MIME, OUTCOMES, THRESHOLDS, Outcome, Status, loads, record

GLUE_MIME = "application/papermill.record/"  # how myst-nb records a glued value in a notebook
FIGURE = "scorecard_values.png"  # the page's figure, written beside it

# sphinx-design badges (offline): a colour per status
BADGE = {Status.REPRODUCED: "success", Status.SCALED: "info", Status.PARTLY: "warning",
         Status.NOT_REPRODUCED: "danger", Status.NOT_TESTABLE: "secondary",
         Status.NOT_RUN: "light"}
COLOUR = {Status.REPRODUCED: "#2e7d32", Status.SCALED: "#1f77b4", Status.PARTLY: "#e6a100",
          Status.NOT_REPRODUCED: "#c62828", Status.NOT_TESTABLE: "#757575",
          Status.NOT_RUN: "#bdbdbd"}
MEANING = {
    Status.REPRODUCED: "the rule's conditions hold, with their controls, at the claim's own scale",
    Status.SCALED: "they hold in a scaled analogue (fewer samples, a smaller problem or model): "
                   "the claim's own scale was not run",
    Status.PARTLY: "part of the claim holds (some seeds, or one of its halves)",
    Status.NOT_REPRODUCED: "the claim, or the control that gives it meaning, does not hold in "
                           "this build",
    Status.NOT_TESTABLE: "our own closed form says no run of this book's design can decide it",
    Status.NOT_RUN: "its runs are not part of this build (the row says which command trains them)",
}


class ScorecardError(RuntimeError):
    """A built chapter lacks a record the page reads."""


# --- reading the executed notebooks ---------------------------------------------------------------
def records(notebook: Path) -> dict[str, dict]:
    """{name: data} of every JSON record an executed notebook glued (``verdicts.glue_json``)."""
    nb = json.loads(Path(notebook).read_text())
    found: dict[str, dict] = {}
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            data = out.get("data", {}).get(GLUE_MIME + JSON_MIME)
            if name is not None and data is not None:
                found[name] = record(data)
    return found


def chapter_outcomes(name: str, notebook: Path) -> list[Outcome]:
    """The outcomes chapter ``name`` recorded; an error naming the chapter when it recorded none."""
    rec = records(notebook)
    if OUTCOMES not in rec:
        raise ScorecardError(f"chapter {name} ({notebook}) glued no {OUTCOMES!r} record: its glue "
                             "cell must call companion.verdicts.glue_outcomes(ex.outcomes())")
    return loads(rec[OUTCOMES][OUTCOMES])


# --- the findings of our own: measured, no status -------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """A question of ours beyond the paper's claims, and what this build measured: no status
    (there is no claim of the paper to reproduce), only the chapter's numbers."""

    title: str
    chapter: str
    section: str
    question: str
    measured: str  # format string over the chapter's ``numbers`` record

    @property
    def reads(self) -> tuple[str, ...]:
        fields = string.Formatter().parse(self.measured)
        return tuple(dict.fromkeys(f for _, f, _, _ in fields if f))


FINDINGS: tuple[Finding, ...] = (
    Finding("Which chain RL learns", "04_test_time", "Exact chains, position by position",
            "Are the RL policies' long answers the chain they were shown, token for token?",
            "sampled long answers exact: {chain_e2e_min:.3f} to {chain_e2e_max:.3f} (end-to-end "
            "reward), {chain_cot_min:.3f} to {chain_cot_max:.3f} (CoT reward), {chain_ntp:.3f} "
            "(NTP start); end-to-end reward: {chain_loose_text}. {chain_verdict}"),
    Finding("A forced wrong token", "04_test_time", "A wrong token forced in",
            "Is each chain token computed from the previous one, or from the prompt?",
            "from position 2 on, the policies continue from a forced wrong token at least "
            "{iv_later_own_min:.3f} of the time; at position 1 the end-to-end policies ignore it "
            "{iv_k1_true_e2e_min:.3f} to {iv_k1_true_e2e_max:.3f} of the time. {iv_verdict}"),
    Finding("Off-distribution prompts", "04_test_time", "Prompts off the training distribution",
            "Do the policies still answer right when the prompt bits are not uniform?",
            "bit biases $q =$ {off_biases}: {off_verdict}; at the worst bias, greedy accuracy "
            "{off_e2e_mean:.3f} (end-to-end reward) and {off_cot_mean:.3f} (CoT reward) on "
            "average: {off_reward_verdict}"),
)


class _Cells(string.Formatter):
    """Formats measured values for a table cell: no column breaks, a missing number as "n/a"."""

    def format_field(self, value, format_spec):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        return cell(format(value, format_spec))


def finding_measured(f: Finding, numbers: Mapping | None) -> str:
    """A finding's measured cell from its chapter's numbers (None: the chapter was not built)."""
    if numbers is None:
        return f"{chapter_word(f.chapter)} was not part of this build"
    missing = [k for k in f.reads if k not in numbers]
    if missing:
        raise ScorecardError(f"chapter {f.chapter} glued no value named "
                             f"{', '.join(map(repr, missing))}, which the scorecard's finding "
                             f"{f.title!r} reads")
    return _Cells().vformat(f.measured, (), {k: numbers[k] for k in f.reads})


# --- rendering ------------------------------------------------------------------------------------
def cell(text: str) -> str:
    """Text fit for one table cell: no column or line breaks."""
    return " ".join(str(text).replace("|", "\\|").split())


def chapter_word(name: str) -> str:
    return f"chapter {name.split('_')[0].lstrip('0')}"


def badge(status: Status) -> str:
    return f"{{bdg-{BADGE[status]}}}`{status.value}`"


def tally(outcomes: Iterable[Outcome]) -> str:
    """The count per status, from the most credit to none; "no rows" when empty."""
    n = Counter(o.status for o in outcomes)
    return ", ".join(f"{n[s]} {s.value}" for s in Status if n[s]) or "no rows"


def _thresholds(o: Outcome) -> str:
    return ", ".join(f"`{k}` = {v:g}" for k, v in o.thresholds.items()) or "none"


def _table(outcomes: list[Outcome]) -> list[str]:
    lines = ["| claim | the paper | this build (scale) | status |", "|---|---|---|---|"]
    for o in outcomes:
        where = f"{{doc}}`{chapter_word(o.chapter)} <{o.chapter}>`"
        scale = "" if o.scale.met else " (scaled analogue)"
        lines.append(f"| **{cell(o.title)}** ({where}) | {cell(o.statement)} | {cell(o.key)}; "
                     f"*{cell(o.scale.ours)}*{scale} | {badge(o.status)} "
                     f"<br>{cell(_thresholds(o))} |")
    return lines


def _details(o: Outcome) -> list[str]:
    met = "the claim's own scale" if o.scale.met else "a scaled analogue of the claim"
    return [f":::{{dropdown}} {o.title}: {o.status.value}", "",
            f"**The paper.** {o.statement}", "",
            f"**Measured.** {o.measured}", "",
            f"**Scale.** this build: {o.scale.ours}; the paper: {o.scale.paper} ({met}).", "",
            f"**Why this status.** {o.reason}", "",
            f"**The rule.** {o.rule} Thresholds: {_thresholds(o)}.", "", ":::", ""]


def figure(outcomes: list[Outcome], path: Path) -> bool:
    """Each row's value against its threshold, one small panel per row, coloured by status;
    False (and no file) when no row has a value to show."""
    shown = [o for o in outcomes if o.value is not None and o.target is not None]
    if not shown:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 4
    rows = math.ceil(len(shown) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.1 * cols, 1.25 * rows + 0.4), squeeze=False,
                             facecolor="white")
    for ax, o in zip(axes.flat, shown):
        # a proportion on [0, 1]; anything else (a length, a slope) up to a quarter past the larger
        high = max(o.value, o.target)
        top = 1.05 if 0 <= min(o.value, o.target) and high <= 1 else 1.25 * high
        ax.barh([0], [o.value], color=COLOUR[o.status], height=0.6)
        ax.axvline(o.target, color="black", lw=1.2, ls="--")
        ax.set_xlim(min(0.0, o.value, o.target), top)
        ax.set_yticks([])
        ax.set_title(o.title, fontsize=8, loc="left")
        ax.tick_params(axis="x", labelsize=7)
        ax.text(0.99, 0.92, f"{o.value:.3g} (threshold {o.target:.3g})", transform=ax.transAxes,
                ha="right", va="top", fontsize=7,
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 1})
    for ax in list(axes.flat)[len(shown):]:
        ax.axis("off")
    handles = [plt.Rectangle((0, 0), 1, 1, color=COLOUR[s]) for s in Status]
    fig.legend(handles, [s.value for s in Status], loc="lower center", ncol=3, fontsize=7,
               frameon=False)
    fig.tight_layout(rect=(0, 0.1 if rows < 3 else 0.06, 1, 1))
    fig.savefig(path, dpi=110, facecolor="white")
    plt.close(fig)
    return True


def scorecard_page(built: Mapping[str, list[Outcome]], numbers: Mapping[str, Mapping],
                   profile: str, figure_file: str | None = None) -> str:
    """The MyST page from {chapter: outcomes} and {chapter: numbers} of the chapters built."""
    every = [o for name in sorted(built) for o in built[name]]
    paper = [o for o in every if not o.ours]
    ours = [o for o in every if o.ours]
    lines = [
        "# Reproduction scorecard", "",
        "Each claim of the paper this book checks, what this build measured, and the status its "
        "rule computed from the build's own runs (each experiment module in "
        "`companion/experiments` judges its claims; this page only shows the outcomes). A status "
        "gives credit only when the claim's control holds (a negative result counts only where "
        "the model had learned what it needed), differences are judged against the binomial "
        f"standard error of the prompts counted (beyond {THRESHOLDS['Z']:g} standard errors), and "
        "a claim run below its own scale is at most a *scaled analogue*.", "",
        f"**Under the `{profile}` profile**, the paper's claims: {tally(paper)}.  ",
        f"Checks of our reconstruction and questions of ours: {tally(ours)}.", ""]
    missing = sorted({f.chapter for f in FINDINGS} - set(numbers))
    left_out = sorted(set(CLAIMS) - {int(name[:2]) for name in built})
    if left_out:
        lines += ["Not part of this build (their claims are not counted): "
                  + ", ".join(f"chapter {n}" for n in left_out) + ".", ""]
    lines += ["| status | meaning |", "|---|---|"]
    lines += [f"| {badge(s)} | {MEANING[s]} |" for s in Status]
    if figure_file:
        lines += ["", f"```{{figure}} {figure_file}", ":name: scorecard-values", "",
                  "Each claim's measured value (bar, coloured by status) against the threshold its "
                  "rule compared it with (dashed).", "```"]
    lines += ["", "## The paper's claims", ""] + _table(paper)
    lines += ["", "## Checks of our reconstruction, and questions of ours", ""] + _table(ours)
    lines += ["", "## Each row in detail", ""]
    for o in paper + ours:
        lines += _details(o)
    lines += ["## Beyond the paper: findings of ours", "",
              "What this build measured for questions of ours: no status, no claim to reproduce.",
              "", "| question (ours) | measured in this build |", "|---|---|"]
    for f in FINDINGS:
        where = (f"{{doc}}`{chapter_word(f.chapter)} <{f.chapter}>`, *{f.section}*"
                 if f.chapter not in missing else chapter_word(f.chapter))
        lines.append(f"| **{f.title}** ({where}): {f.question} "
                     f"| {finding_measured(f, numbers.get(f.chapter))} |")
    lines += ["", "Thresholds shared by the rules (`companion/verdicts.py`): " + "; ".join(
        f"`{k}` = {v:g}" for k, v in THRESHOLDS.items()) + ". Each row lists the ones it used.", ""]
    return "\n".join(lines)


def write_page(notebooks: Mapping[str, Path], profile: str, page: Path) -> None:
    """Write the scorecard page (``page``, a .md file) and its figure beside it, from the executed
    notebooks of a build ({chapter name: path}). Chapter 1 judges no claim."""
    built, numbers = {}, {}
    for name, nb in notebooks.items():
        rec = records(nb)
        if "numbers" in rec:
            numbers[name] = rec["numbers"]
        if int(name[:2]) in CLAIMS:  # chapter 1 derives the closed forms: it judges no claim
            built[name] = chapter_outcomes(name, nb)
    every = [o for name in sorted(built) for o in built[name]]
    drawn = figure(every, page.parent / FIGURE)
    page.write_text(scorecard_page(built, numbers, profile, FIGURE if drawn else None))
