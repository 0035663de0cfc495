"""companion/bench/compiled.py: an NTP step eager vs torch.compile."""

import pytest

from companion.bench import compiled
from companion.bench.compiled import compiled_rows, compiled_vs_eager
from companion.config import with_
from companion.profiles import get_profile


def test_both_arms_are_timed_on_the_same_model_and_batch(monkeypatch):
    # torch.compile itself takes tens of seconds even for a tiny model (make bench measures it):
    # here the "compiled" arm is the model itself, so both arms must agree exactly
    monkeypatch.setattr(compiled.torch, "compile", lambda model: model)
    s = compiled_vs_eager(with_(get_profile("tiny").headline, d=4), repeats=2)
    assert s["max_grad_diff"] == 0.0
    assert s["eager_s"] > 0 and s["compiled_s"] > 0
    assert s["speedup"] == pytest.approx(s["eager_s"] / s["compiled_s"])


def test_rows_name_the_model_and_every_measure(monkeypatch):
    monkeypatch.setattr(compiled, "compiled_vs_eager", lambda cfg, repeats: {
        "eager_s": 2.0, "compiled_s": 1.0, "speedup": 2.0, "compile_s": 30.0, "max_grad_diff": 0.0})
    rows = compiled_rows(repeats=1, profile="cpu")
    assert [r["measure"] for r in rows] == [
        "eager, s", "compiled, s", "speed-up of compiling (> 1: compiled is faster)",
        "compiling, once per process and shape, s", "largest gradient difference (0: bitwise equal)"]
    assert "2 x 64" in rows[0]["benchmark"] and "d=20" in rows[0]["benchmark"]
