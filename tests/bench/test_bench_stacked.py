"""companion/bench/stacked.py: k models' gradient steps stacked vs one after the other."""

import dataclasses
import math

import pytest

from companion.bench.stacked import stacked_rows, stacked_vs_sequential
from companion.config import with_
from companion.profiles import get_profile

CPU_SMALL = with_(get_profile("cpu").headline, d=8)
CPU_SMALL = dataclasses.replace(CPU_SMALL, train=dataclasses.replace(CPU_SMALL.train, batch_size=16))


def test_both_arms_compute_the_same_gradients_and_are_timed():
    s = stacked_vs_sequential(CPU_SMALL, k=2, repeats=1)
    assert s["max_grad_diff"] < 1e-5  # the same k models' gradients, whichever way
    assert s["sequential_s"] > 0 and s["stacked_s"] > 0
    assert math.isclose(s["speedup"], s["sequential_s"] / s["stacked_s"])


def test_a_tied_output_layer_is_refused():
    with pytest.raises(ValueError, match="invalid tie_weights=True"):
        stacked_vs_sequential(get_profile("tiny").headline, k=2, repeats=1)


def test_rows_name_the_model_and_every_measure(monkeypatch):
    from companion.bench import stacked

    monkeypatch.setattr(stacked, "stacked_vs_sequential", lambda cfg, k, repeats: {
        "sequential_s": 2.0, "stacked_s": 1.0, "speedup": 2.0, "max_grad_diff": 0.0})
    rows = stacked_rows(ks=(2,), repeats=1, profile="cpu")
    assert [r["measure"] for r in rows] == [
        "one after the other, s", "stacked, s", "speed-up of stacking (> 1: stacking is faster)",
        "largest gradient difference (0: bitwise equal)"]
    assert "2 x 64" in rows[0]["benchmark"] and "d=20" in rows[0]["benchmark"]
