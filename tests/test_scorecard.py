"""companion/scorecard.py: the page renders the outcomes the executed chapters recorded as JSON.

The rules themselves are tested beside their experiment modules (tests/experiments) and against a
build that learned nothing (test_null_build.py); here: reading the records, the two tallies, the
table, the details, the figure, and the tiny build's page (``make test`` builds it first).
"""

import json
import os
import re
from pathlib import Path

import pytest

from companion import run, scorecard, verdicts
from companion.verdicts import Outcome, Scale, Status

BOOK = Path(os.environ.get("COMPANION_BOOK_HTML", run.ROOT / "_build" / "tiny" / "html"))
EXECUTED = BOOK.parent / "notebooks" / "tiny"


def outcome(claim="c", chapter="02_ntp", status=Status.REPRODUCED, ours=False, **changed):
    base = dict(claim=claim, title=f"Claim {claim}", chapter=chapter, section="S",
                statement="NTP stays at chance (paper, Fig. 2).", ours=ours, status=status,
                key="greedy 0.500 over 3 seeds", measured="measured words",
                reason="reason words", rule="the rule in words.",
                thresholds={"CHANCE": verdicts.CHANCE, "KNOWN": verdicts.KNOWN},
                scale=Scale("d = 50; 256,000 samples", "d = 50; ~10^7 samples", True),
                value=0.5, target=0.55)
    return Outcome(**{**base, **changed})


NUMBERS = {"04_test_time": {
    "chain_e2e_min": 0.8, "chain_e2e_max": 0.9, "chain_cot_min": 1.0, "chain_cot_max": 1.0,
    "chain_ntp": 1.0, "chain_loose_text": "position 1: 10% to 20%", "chain_verdict": "v1.",
    "iv_later_own_min": 1.0, "iv_k1_true_e2e_min": 0.5, "iv_k1_true_e2e_max": None,
    "iv_verdict": "v2.", "off_biases": "0.1, 0.9", "off_verdict": "v3", "off_e2e_mean": 0.6,
    "off_cot_mean": 0.8, "off_reward_verdict": "v4"}}


def notebook(path: Path, records: dict, text: dict | None = None) -> Path:
    """A notebook as papermill leaves it, holding JSON ``records`` and plain glued ``text``."""
    outputs = [{"output_type": "display_data", "metadata": {"scrapbook": {
        "name": k, "mime_prefix": scorecard.GLUE_MIME}}, "data": {
        scorecard.GLUE_MIME + verdicts.JSON_MIME: json.dumps(v),
        scorecard.GLUE_MIME + "text/plain": "<record>"}} for k, v in records.items()]
    outputs += [{"output_type": "display_data", "metadata": {"scrapbook": {
        "name": k, "mime_prefix": scorecard.GLUE_MIME}}, "data": {
        scorecard.GLUE_MIME + "text/plain": repr(v)}} for k, v in (text or {}).items()]
    outputs.append({"output_type": "stream", "name": "stdout", "text": "not a glued value\n"})
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {
        "papermill": {"parameters": {"profile": "tiny"}}},
        "cells": [{"cell_type": "code", "source": "", "metadata": {}, "outputs": outputs}]}))
    return path


def table(page: str, heading: str) -> list[str]:
    part = page.split(heading)[1].split("\n## ")[0]
    return [line for line in part.splitlines() if line.startswith("| **")]


def test_records_are_read_as_json_and_plain_glued_text_is_not_read(tmp_path):
    nb = notebook(tmp_path / "02_ntp.ipynb", {"numbers": {"a": 0.5, "b": None}},
                  text={"sentence": "reproduced: it holds"})
    assert scorecard.records(nb) == {"numbers": {"a": 0.5, "b": None}}


def test_a_chapter_that_recorded_no_outcomes_is_named(tmp_path):
    nb = notebook(tmp_path / "03_rl.ipynb", {"numbers": {}})
    with pytest.raises(scorecard.ScorecardError, match="chapter 03_rl .*glue_outcomes"):
        scorecard.chapter_outcomes("03_rl", nb)
    nb = notebook(tmp_path / "03_rl.ipynb", {"outcomes": {"outcomes": verdicts.dumps([outcome()])}})
    assert scorecard.chapter_outcomes("03_rl", nb) == [outcome()]


def test_the_two_tallies_count_the_paper_and_ours_apart():
    built = {"02_ntp": [outcome("a"), outcome("b", status=Status.SCALED),
                        outcome("coin", ours=True, status=Status.NOT_REPRODUCED)],
             "03_rl": [outcome("r", chapter="03_rl", status=Status.NOT_TESTABLE)]}
    page = scorecard.scorecard_page(built, {}, "cpu")
    assert ("**Under the `cpu` profile**, the paper's claims: 1 reproduced, 1 partly (scaled "
            "analogue), 1 not testable as built.") in page
    assert "Checks of our reconstruction and questions of ours: 1 not reproduced." in page
    assert [r.split("**")[1] for r in table(page, "## The paper's claims")] == [
        "Claim a", "Claim b", "Claim r"]
    assert [r.split("**")[1] for r in table(page, "## Checks of our reconstruction")] == [
        "Claim coin"]


def test_a_row_shows_its_key_number_scale_status_and_every_threshold_it_used():
    page = scorecard.scorecard_page({"02_ntp": [outcome(
        scale=Scale("d = 16", "d = 50", False), status=Status.SCALED)]}, {}, "cpu")
    (row,) = table(page, "## The paper's claims")
    assert "{doc}`chapter 2 <02_ntp>`" in row
    assert "greedy 0.500 over 3 seeds; *d = 16* (scaled analogue)" in row
    assert "{bdg-info}`partly (scaled analogue)`" in row
    assert "`CHANCE` = 0.05, `KNOWN` = 0.9" in row
    details = page.split("## Each row in detail")[1]
    assert ":::{dropdown} Claim c: partly (scaled analogue)" in details
    for words in ("measured words", "reason words", "the rule in words.", "the paper: d = 50",
                  "a scaled analogue of the claim"):
        assert words in details


def test_a_cell_never_breaks_the_table():
    page = scorecard.scorecard_page({"02_ntp": [outcome(key="a | b\nc")]}, {}, "cpu")
    (row,) = table(page, "## The paper's claims")
    assert "a \\| b c" in row and len(re.split(r"(?<!\\)\|", row)) == 6  # four cells


def test_every_status_is_explained_on_the_page():
    page = scorecard.scorecard_page({}, {}, "tiny")
    for s in Status:
        assert f"| {scorecard.badge(s)} | {scorecard.MEANING[s]} |" in page
    assert "Not part of this build (their claims are not counted): chapter 2, chapter 3" in page


def test_the_findings_show_their_numbers_and_a_missing_one_is_named():
    page = scorecard.scorecard_page({}, NUMBERS, "tiny")
    (first, second, third) = table(page, "## Beyond the paper")
    assert "0.800 to 0.900 (end-to-end reward)" in first and "v1." in first
    assert "1.000 of the time; at position 1 the end-to-end policies ignore it 0.500 to n/a" in second
    with pytest.raises(scorecard.ScorecardError, match="chain_ntp"):
        scorecard.scorecard_page({}, {"04_test_time": {
            k: v for k, v in NUMBERS["04_test_time"].items() if k != "chain_ntp"}}, "tiny")
    assert "chapter 4 was not part of this build" in scorecard.scorecard_page({}, {}, "tiny")


def test_the_figure_is_drawn_only_from_rows_with_a_value(tmp_path):
    assert not scorecard.figure([outcome(value=None)], tmp_path / "f.png")
    assert not (tmp_path / "f.png").exists()
    assert scorecard.figure([outcome(), outcome("b", status=Status.NOT_RUN, value=0.0)],
                            tmp_path / "f.png")
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"


def test_the_runner_stages_the_scorecard_and_its_figure_from_the_executed_chapters(tmp_path):
    from test_run import scratch_book

    root, stage_dir = tmp_path / "repo", tmp_path / "stage"
    scratch_book(root, {"01_setup": "# %%\n1\n", "02_ntp": "# %%\n2\n"})
    with (root / "_toc.yml").open("a") as f:
        f.write(f"  - file: {run.SCORECARD_PAGE}\n")
    nb = notebook(tmp_path / "02_ntp.ipynb", {
        "outcomes": {"outcomes": verdicts.dumps([outcome()])}, "numbers": {"x": 1}})
    run.stage(run.select(["2"], root), {"02_ntp": nb}, stage_dir, root)
    page = (stage_dir / (run.SCORECARD_PAGE + ".md")).read_text()
    assert page == scorecard.scorecard_page({"02_ntp": [outcome()]}, {"02_ntp": {"x": 1}}, "tiny",
                                            scorecard.FIGURE)
    assert (stage_dir / "book" / scorecard.FIGURE).is_file()
    assert run.SCORECARD_PAGE in (stage_dir / "_toc.yml").read_text()


def test_the_book_lists_the_scorecard():
    files = [e["file"] for e in run.toc()["chapters"]]
    assert run.SCORECARD_PAGE in files and files.index(run.SCORECARD_PAGE) > files.index("book/06_llama")
    assert "<scorecard>" in (run.ROOT / "book" / "intro.md").read_text()


# --- the tiny build ---------------------------------------------------------------------------------
def built() -> dict[str, Path]:
    return {c.name: EXECUTED / f"{c.name}.ipynb" for c in run.chapters()
            if (EXECUTED / f"{c.name}.ipynb").is_file()}


# slow: not that it is (it reads json), but it needs a tiny build as new as the code, which `make
# test` makes just before; the unit tier must not fail on an older one left in _build/tiny
@pytest.mark.slow
@pytest.mark.skipif(not built(), reason=f"no executed notebooks in {EXECUTED}: run `make test` "
                    "(or `python -m companion book --profile tiny --out _build/tiny`)")
def test_the_tiny_build_where_nothing_is_learned_gives_no_credit():
    outcomes = [o for name, nb in built().items() if int(name[:2]) in scorecard.CLAIMS
                for o in scorecard.chapter_outcomes(name, nb)]
    assert {o.chapter for o in outcomes} == {c.name for c in run.chapters()} - {"01_setup"}
    credited = {o.claim: (o.status.value, o.reason) for o in outcomes if o.status.credit
                and not (o.claim in TINY_EXCEPTIONS and o.status in TINY_EXCEPTIONS[o.claim][0])}
    assert not credited, f"the tiny build (nothing learned) earns credit: {credited}"
    html = BOOK / "book" / "scorecard.html"
    assert html.is_file(), f"the built book has no scorecard page: {html}"
    text = re.sub(r"<[^>]+>", " ", html.read_text())
    assert re.search(r"the paper\W+s claims: ", text) and not re.search(r"\bnan\b", text)


# claims the tiny build may still credit: {claim: (the statuses allowed, why)}
TINY_EXCEPTIONS: dict[str, tuple[set[Status], str]] = {
    "linear_threshold": ({Status.PARTLY}, "chapter 5's linear model is fitted, not trained for "
                         "steps: even under tiny (d = 8, 300 prompts) its chain is learned (sampled "
                         "long answers 0.98 right at p_cot = 0.2) and it answers short at chance "
                         "(0.483) there, so the 'chance below 1/3' half holds; the switch, with "
                         "only the sweep points 0.2 and 0.5, is not located at 1/3: partly"),
}
