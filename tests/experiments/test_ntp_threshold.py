"""companion/experiments/ntp_threshold.py: chapter 2's claims judge themselves from typed evidence
(the threshold, calibration, the coin), and the numbers its text cites."""

import dataclasses
import math

import pandas as pd
import pytest

from companion import theory
from companion.experiments import ntp_threshold
from companion.experiments.ntp_threshold import (COIN_PROMPTS, CalibrationEvidence, CoinEvidence,
                                                 NTPThresholdEvidence, NTPThresholdResult,
                                                 judge_calibration, judge_coin,
                                                 judge_ntp_threshold)
from companion.profiles import get_profile
from companion.verdicts import CALIBRATED, KNOWN, RULES, SOLVED, Status, dumps, loads

REPRODUCED, SCALED, PARTLY = Status.REPRODUCED, Status.SCALED, Status.PARTLY
NOT_REPRODUCED = Status.NOT_REPRODUCED
PS = (0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5)  # the null evidence's sweep (the cpu profile's)


# --- the threshold ------------------------------------------------------------------------------
def threshold(**changes) -> NTPThresholdEvidence:
    """The null build's evidence with ``changes``."""
    return dataclasses.replace(NTPThresholdEvidence.null(), **changes)


LEARNED = {"long_acc_long": (0.99,)}  # the headline run learned the chain: the control holds
SOLVED_ABOVE = {"sweep_greedy": (0.5, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0)}  # the sweep generalizes above
PAPER_SCALE = {"long_samples": 2 * 10**7, "sweep_d": 50, "sweep_samples": 10**7}


@pytest.mark.parametrize("changes, status", [
    ({**LEARNED, **SOLVED_ABOVE, **PAPER_SCALE}, REPRODUCED),
    ({**LEARNED, **SOLVED_ABOVE}, SCALED),  # d = 16 sweep, 256,000 samples: a scaled analogue
    ({**LEARNED}, PARTLY),  # at chance with the chain learned, but nothing generalizes above 1/3
    ({**SOLVED_ABOVE}, PARTLY),  # generalizes above; below 1/3 the control fails
    ({}, NOT_REPRODUCED),  # the null build
    ({**LEARNED, "long_greedy": (0.6,), "sweep_greedy": (0.5,) * 5 + (0.9, 0.9)}, NOT_REPRODUCED),
], ids=["reproduced", "scaled", "below-only", "above-only", "null", "both-fail"])
def test_the_threshold_rule_reaches_each_status(changes, status):
    o = judge_ntp_threshold(threshold(**changes))
    assert o.status is status, o.reason
    assert o.claim == "ntp_threshold" and not o.ours and o.chapter == "02_ntp"
    assert set(o.thresholds) >= {"KNOWN", "CHANCE", "SHORT", "SOLVED", "Z"}


@pytest.mark.parametrize("changes", [
    {"long_acc_long": (0.85,)},  # long answers right, but below KNOWN: the chain is not learned
    {"long_acc_long": (1.0,), "long_n_long": (5,)},  # 5 of 5 right: within noise of chance
    {"long_greedy": (0.56,)},  # 0.06 above chance on 1,000 prompts: beyond 3 SE (0.047) and CHANCE
    {"long_len": (2.0,)},  # the median greedy answer is not short
    {"sweep_greedy": (0.5, 0.62, 0.5, 0.5, 0.5, 1.0, 1.0)},  # the sweep learns x -> y below 1/3
    {"long_p_cots": (0.4,)},  # a run above 1/3 is no evidence that NTP fails below it
    {"sweep_greedy": (0.5,) * 5 + (1.0, 0.94)},  # one point above 1/3 short of SOLVED
], ids=["chain-below-known", "chain-within-noise", "greedy-above-chance", "long-answers",
        "sweep-below-learned", "run-above-threshold", "above-not-solved"])
def test_the_threshold_rule_withholds_full_credit_when_one_check_fails(changes):
    e = threshold(**{**LEARNED, **SOLVED_ABOVE, **PAPER_SCALE, **changes})
    assert judge_ntp_threshold(e).status in (PARTLY, NOT_REPRODUCED)


def test_the_threshold_rule_reads_noise_and_skips_the_points_nearest_one_third():
    base = {**LEARNED, **SOLVED_ABOVE, **PAPER_SCALE}
    # 0.57 on 200 prompts is within 3 SE (0.106) of 1/2: at chance; on 1,000 prompts it is not
    assert judge_ntp_threshold(threshold(**base, long_greedy=(0.57,), long_prompts=200)).status \
        is REPRODUCED
    assert judge_ntp_threshold(threshold(**base, long_greedy=(0.57,))).status is PARTLY
    # p_cot = 0.3 is within NEAR of 1/3: a finite run may land on either side there
    near = (0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0)
    assert judge_ntp_threshold(threshold(**{**base, "sweep_greedy": near})).status is REPRODUCED


def test_the_threshold_rule_says_its_scale_and_what_it_turned_on():
    o = judge_ntp_threshold(threshold(**LEARNED, **SOLVED_ABOVE))
    assert not o.scale.met and "256,000 NTP samples" in o.scale.ours and "10^7" in o.scale.paper
    assert o.value == pytest.approx(0.5) and o.target == 0.5  # the headline greedy against chance
    null = judge_ntp_threshold(threshold())
    assert null.value == pytest.approx(0.5) and null.target == KNOWN  # the failed control
    only_below = judge_ntp_threshold(threshold(**LEARNED))
    assert only_below.value == pytest.approx(0.5) and only_below.target == SOLVED


# --- calibration --------------------------------------------------------------------------------
def calibration(**changes) -> CalibrationEvidence:
    return dataclasses.replace(CalibrationEvidence.null(), **changes)


ALL_LEARNED = {"acc_long": (0.99,) * len(PS)}


@pytest.mark.parametrize("changes, status", [
    (ALL_LEARNED, REPRODUCED),
    ({"acc_long": (0.6, 0.7) + (0.99,) * 5}, PARTLY),  # calibrated where learned, not learned at 2
    ({}, NOT_REPRODUCED),  # the null build: on p_cot, but the long answers are wrong
    ({**ALL_LEARNED, "long_frac": (0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.3)}, NOT_REPRODUCED),
], ids=["reproduced", "partly", "null", "off"])
def test_the_calibration_rule_reaches_each_status(changes, status):
    o = judge_calibration(calibration(**changes))
    assert o.status is status, o.reason
    assert o.ours and o.thresholds["CALIBRATED"] == CALIBRATED


def test_calibration_is_judged_against_the_standard_error_of_the_prompts_sampled():
    # 0.1 off p_cot = 0.5: outside CALIBRATED and 3 SE (0.047) on 1,000 prompts ...
    off = (0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.6)
    assert judge_calibration(calibration(**ALL_LEARNED, long_frac=off)).status is NOT_REPRODUCED
    # ... within 3 SE (0.106) on 200
    assert judge_calibration(calibration(**ALL_LEARNED, long_frac=off, prompts=200)).status \
        is REPRODUCED
    # a point off p_cot where the chain is not learned does not count against it
    unlearned_off = calibration(long_frac=off, acc_long=(0.99,) * 6 + (0.5,))
    assert judge_calibration(unlearned_off).status is PARTLY


# --- the coin -------------------------------------------------------------------------------------
def coin(**changes) -> CoinEvidence:
    return dataclasses.replace(CoinEvidence.null(), **changes)


RUNS_LEARNED = {"acc_long": (0.99,) * 8}
SHIFTED = tuple(float(theory.continue_prob(p)) + 0.1 for p in CoinEvidence.null().p_cots)


@pytest.mark.parametrize("changes, status", [
    (RUNS_LEARNED, REPRODUCED),
    ({**RUNS_LEARNED, "coin": SHIFTED}, PARTLY),  # first token and y-blindness hold, the coin not
    ({**RUNS_LEARNED, "coin": SHIFTED, "y_same": SHIFTED,
      "first": tuple(0.2 for _ in range(8))}, NOT_REPRODUCED),  # none of the three parts
    ({}, NOT_REPRODUCED),  # the null build: on the closed form and blind to y, but unlearned
], ids=["reproduced", "partly", "none", "null"])
def test_the_coin_rule_reaches_each_status(changes, status):
    o = judge_coin(coin(**changes))
    assert o.status is status, o.reason
    assert o.ours and o.claim == "coin"


def test_the_coin_is_judged_only_on_runs_that_learned_the_chain():
    # the coin off the closed form at an unlearned run does not count; at a learned one it does
    acc = (0.99,) * 7 + (0.5,)
    shifted_last = CoinEvidence.null().coin[:7] + (SHIFTED[7],)
    assert judge_coin(coin(acc_long=acc, coin=shifted_last)).status is REPRODUCED
    assert judge_coin(coin(**RUNS_LEARNED, coin=shifted_last)).status is PARTLY
    # the coin depending on y at a learned run: partly
    y = CoinEvidence.null().y_same[:7] + (CoinEvidence.null().y_same[7] + 0.2,)
    assert judge_coin(coin(**RUNS_LEARNED, y_same=y)).status is PARTLY


# --- every rule -----------------------------------------------------------------------------------
RULES_HERE = [judge_ntp_threshold, judge_calibration, judge_coin]
EVIDENCE = {judge_ntp_threshold: NTPThresholdEvidence, judge_calibration: CalibrationEvidence,
            judge_coin: CoinEvidence}


@pytest.mark.parametrize("judge", RULES_HERE, ids=lambda f: f.__name__)
def test_a_null_build_earns_no_credit_and_its_outcome_is_json(judge):
    o = judge(EVIDENCE[judge].null())
    assert not o.status.credit, o.reason
    assert f"companion.experiments.ntp_threshold.{judge.__name__}" in RULES
    assert loads(dumps([o])) == [o]  # JSON primitives, no nan
    assert "nan" not in f"{o.key} {o.measured} {o.reason}"


# --- the numbers the text cites -------------------------------------------------------------------
def table(measured: dict[float, float], y_gap: float = 0.0, acc_long: float = 1.0) -> pd.DataFrame:
    ps = list(measured)
    t = pd.DataFrame({"run": "sweep (d=16)", "d": 16, "p_cot": ps, "seed": 0,
                      "continue": [measured[p] for p in ps],
                      "continue_y_same": [measured[p] + y_gap for p in ps],
                      "continue_y_differs": [measured[p] for p in ps],
                      "first_c1": theory.first_c1_prob(ps), "acc_long": acc_long,
                      "n_long": [round(1000 * p) for p in ps]})
    t["closed_form"] = theory.continue_prob(t.p_cot.values)
    t["first_closed_form"] = theory.first_c1_prob(t.p_cot.values)
    return t


@pytest.fixture
def result(monkeypatch):
    def with_table(t):
        monkeypatch.setattr(NTPThresholdResult, "coin", property(lambda self: t))
        return NTPThresholdResult(get_profile("tiny"), sweep=[], long_runs=[])
    return with_table


def test_the_coin_numbers_and_its_crossing_are_interpolated(result):
    res = result(table({0.1: 0.17, 0.3: 0.45, 0.4: 0.55, 0.5: 0.66}))
    n = res.coin_numbers()
    assert n["coin_gap"] == pytest.approx(abs(0.55 - float(theory.continue_prob(0.4))))
    assert n["coin_crossing"] == pytest.approx(0.35)  # halfway between 0.45 at 0.3 and 0.55 at 0.4
    e = res.coin_evidence()
    assert all(e.on_coin) and all(e.blind_to_y) and all(e.learned)
    assert e.crossing == pytest.approx(0.35)
    assert judge_coin(e).status is REPRODUCED


def test_a_coin_off_the_closed_form_or_using_y_is_in_the_evidence(result):
    # 0.30 is 0.12 above 2p/(1+p) at p = 0.1; 0.45 is within the tolerance at p = 0.3
    res = result(table({0.1: 0.30, 0.3: 0.45}, y_gap=2 * CALIBRATED))
    n, e = res.coin_numbers(), res.coin_evidence()
    assert e.on_coin == [False, True] and e.blind_to_y == [False, False]
    assert math.isnan(n["coin_crossing"]) and e.crossing is None  # it never reaches 1/2
    assert judge_coin(e).status is PARTLY  # only the first token holds
    unlearned = result(table({0.1: 0.30, 0.3: 0.45}, acc_long=0.5)).coin_evidence()
    assert not any(unlearned.learned) and judge_coin(unlearned).status is NOT_REPRODUCED


@pytest.mark.slow  # trains chapter 2's tiny runs when they are not cached
def test_the_coin_is_measured_on_every_run_of_the_chapter():
    ex = ntp_threshold.load(get_profile("tiny"))
    t = ex.coin
    assert len(t) == len(ex.sweep) + len(ex.long_runs)
    assert t["continue"].between(0, 1).all() and t.first_c1.between(0, 1).all()
    # the tiny build learns nothing: none of its outcomes earns credit
    assert [o.status.credit for o in ex.outcomes()] == [False, False, False]


def test_the_points_nearest_the_threshold_get_the_extra_seeds():
    sweep = get_profile("cpu").ntp_threshold.sweep
    assert sweep.near() == (0.3, 0.4)
    runs = [(c.task.p_cot, c.train.seed) for c in sweep.runs()]
    assert [s for p, s in runs if p == 0.3] == [0, 1, 2] and [s for p, s in runs if p == 0.1] == [0]
    assert len(runs) == len(set(runs))  # a seed given twice is one run
    below = dataclasses.replace(sweep, p_cots=(0.1, 0.2))
    assert below.near() == (0.2,)  # nothing above 1/3: one point


def test_every_near_seed_is_checked_against_the_closed_form(monkeypatch):
    rows = [{"p_cot": p, "decoding": "greedy", "accuracy": a}
            for p, a in ((0.3, 0.5), (0.3, 0.52), (0.3, 0.7), (0.4, 1.0), (0.4, 0.99), (0.1, 0.5))]
    monkeypatch.setattr(NTPThresholdResult, "final", property(lambda self: pd.DataFrame(rows)))
    res = NTPThresholdResult(get_profile("cpu"), sweep=[], long_runs=[])
    n = res.near_numbers()
    assert n["near_text"] == ("at p_cot = 0.3, 3 seed(s): greedy accuracy 0.500 to 0.700; at "
                              "p_cot = 0.4, 2 seed(s): greedy accuracy 0.990 to 1.000")
    assert n["near_verdict"] == "1 of 5 runs are off the closed form: 0.700 at p_cot = 0.3"
    assert res.seeds_text() == "1 per p_cot, 3 at 0.3 and 0.4"
