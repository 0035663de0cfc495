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
                                   blocks=run, penalised=None, chains=None)
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


def test_the_block_parity_reading_gets_its_own_coin_verdict(monkeypatch):
    n = leap_numbers(monkeypatch, first=0.625, cont=0.41)
    assert n["blocks_coin"] == 0.41 and n["blocks_first"] == 0.625
    assert n["blocks_coin_verdict"].startswith("the block-parity model's coin is the closed form's")


@pytest.mark.parametrize("acc,acc_long,start", [
    (0.95, 0.95, "the partial chain lets next-token prediction alone generalize below 1/3 (block"),
    (0.5, 0.6, "the chain itself is not learned at this budget (block-parity)"),
    (0.5, 0.95, "the chain is learned, yet greedy decoding still answers short (block-parity)")])
def test_a_partial_chain_run_is_judged_by_greedy_and_sampled_long_accuracy(acc, acc_long, start):
    assert test_time.partial_chain_verdict("block-parity", acc, acc_long).startswith(start)


def test_the_block_parity_run_is_the_leap2_run_but_for_its_chain():
    prof = get_profile("cpu")
    runs = test_time.runs(prof)
    leap2, blocks = runs["leap 2"].key, runs["leap 2 blocks"].key
    assert blocks.task.chain == "blocks" and leap2.task.chain == "running"
    assert blocks.task == leap2.task.__class__(**{**leap2.task.__dict__, "chain": "blocks"})
    assert (blocks.model, blocks.train, blocks.eval) == (leap2.model, leap2.train, leap2.eval)
