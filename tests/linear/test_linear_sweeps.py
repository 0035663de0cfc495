"""companion.linear.sweeps: the sample-size search, the slope fits, the LinearConfig the
experiments are keyed by, and the cache."""

import pandas as pd
import pytest

from companion import linear
from companion.config import ConfigError, LinearConfig
from companion.linear.sweeps import _threshold_sweep
from companion.profiles import PROFILES


def test_min_samples_finds_smallest_grid_point():
    calls = []

    def attempt(n):
        calls.append(n)
        return 10 * n if n >= 100 else None

    # grid 10 * sqrt(2)^j: ..., 80 (j=6), 113 (j=7): the smallest success is 113
    assert linear.min_samples(attempt, 10) == (113, 1130)
    # from 1000 the grid is 1000 * sqrt(2)^j: ..., 88 (j=-7), 125 (j=-6): searching downwards
    assert linear.min_samples(attempt, 1000) == (125, 1250)
    assert linear.min_samples(lambda n: None, 10, max_doublings=3) is None


def test_fit_slopes_recovers_power_and_exponential():
    d = pd.Series([8, 16, 32, 64] + [8, 10, 12])
    df = pd.DataFrame({"learner": ["poly"] * 4 + ["exp"] * 3, "d": d,
                       "samples": [3 * v ** 1.5 for v in d[:4]] + [2.0 ** v for v in d[4:]]})
    s = linear.fit_slopes(df).set_index("learner")
    assert s.loc["poly", "loglog_slope"] == pytest.approx(1.5)
    assert s.loc["exp", "bits_per_d"] == pytest.approx(1.0)


def test_config_validation_and_profiles():
    with pytest.raises(ConfigError, match="d=2"):
        LinearConfig(d=2)
    with pytest.raises(ConfigError, match="star_p_cots"):
        LinearConfig(star_p_cots=(0.0,))
    with pytest.raises(ConfigError, match="seeds"):
        LinearConfig(seeds=())
    with pytest.raises(ConfigError, match=r"^invalid kappa=0\.0"):
        LinearConfig(kappa=0.0)
    with pytest.raises(ConfigError, match=r"^invalid kappa_ds\[i\]=2"):
        LinearConfig(kappa_ds=(8, 2))
    assert LinearConfig(kappa_ds=()).kappa_ds == ()  # the d^-kappa runs are optional
    for prof in PROFILES.values():
        assert isinstance(prof.linear, LinearConfig)
    assert PROFILES["tiny"].linear.threshold_n < PROFILES["cpu"].linear.threshold_n


def test_threshold_sweep_is_cached_and_reproducible(isolated_cache):
    cfg = LinearConfig(d=4, max_iter=5, n_eval=50, seeds=(0,), threshold_n=200, threshold_p_cots=(0.5,))
    first = linear.threshold_sweep(cfg)
    assert list(isolated_cache.glob("linear-threshold-*"))  # written to the cache
    again = _threshold_sweep(cfg)  # recomputed from scratch: the same numbers
    pd.testing.assert_frame_equal(first, again, check_exact=False, rtol=1e-6)
