"""companion/experiments/ntp_threshold.py: the computed verdicts of chapter 2's coin section."""

import dataclasses

import pandas as pd
import pytest

from companion import theory
from companion.experiments import ntp_threshold
from companion.experiments.ntp_threshold import COIN_TOL, NTPThresholdResult
from companion.profiles import get_profile


def table(measured: dict[float, float], y_gap: float = 0.0) -> pd.DataFrame:
    ps = list(measured)
    t = pd.DataFrame({"run": "sweep (d=16)", "p_cot": ps, "seed": 0,
                      "continue": [measured[p] for p in ps],
                      "continue_y_same": [measured[p] + y_gap for p in ps],
                      "continue_y_differs": [measured[p] for p in ps],
                      "first_c1": theory.first_c1_prob(ps)})
    t["closed_form"] = theory.continue_prob(t.p_cot.values)
    t["first_closed_form"] = theory.first_c1_prob(t.p_cot.values)
    return t


@pytest.fixture
def result(monkeypatch):
    def with_table(t):
        monkeypatch.setattr(NTPThresholdResult, "coin", property(lambda self: t))
        return NTPThresholdResult(get_profile("tiny"), sweep=[], long_runs=[]).coin_numbers()
    return with_table


def test_a_coin_on_the_closed_form_is_called_so_and_its_crossing_is_interpolated(result):
    n = result(table({0.1: 0.17, 0.3: 0.45, 0.4: 0.55, 0.5: 0.66}))
    assert n["coin_verdict"].startswith("the measured coin is the closed form's")
    assert n["coin_gap"] == pytest.approx(abs(0.55 - float(theory.continue_prob(0.4))))
    assert n["coin_crossing"] == pytest.approx(0.35)  # halfway between 0.45 at 0.3 and 0.55 at 0.4
    assert "does not depend on the answer y" in n["coin_y_verdict"]


def test_a_coin_off_the_closed_form_or_using_y_is_reported(result):
    # 0.30 is 0.12 above 2p/(1+p) at p = 0.1; 0.45 is within the tolerance at p = 0.3
    n = result(table({0.1: 0.30, 0.3: 0.45}, y_gap=2 * COIN_TOL))
    assert n["coin_verdict"] == (f"the measured coin is more than {COIN_TOL} away from 2p/(1+p) at "
                                 "1 of 2 runs")
    assert "depends on the answer y" in n["coin_y_verdict"]
    assert n["coin_crossing"] != n["coin_crossing"]  # NaN: it never reaches 1/2
    assert n["coin_crossing_text"].startswith("nowhere in the sweep")


@pytest.mark.slow  # trains chapter 2's tiny runs
def test_the_coin_is_measured_on_every_run_of_the_chapter(monkeypatch):
    ex = ntp_threshold.load(get_profile("tiny"))
    t = ex.coin
    assert len(t) == len(ex.sweep) + len(ex.long_runs)
    assert t["continue"].between(0, 1).all() and t.first_c1.between(0, 1).all()


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
    assert n["near_verdict"] == ("1 of 5 runs are more than 0.05 away from the closed form: "
                                 "0.700 at p_cot = 0.3")
