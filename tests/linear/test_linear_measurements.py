"""companion.linear.measurements: the summaries the chapter compares with the theorems."""

import math

import pandas as pd
import pytest

from companion import linear


def test_greedy_threshold_interpolates():
    sweep = pd.DataFrame({"p_cot": [0.3, 0.3, 0.35, 0.35, 0.4], "greedy_long_frac": [0.1, 0.3, 0.6, 0.8, 1.0]})
    assert linear.greedy_threshold(sweep) == pytest.approx(0.3 + 0.3 / 0.5 * 0.05)
    assert math.isnan(linear.greedy_threshold(sweep.assign(greedy_long_frac=0.0)))
