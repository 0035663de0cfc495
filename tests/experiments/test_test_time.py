"""companion/experiments/test_time.py: the leap-2 coin's verdict against chapter 1's closed form,
for each kind of model a reader could meet (the coin itself is tested in tests/test_evaluate.py)."""

from types import SimpleNamespace

import pytest

from companion.experiments import test_time
from companion.profiles import get_profile


def leap_numbers(monkeypatch, first: float, cont: float, p: float = 0.25) -> dict:
    run = SimpleNamespace(config=SimpleNamespace(task=SimpleNamespace(p_cot=p)),
                          load_model=lambda: None, task=None)
    monkeypatch.setattr(test_time, "coin", lambda *a: {"first_c1": first, "continue": cont})
    res = test_time.TestTimeResult(get_profile("tiny"), *([None] * 4), leap2=run, full=run,
                                   penalised=None, chains=None)
    return res._leap_coin_numbers()


def test_a_leap2_model_on_the_closed_form_keeps_the_threshold(monkeypatch):
    n = leap_numbers(monkeypatch, first=0.625, cont=0.41)
    assert n["leap_coin_pred"] == pytest.approx(0.4) and n["leap_first_pred"] == pytest.approx(0.625)
    assert n["leap_coin_verdict"].startswith("the leap-2 model's coin is the closed form's and "
                                             "below 1/2, so greedy decoding answers short")


def test_a_leap2_model_that_never_learned_the_first_token_is_named(monkeypatch):
    n = leap_numbers(monkeypatch, first=0.5, cont=0.23)
    assert n["leap_coin_verdict"].startswith("the leap-2 model has not learned even the chain's "
                                             "first token")


def test_a_leap2_model_off_the_closed_form_says_how_far(monkeypatch):
    n = leap_numbers(monkeypatch, first=0.7, cont=0.7)
    assert n["leap_coin_verdict"] == ("the leap-2 model's coin is 0.300 away from the closed "
                                      "form: chapter 1's argument does not describe this model")
