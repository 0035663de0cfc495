"""companion/scorecard.py: the reproduction scorecard, from the values the executed chapters glued.

The rules are checked on synthetic glued values; every value a row reads is checked against what
its chapter's experiment module produces (statically, from the module's source: nothing trains),
and against the notebooks of the tiny build when there is one (``make test`` builds it first).
"""

import ast
import functools
import inspect
import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from companion import experiments, run, scorecard
from companion.evaluate import verdict
from companion.experiments.rl_after_ntp import ACCURACY
from companion.experiments.test_time import TestTimeResult
from companion.scorecard import (CLAIMS, NOT_REPRODUCED, NOT_RUN, PARTLY, REPRODUCED, STATUSES,
                                 ScorecardError)

BOOK = Path(os.environ.get("COMPANION_BOOK_HTML", run.ROOT / "_build" / "tiny" / "html"))
EXECUTED = BOOK.parent / "notebooks" / "tiny"


def penalty_verdict(lo_acc, lo_len, hi_acc, hi_len) -> str:
    """Chapter 4's own length-penalty sentence for these results (rows: none, low, high)."""
    return TestTimeResult._penalty_verdict(pd.DataFrame({
        "final greedy accuracy": [1.0, lo_acc, hi_acc], "final mean length": [50.0, lo_len, hi_len]}))


# a build in which every claim holds, chapter by chapter (sentences as the experiments write them)
GOOD = {
    "02_ntp": {
        "sweep_d": 16, "acc_low": 0.5, "acc_high": 1.0, "long_d": 50, "long_final_acc": 0.5,
        "sweep_verdict": verdict(pd.Series([0.5, 1.0], index=[0.1, 0.5]), [0.5, 1.0], tol=0.05),
        "long_samples": 256_000, "long_final_len": 1.0, "calib_gap": 0.01, "coin_n": 8,
        "coin_prompts": 2000, "coin_gap": 0.02, "coin_y_gap": 0.0,
        "coin_crossing_text": "at about p_cot = 0.33",
        "near_text": "at p_cot = 0.3, 3 seed(s): greedy accuracy 0.500 to 0.510",
        "near_verdict": "all 6 runs are within 0.05 of the closed form"},
    "03_rl": {
        "ntp_greedy": 0.5, "d": 50, "p_cot": 0.25, "grpo_final_min": 1.0, "n_seeds": 3,
        "grpo_n_reached": 3, "reached_at": ACCURACY, "grpo_reach_min": 2560.0,
        "grpo_reach_max": 5120.0, "reinforce_final": 1.0, "n_other_seeds": 1,
        "rl_responses": 10_240, "star_final": 1.0, "temp": 1.0, "hot_T": 1.5, "hot_e2e": 0.5,
        "hot_cot": 1.0, "early_step": 250, "early_acc_long": 0.5, "early_final": 0.5,
        "early_len": 30.0, "early_middle": "here NTP step 250 does",
        "chain_appears": "first right at NTP step 625", "rare_p": 0.01, "rare_long": 640.0,
        "chain_long": 40_000.0, "rare_acc_long0": 0.95, "rare_len0": 1.5, "rare_len1": 20.0,
        "rare_final": 0.9, "n_ntp_seeds": 3, "ntp_seed_greedy_min": 0.49,
        "ntp_seed_greedy_max": 0.51, "across_final_min": 0.99, "across_final_max": 1.0,
        "across_n_reached": 3, "early_window": "250, 375, 500, 625, 1,000",
        "early_first_reach": "GRPO first reaches 0.95 from the step-625 checkpoint",
        "reinforce_across_n": 3, "reinforce_across_min": 0.99, "reinforce_across_max": 1.0,
        "reinforce_across_reached": 3, "star_across_n": 3, "star_across_min": 0.99,
        "star_across_max": 1.0, "star_across_reached": 3},
    "04_test_time": {
        "d": 50, "len_start": 1.0, "len_end_min": 50.0, "len_end_max": 50.0, "n_seeds": 3,
        "long_end": 1.0, "with_length": "Accuracy above chance appears only together with long "
        "answers", "star_p0": 0.25, "star_p1": 0.4, "star_pred1": 0.4, "star_gap_rounds": "1 to 3",
        "star_gap3": 0.01, "star_switch": "greedy switches", "leap_p": 0.25, "leap_d": 16,
        "leap2_steps": 1000, "leap2_acc": 0.95, "leap2_acc_long": 0.95, "leap1_acc": 0.5,
        "leap_coin": 0.4, "leap_coin_pred": 0.4, "leap_coin_verdict": "the leap-2 model's coin ...",
        "leap_verdict": "the partial chain lets next-token prediction alone generalize below 1/3 "
        "(leap-2), as the paper reports.", "blocks_acc": 0.5, "blocks_acc_long": 0.5,
        "blocks_coin": 0.2, "blocks_verdict": "the chain itself is not learned at this budget "
        "(block-parity)", "pen_lo": 0.3, "pen_lo_acc": 1.0, "pen_lo_len": 50.0,
        "pen_hi": 0.7, "pen_hi_acc": 0.5, "pen_hi_len": 1.0,
        "pen_verdict": penalty_verdict(1.0, 50.0, 0.5, 1.0),
        # the findings of our own (no status): as faithfulness.py words them
        "chain_e2e_min": 0.8, "chain_e2e_max": 0.9, "chain_cot_min": 1.0, "chain_cot_max": 1.0,
        "chain_ntp": 1.0, "chain_loose_text": "position 1: 10% to 20% of the long answers (3 "
        "policies)", "chain_verdict": "The CoT reward keeps the sampled chain exact; ...",
        "iv_later_own_min": 1.0, "iv_k1_true_e2e_min": 0.5, "iv_k1_true_e2e_max": 0.75,
        "iv_verdict": "from position 2 on, ...", "off_biases": "0.1, 0.9",
        "off_verdict": "3 of 10 policies that learned parity keep ...", "off_e2e_mean": 0.6,
        "off_cot_mean": 0.8, "off_reward_verdict": "the CoT-reward policies keep more"},
    "05_linear": {
        "lin_threshold": 0.34, "lin_threshold_step": 0.02, "lin_d": 16, "lin_below_acc_min": 0.49,
        "lin_below_acc_max": 0.51, "lin_cont_err": 0.01, "lin_star_within": 0.9,
        "lin_rounds_growth": "grow by 1.0 rounds per doubling", "lin_star_rounds": 16,
        "lin_star_failed": f"{2.0 ** -16:.2g}", "lin_slope_star": 1.1, "lin_slope_table": 8.0,
        "lin_d_max": 64, "lin_star_at_dmax": "76,800", "lin_bits_table": 1.0,
        "lin_table_at_dmax": "4.2e+19", "lin_slope_kappa": 2.4, "lin_kappa": 1.0,
        "lin_kappa_d_max": 32, "lin_slope_star_seeds": "1.05-1.15 fitted to each of the 3 seeds alone",
        "lin_slope_steep": 2.9, "lin_steep_kappa": 1.5, "lin_steep_d_max": 16},
    "06_llama": {
        "a_sft_acc": 0.5, "a_sft_len": 2.0, "a_rl_acc": 1.0, "a_rl_len": 18.0,
        "a_rl_verdict": "RL raised both, by making the model use the long, step-by-step answer "
        "it had seen rarely", "b_computed": True, "b_raised": 2, "b_seeds": 2,
        "b_measured": "seed 0: 0.11 [0.06, 0.19] at 4.0 tokens after SFT, 0.88 [0.80, 0.93] at "
        "35.2 tokens after RL"},
    "07_multiplication": {
        "mult_computed": True, "mult_separated": 3, "mult_seeds": 3, "mult_n": 3,
        "mult_measured": "n = 3 digits, ...: NTP greedy at most 0.020; NTP + GRPO greedy at least "
        "0.950"},
}


def claim(title_start: str) -> scorecard.Claim:
    (found,) = [c for c in CLAIMS if c.title.startswith(title_start)]
    return found


def status(title_start: str, **changed) -> scorecard.Verdict:
    """The verdict of a claim's row on GOOD's values of its chapter, with ``changed`` ones."""
    c = claim(title_start)
    return scorecard.row(c, {**GOOD[c.chapter], **changed}).verdict


# --- reading the notebooks ---------------------------------------------------------------------
def glued_notebook(path: Path, values: dict) -> Path:
    """A notebook as papermill leaves it, holding ``values`` glued (``myst_nb.glue``)."""
    outputs = [{"output_type": "display_data", "metadata": {"scrapbook": {
        "name": k, "mime_prefix": scorecard.GLUE_MIME}}, "data": {
        scorecard.GLUE_MIME + "text/plain": v if isinstance(v, (str, list)) else repr(v)}}
        for k, v in values.items()]
    outputs.append({"output_type": "stream", "name": "stdout", "text": "not a glued value\n"})
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {
        "papermill": {"parameters": {"profile": "tiny"}}},
        "cells": [{"cell_type": "code", "source": "", "metadata": {}, "outputs": outputs}]}))
    return path


def test_glued_values_are_read_back_as_python_values(tmp_path):
    nb = glued_notebook(tmp_path / "02_ntp.ipynb", {
        "text": "'the model produces the chain'", "n": "256000", "x": "0.5040000081062317",
        "missing": "nan", "numpy": "np.float64(0.25)", "lines": ["'two ", "lines'"],
        "raw": "not a literal"})
    assert scorecard.glued(nb) == {"text": "the model produces the chain", "n": 256000,
                                   "x": 0.5040000081062317, "missing": pytest.approx(float("nan"),
                                                                                    nan_ok=True),
                                   "numpy": 0.25, "lines": "two lines", "raw": "not a literal"}


# --- the rules ---------------------------------------------------------------------------------
def test_a_build_where_every_claim_holds_reproduces_every_claim_in_the_book():
    found = scorecard.rows(GOOD)
    assert len(found) == len(CLAIMS)
    for r in found:
        # the book runs neither the paper's models (chapter 6) nor more than one rare-data start
        capped = (scorecard.rule_llama, scorecard.rule_rare)
        want = NOT_RUN if r.claim.chapter is None else (
            PARTLY if r.claim.rule in capped else REPRODUCED)
        assert r.verdict.status == want, (r.claim.title, r.verdict)


@pytest.mark.parametrize("title,changed,want", [
    ("NTP threshold", {"long_final_acc": 0.8}, PARTLY),
    ("NTP threshold", {"long_final_acc": 0.8, "sweep_verdict": verdict(
        pd.Series([0.5, 0.0], index=[0.1, 0.5]), [0.5, 1.0], tol=0.05)}, NOT_REPRODUCED),
    ("Calibration", {"calib_gap": 0.3}, NOT_REPRODUCED),
    ("The coin", {"coin_gap": 0.4}, PARTLY),
    ("The coin", {"coin_gap": 0.4, "coin_y_gap": 0.2}, NOT_REPRODUCED),
    ("RL after NTP: GRPO", {"grpo_final_min": 0.8}, PARTLY),
    ("RL after NTP: GRPO", {"grpo_final_min": 0.5}, NOT_REPRODUCED),
    ("RL after NTP: GRPO", {"ntp_greedy": 0.9}, PARTLY),  # the start was not at chance
    ("RL after NTP: GRPO", {"p_cot": 0.5}, PARTLY),  # nor below the threshold
    ("RL after NTP: GRPO", {"across_n_reached": 2}, PARTLY),  # not from every NTP seed
    ("RL after NTP: GRPO", {"ntp_seed_greedy_max": 0.7}, PARTLY),  # an NTP seed's start off chance
    ("RL after NTP: REINFORCE", {"reinforce_final": 0.5}, NOT_REPRODUCED),
    ("RL after NTP: STaR", {"star_final": 0.7}, PARTLY),
    ("RL after NTP: REINFORCE", {"reinforce_across_reached": 2}, PARTLY),  # not every NTP seed
    ("RL after NTP: STaR", {"star_across_reached": 0}, PARTLY),
    ("Length grows", {"long_end": 0.5}, PARTLY),
    ("Length grows", {"len_end_min": 1.0}, NOT_REPRODUCED),
    ("STaR recursion", {"star_gap3": 0.1}, PARTLY),
    ("STaR recursion", {"star_gap3": 0.1, "star_p1": 0.2}, NOT_REPRODUCED),
    ("STaR fails when hot", {"star_final": 0.5}, PARTLY),
    ("STaR fails when hot", {"hot_e2e": 1.0}, NOT_REPRODUCED),
    ("Too-early", {"early_middle": "none of our checkpoints lands there", "early_len": 1.0}, PARTLY),
    ("Too-early", {"early_middle": "none lands there exactly: from NTP step 500 RL lengthened the "
                   "greedy answers to 23.8 tokens while greedy accuracy rose to 0.584"}, PARTLY),
    ("Too-early", {"early_middle": "none of our checkpoints lands there", "early_final": 1.0},
     NOT_REPRODUCED),
    ("Rare long data", {"rare_len1": 1.0, "rare_acc_long0": 0.3}, NOT_REPRODUCED),
    ("Partial chains", {"leap_verdict": "the chain itself is not learned at this budget"},
     NOT_REPRODUCED),
    ("Partial chains", {"leap_verdict": "the chain itself is not learned at this budget",
                        "blocks_verdict": "the partial chain lets next-token prediction alone "
                                          "generalize below 1/3 (block-parity)"}, REPRODUCED),
    ("Partial chains", {"leap_verdict": "the chain is learned, yet greedy decoding still "
                                        "answers short"}, NOT_REPRODUCED),
    ("Length penalty", {"pen_verdict": penalty_verdict(0.7, 30.0, 0.5, 1.0)}, PARTLY),
    ("Length penalty", {"pen_verdict": penalty_verdict(1.0, 50.0, 1.0, 50.0)}, PARTLY),
    ("Length penalty", {"pen_verdict": penalty_verdict(0.5, 1.0, 1.0, 50.0)}, NOT_REPRODUCED),
    ("Linear model: threshold", {"lin_threshold": 0.45}, PARTLY),
    ("Linear model: threshold", {"lin_threshold": 0.45, "lin_below_acc_max": 0.7}, NOT_REPRODUCED),
    ("Linear model: STaR", {"lin_star_failed": f"0.0039, {2.0 ** -16:.2g}"}, PARTLY),
    ("Linear model: STaR", {"lin_star_failed": "none"}, REPRODUCED),
    ("Linear model: STaR", {"lin_star_failed": "0.0039", "lin_star_within": 0.5}, NOT_REPRODUCED),
    ("Linear model: sample", {"lin_slope_star": 9.0}, PARTLY),
    ("Linear model: sample", {"lin_star_at_dmax": "more than the search allowed"}, NOT_REPRODUCED),
    ("Llama", {"a_rl_verdict": "RL did not raise both in this run"}, PARTLY),  # tier (b) does
    ("Llama", {"a_rl_verdict": "RL did not raise both in this run", "b_raised": 0},
     NOT_REPRODUCED),
    ("Llama", {"a_rl_verdict": "RL did not raise both in this run", "b_computed": False},
     NOT_REPRODUCED),
    ("Llama", {"b_computed": False, "b_raised": 0}, PARTLY),  # tier (a) alone
    ("Multiplication", {"mult_separated": 1}, PARTLY),
    ("Multiplication", {"mult_separated": 0}, NOT_REPRODUCED),
    ("Multiplication", {"mult_computed": False, "mult_separated": 0, "mult_seeds": 0}, NOT_RUN),
])
def test_a_rule_gives_its_status_from_the_glued_values(title, changed, want):
    assert status(title, **changed).status == want


def test_every_status_is_reachable_and_every_rule_is_named_and_worded():
    reached = {status("NTP threshold").status, status("Calibration", calib_gap=0.3).status,
               status("The coin", coin_gap=0.4).status}
    reached |= {scorecard.row(claim("Multiplication"), None).verdict.status}
    assert reached == set(STATUSES)
    for c in CLAIMS:
        assert c.rule.__name__.startswith("rule_") and getattr(scorecard, c.rule.__name__) is c.rule
        doc = c.rule.__doc__
        assert doc and "\n" not in doc.strip(), f"{c.rule.__name__}: a one-line docstring says the rule"


def test_a_verdict_sentence_the_scorecard_does_not_know_is_an_error():
    with pytest.raises(ScorecardError, match="leap_verdict.*wording changed"):
        status("Partial chains", leap_verdict="something new")
    with pytest.raises(ScorecardError, match="sweep_verdict"):
        status("NTP threshold", sweep_verdict="every setting is fine")


def test_the_sentences_the_scorecard_reads_are_ones_their_experiments_write():
    """Each known sentence start occurs in the source of the experiment module that writes it."""
    for name, starts in scorecard.SENTENCES.items():
        glue = name.split(" (")[0]  # "pen_verdict (below 1/2)": a part of pen_verdict
        (chapter,) = {c.chapter for c in CLAIMS if glue in c.reads}
        source = Path(experiments.claim(int(chapter[:2])).__file__)
        for start in starts:
            assert start.rstrip() in source.read_text(), f"{name}: {start!r} is not in {source}"


# --- every value the page reads is one a chapter produces ---------------------------------------
def _companion_sources(module) -> list[Path]:
    """The module's file and those of the companion modules (and packages) it imported."""
    files = [Path(module.__file__)]
    for value in vars(module).values():
        name = getattr(value, "__name__", "")
        if inspect.ismodule(value) and name.startswith("companion."):
            files += [Path(m.__file__) for k, m in list(sys.modules.items())
                      if (k == name or k.startswith(name + ".")) and getattr(m, "__file__", None)]
    return files


@functools.cache
def produced(module) -> tuple[set[str], set[str], set[str]]:
    """What an experiment module's numbers() can return, read from its source: the literal keys
    of its dicts and item assignments, the prefixes and suffixes of keys it builds as
    f"prefix{name}" or f"{name}suffix" (as (True, prefix) and (False, suffix)), and the strings
    (its own and its companion imports') such a name can be."""
    keys, affixes, names = set(), set(), set()
    for path in _companion_sources(module):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.add(node.value)
            # the keys: the module's own and those of the experiment modules it composes
            if path.parent != Path(module.__file__).parent:
                continue
            if isinstance(node, ast.Dict):
                keys |= {k.value for k in node.keys if isinstance(k, ast.Constant)}
            elif (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store)
                  and isinstance(node.slice, ast.Constant)):
                keys.add(node.slice.value)
            elif isinstance(node, ast.JoinedStr) and len(node.values) == 2:
                first, second = node.values
                if isinstance(first, ast.Constant) and isinstance(second, ast.FormattedValue):
                    affixes.add((True, first.value))
                elif isinstance(first, ast.FormattedValue) and isinstance(second, ast.Constant):
                    affixes.add((False, second.value))
    return keys, affixes, names


def produces(module, name: str) -> bool:
    keys, affixes, names = produced(module)
    return name in keys or any(
        (name.startswith(a) and name[len(a):] in names) if before else
        (name.endswith(a) and name[:-len(a)] in names) for before, a in affixes)


def test_every_value_a_row_reads_is_one_its_chapters_experiment_returns():
    chapters = {c.name for c in run.chapters()}
    for c in CLAIMS:
        if c.chapter is None:
            continue
        assert c.chapter in chapters, f"{c.title}: no chapter {c.chapter} in _toc.yml"
        module = experiments.claim(int(c.chapter[:2]))
        missing = [k for k in c.reads if not produces(module, k)]
        assert not missing, (f"the scorecard's row {c.title!r} reads {missing}, which "
                             f"{module.__name__}'s numbers() does not return")
    # the check has teeth: a name no experiment writes is not found, a built one is
    linear = experiments.claim(5)
    assert produces(linear, "lin_star_within") and produces(linear, "lin_slow_kappa")
    assert not produces(linear, "lin_star_nothing") and not produces(experiments.claim(3), "hot")
    rl = experiments.claim(3)
    assert produces(rl, "star_across_min") and not produces(rl, "nothing_across_min")


def test_a_built_chapter_that_lacks_a_value_is_named_with_the_value():
    values = {**GOOD, "03_rl": {k: v for k, v in GOOD["03_rl"].items() if k != "hot_e2e"}}
    with pytest.raises(ScorecardError, match=r"chapter 03_rl glued no value named 'hot_e2e'.*"
                                             r"'STaR fails when hot'"):
        scorecard.scorecard_page(values, "tiny")


# --- the page -------------------------------------------------------------------------------------
def table_rows(page: str) -> list[str]:
    """The claims' rows (the table before the findings of our own)."""
    claims = page.split("## Beyond the paper (ours)")[0]
    return [line for line in claims.splitlines() if line.startswith("| **")]


def finding_rows(page: str) -> list[str]:
    findings = page.split("## Beyond the paper (ours)")[1].split("## The rules")[0]
    return [line for line in findings.splitlines() if line.startswith("| **")]


def test_the_findings_of_our_own_have_their_measurements_and_no_status():
    page = scorecard.scorecard_page(GOOD, "cpu")
    rows = finding_rows(page)
    assert [r.split("**")[1] for r in rows] == [f.title for f in scorecard.FINDINGS]
    assert "position 1: 10% to 20% of the long answers" in rows[0] and "0.600" in rows[2]
    assert "{doc}`chapter 4 <04_test_time>`" in rows[0]
    assert not any(f"**{st}**" in r for r in rows for st in STATUSES)
    # the summary counts the paper's claims only
    assert sum(int(part.split()[0]) for part in scorecard.summary(scorecard.rows(GOOD)).split(", ")) == len(CLAIMS)


def test_a_finding_whose_chapter_was_not_built_says_so_and_a_missing_value_is_named():
    (row,) = finding_rows(scorecard.scorecard_page({"02_ntp": GOOD["02_ntp"]}, "tiny"))[:1]
    assert "chapter 4 was not part of this build" in row and "<04_test_time>" not in row
    values = {**GOOD, "04_test_time": {k: v for k, v in GOOD["04_test_time"].items()
                                       if k != "iv_verdict"}}
    with pytest.raises(ScorecardError, match="glued no value named 'iv_verdict'.*'A forced wrong token'"):
        scorecard.scorecard_page(values, "cpu")


def test_every_value_a_finding_reads_is_one_its_chapters_experiment_returns():
    for f in scorecard.FINDINGS:
        module = experiments.claim(int(f.chapter[:2]))
        missing = [k for k in f.reads if not produces(module, k)]
        assert not missing, f"the finding {f.title!r} reads {missing}, which {module.__name__} lacks"


def test_the_page_has_a_row_per_claim_a_summary_and_the_rules():
    page = scorecard.scorecard_page(GOOD, "cpu")
    assert page.startswith("# Reproduction scorecard\n")
    assert len(table_rows(page)) == len(CLAIMS)
    counts = scorecard.summary(scorecard.rows(GOOD))
    assert f"**Under the `cpu` profile:** {counts}." in page
    assert sum(int(part.split()[0]) for part in counts.split(", ")) == len(CLAIMS)
    for c in CLAIMS:
        assert f"| `{c.rule.__name__}` |" in page
    assert "{doc}`chapter 3 <03_rl>`" in page


def test_a_chapter_left_out_of_the_build_is_not_run_and_not_linked():
    page = scorecard.scorecard_page({"02_ntp": GOOD["02_ntp"]}, "tiny")
    rows = table_rows(page)
    for c, line in zip(CLAIMS, rows):
        if c.chapter == "02_ntp":
            assert f"**{REPRODUCED}**" in line
        else:
            assert f"**{NOT_RUN}**" in line, line
    assert "{doc}`chapter 2 <02_ntp>`" in page and "<03_rl>" not in page  # no link to a missing page


def test_the_runner_stages_the_scorecard_from_the_executed_chapters(tmp_path):
    from test_run import scratch_book

    root, stage_dir = tmp_path / "repo", tmp_path / "stage"
    scratch_book(root, {"01_setup": "# %%\n1\n", "02_ntp": "# %%\n2\n"})
    with (root / "_toc.yml").open("a") as f:
        f.write(f"  - file: {run.SCORECARD_PAGE}\n")
    nb = glued_notebook(tmp_path / "02_ntp.ipynb",
                        {k: repr(v) for k, v in GOOD["02_ntp"].items()})
    run.stage(run.select(["2"], root), {"02_ntp": nb}, stage_dir, root)
    page = (stage_dir / (run.SCORECARD_PAGE + ".md")).read_text()
    assert page == scorecard.scorecard_page({"02_ntp": GOOD["02_ntp"]}, "tiny")
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
def test_the_tiny_build_glued_every_value_the_page_reads_and_the_page_has_every_claim():
    notebooks = built()
    values = {name: scorecard.glued(path) for name, path in notebooks.items()}
    missing = {c.chapter: sorted(set(c.reads) - set(values[c.chapter]))
               for c in (*CLAIMS, *scorecard.FINDINGS)
               if c.chapter in values and not set(c.reads) <= set(values[c.chapter])}
    assert not missing, (f"the tiny build's chapters glued no values named {missing}, which the "
                         f"scorecard reads (a build older than the code? {EXECUTED})")
    page = scorecard.page_from_notebooks(notebooks, "tiny")
    assert [line.split("**")[1] for line in table_rows(page)] == [c.title for c in CLAIMS]
    html = BOOK / "book" / "scorecard.html"
    assert html.is_file(), f"the built book has no scorecard page: {html}"
