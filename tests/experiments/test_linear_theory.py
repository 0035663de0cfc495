"""companion.experiments.linear_theory: chapter 5's results load under a shrunk tiny profile (and
the tiny profile itself) and give a value for every glue the chapter references, finite wherever
a number is expected."""

import dataclasses
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from companion.experiments import linear_theory
from companion.profiles import get_profile

CHAPTER = Path(__file__).resolve().parents[2] / "book" / "05_linear.py"
# the values the chapter formats itself (thousands separators, a list of p_cots, a sentence)
STRINGS = {"lin_profile", "lin_threshold_n", "lin_star_long", "lin_star_n_max", "lin_star_failed",
           "lin_star_at_dmax", "lin_table_at_dmax", "lin_rounds_growth", "lin_rounds_offset",
           "lin_doubling_verdict", "lin_slow_final_sampled_long", "lin_slow_final_greedy_accuracy",
           "lin_slow_verdict", "lin_slope_star_seeds", "lin_steep_vs_table"}


def _shrunk_tiny(seeds=(0,)):
    """The tiny profile at d = 4 with data sizes that make every search succeed in well under a
    second (sample_p_cot above the threshold, so NTP alone already reaches sample_target)."""
    tiny = get_profile("tiny")
    cfg = dataclasses.replace(tiny.linear, d=4, max_iter=5, n_eval=100, threshold_n=300,
                              threshold_p_cots=(0.2, 0.5), star_p_cots=(0.5, 0.25), star_long=100,
                              star_n_max=500, star_rounds=2, sample_ds=(3, 4), sample_n0=50,
                              sample_p_cot=0.5, sample_target=0.9, sample_rounds=2, table_ds=(3, 4),
                              kappa_ds=(3, 4), steep_kappa_ds=(3, 4), seeds=seeds)
    return dataclasses.replace(tiny, linear=cfg)


def test_the_three_experiments_are_runs_that_give_what_load_computes(isolated_cache):
    prof = _shrunk_tiny()
    runs = linear_theory.runs(prof)
    assert sorted(runs) == sorted(linear_theory.EXPERIMENTS) and not any(r.done() for r in runs.values())
    for r in runs.values():
        r()  # as a worker process of the book's runner calls it
    assert all(r.done() for r in runs.values())
    computed = {name: r() for name, r in runs.items()}  # now read from the cache
    ex = linear_theory.load(prof)
    pd.testing.assert_frame_equal(computed["threshold sweep"], ex.sweep)
    pd.testing.assert_frame_equal(computed["star rounds"], ex.star)
    pd.testing.assert_frame_equal(computed["samples vs d"], ex.samples)


@pytest.mark.parametrize("make_profile", [
    pytest.param(_shrunk_tiny, id="shrunk"),
    pytest.param(lambda: _shrunk_tiny(seeds=(0, 1)), id="shrunk-2-seeds"),
    pytest.param(lambda: get_profile("tiny"), id="tiny", marks=pytest.mark.slow),  # ~7 s
])
def test_numbers_cover_every_glue_of_the_chapter(make_profile, isolated_cache):
    prof = make_profile()
    ex = linear_theory.load(prof)
    assert ex.cfg == prof.linear and ex.profile == prof.name
    assert len(list(isolated_cache.glob("linear-*"))) == 3  # the three experiments were cached
    numbers = ex.numbers()
    referenced = set(re.findall(r"\{glue:text\}`(\w+)", CHAPTER.read_text()))
    assert set(numbers) == referenced
    for name, value in numbers.items():
        if name in STRINGS:
            assert isinstance(value, str) and value, name
        else:
            assert isinstance(value, (int, float)) and math.isfinite(value), (name, value)
    assert numbers["lin_d"] == prof.linear.d
    assert numbers["lin_threshold_n"] == f"{prof.linear.threshold_n:,}"
    assert numbers["lin_threshold_step"] == pytest.approx(0.3)
    # loading again reads the cache: the same numbers
    assert linear_theory.load(prof).numbers() == numbers


def test_the_slow_run_is_summarised_across_its_seeds(isolated_cache):
    prof = _shrunk_tiny(seeds=(0, 1))
    ex = linear_theory.load(prof)
    v = ex.numbers()
    slow = ex.star_summary[ex.star_summary.p_cot == v["lin_slow_p_cot"]]
    assert len(slow) == 2  # both seeds of one p_cot, not two p_cots
    assert v["lin_slope_star_seeds"].endswith("fitted to each of the 2 seeds alone")
    lo, hi = slow.final_greedy_accuracy.min(), slow.final_greedy_accuracy.max()
    assert v["lin_slow_final_greedy_accuracy"] in (f"{lo:.3f}", f"{lo:.3f}-{hi:.3f}")
    reached = int(slow.rounds_measured.notna().sum())
    assert v["lin_slow_verdict"].startswith(
        "the target 0.99 reached in every seed" if reached == 2 else
        "short of the target 0.99 in every seed" if reached == 0 else
        "the target 0.99 reached in 1 of 2 seeds")
