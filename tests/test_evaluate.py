import math

import pandas as pd
import pytest
import torch

from companion.config import EvalConfig, TaskConfig
from companion.evaluate import decode_metrics, evaluate
from companion.model import GPT
from companion.profiles import get_profile
from companion.task import EOS, PAD, VOCAB_SIZE, ParityMixture


def test_decode_metrics_on_hand_made_responses():
    task = ParityMixture(TaskConfig(d=3))
    bits = torch.tensor([[1, 1, 1], [1, 1, 1], [0, 0, 1], [0, 1, 1]])  # y = 1, 1, 1, 0
    responses = torch.tensor([
        [1, EOS, PAD, PAD],  # short, right
        [1, 0, 1, EOS],      # long, right
        [0, EOS, PAD, PAD],  # short, wrong
        [0, 1, 1, 1],        # no <eos>: malformed, wrong, counted at full length
    ])
    m = decode_metrics(task, bits, responses)
    assert m["accuracy"] == 0.5
    assert m["long_frac"] == 0.25
    assert m["mean_len"] == pytest.approx((1 + 3 + 1 + 4) / 4)
    assert m["median_len"] == 1.0  # torch's lower median of [1, 1, 3, 4]
    assert m["acc_long"] == 1.0 and m["acc_short"] == 0.5
    assert m["malformed_frac"] == 0.25


def test_acc_long_is_nan_without_long_answers():
    task = ParityMixture(TaskConfig(d=3))
    m = decode_metrics(task, torch.tensor([[1, 0, 0]]), torch.tensor([[1, EOS, PAD, PAD]]))
    assert math.isnan(m["acc_long"]) and m["acc_short"] == 1.0


def test_evaluate_is_seeded_and_returns_one_row_per_decoding():
    torch.manual_seed(0)
    cfg = get_profile("tiny").headline
    model = GPT(cfg.model, VOCAB_SIZE)
    task = ParityMixture(cfg.task)
    a = evaluate(model, task, EvalConfig(n_prompts=50, seed=5))
    b = evaluate(model, task, EvalConfig(n_prompts=50, seed=5))
    assert [r["decoding"] for r in a] == ["greedy", "sampled"]
    pd.testing.assert_frame_equal(pd.DataFrame(a), pd.DataFrame(b))  # (NaN-aware)


class BayesModel(torch.nn.Module):
    """The model of chapter 1's closed form, written by hand: the data's next-token distribution
    for a model that knows everything but x -> y (``knows_y=False``), or the data's own
    (``knows_y=True``: after c_1 = y it may be short, otherwise it must be long)."""

    def __init__(self, task: ParityMixture, knows_y: bool):
        super().__init__()
        self.task, self.knows_y = task, knows_y
        self.w = torch.nn.Parameter(torch.zeros(()))  # a parameter, for the device

    def forward(self, tokens):
        p, n, P = self.task.cfg.p_cot, tokens.shape[0], self.task.prompt_len
        probs = torch.full((n, tokens.shape[1], VOCAB_SIZE), 1e-9)
        bits = tokens[:, : self.task.d]
        c1 = self.task.chain(bits)[:, 0]
        if tokens.shape[1] == P:  # the first response token: c_1 with probability (1+p)/2
            probs[torch.arange(n), -1, c1] = (1 + p) / 2
            probs[torch.arange(n), -1, 1 - c1] = (1 - p) / 2
        else:  # after c_1: continue or stop
            same = self.task.parity(bits) == c1
            cont = torch.full((n,), 2 * p / (1 + p))
            if self.knows_y:
                cont = torch.where(same, torch.full((n,), p), torch.ones(n))
            probs[torch.arange(n), -1, EOS] = 1 - cont
            probs[torch.arange(n), -1, 0] = cont
        return probs.clamp_min(1e-9).log()


@pytest.mark.parametrize("p", [0.1, 0.25, 0.5])
def test_the_measured_coin_of_the_closed_form_model_is_the_closed_form(p):
    from companion import theory
    from companion.evaluate import coin

    task = ParityMixture(TaskConfig(d=6, p_cot=p))
    m = coin(BayesModel(task, knows_y=False), task, 500, seed=0)
    assert m["continue"] == pytest.approx(float(theory.continue_prob(p)), abs=1e-6)
    assert m["first_c1"] == pytest.approx(float(theory.first_c1_prob(p)), abs=1e-6)
    assert m["continue_y_same"] == pytest.approx(m["continue_y_differs"], abs=1e-6)
    # a model that knows y continues when y differs from c_1 (it must), else with probability p
    m = coin(BayesModel(task, knows_y=True), task, 500, seed=0)
    assert m["continue_y_differs"] == pytest.approx(1.0, abs=1e-6)
    assert m["continue_y_same"] == pytest.approx(p, abs=1e-6)
