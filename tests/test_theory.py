import numpy as np
import pytest

from companion import theory


def test_threshold_is_one_third():
    assert theory.continue_prob(1 / 3) == pytest.approx(0.5)
    assert theory.greedy_accuracy(0.33) == 0.5
    assert theory.greedy_accuracy(0.34) == 1.0
    assert theory.greedy_long(np.array([0.1, 0.5])).tolist() == [0.0, 1.0]


def test_sampled_accuracy_and_calibration():
    assert theory.sampled_accuracy(0.1) == pytest.approx(0.55)
    assert theory.sampled_long(0.25) == pytest.approx(0.25)


def test_star_recursion_doubles_the_odds():
    ps = theory.star_long_fractions(0.25, 4)
    assert [round(p, 3) for p in ps] == [0.25, 0.4, 0.571, 0.727, 0.842]
    odds = [p / (1 - p) for p in ps]
    assert all(b == pytest.approx(2 * a) for a, b in zip(odds, odds[1:]))


def test_rounds_to_threshold():
    assert theory.star_rounds_to_threshold(0.25) == 1
    assert theory.star_rounds_to_threshold(0.1) == 3  # 0.1, 0.18, 0.31, 0.47
    assert theory.star_rounds_to_threshold(0.5) == 0
    with pytest.raises(ValueError, match="p0"):
        theory.star_rounds_to_threshold(0.0)


def test_the_first_token_is_c1_with_probability_one_plus_p_over_two():
    assert theory.first_c1_prob(0.0) == 0.5 and theory.first_c1_prob(1.0) == 1.0
    # its product with the continuation probability is the long fraction p
    for p in (0.05, 0.25, 0.6):
        assert theory.first_c1_prob(p) * theory.continue_prob(p) == pytest.approx(p)
