"""Runs one after the other vs several processes at once (companion/bench/workers.py)."""

import os

import pytest

from companion.bench import workers


@pytest.mark.slow
def test_parallel_rows_time_both_ways_and_leave_the_environment_alone(isolated_cache):
    rows = workers.parallel_rows(steps=2, repeats=1)
    values = {r["measure"]: r["value"] for r in rows}
    seq = values["one after the other (1 process), s"]
    par = values["2 processes at once (process start-up included), s"]
    assert seq > 0 and par > 0 and values["speed-up (x)"] == pytest.approx(seq / par)
    assert os.environ["COMPANION_CACHE_DIR"] == str(isolated_cache)
    assert "COMPANION_CACHE" not in os.environ
