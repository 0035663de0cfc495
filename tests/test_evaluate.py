import math

import pandas as pd
import pytest
import torch

from companion.config import EvalConfig, TaskConfig
from companion.evaluate import decode_metrics, evaluate, verdict
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


def test_verdict_lists_what_is_off():
    s = pd.Series([0.5, 0.9, 1.0], index=[0.1, 0.3, 0.5])
    assert verdict(s, [0.5, 0.5, 1.0], 0.05, skip=lambda p: abs(p - 1 / 3) < 0.05).startswith("all 2")
    msg = verdict(s, [0.6, 0.5, 1.0], 0.05)
    assert msg.startswith("2 of 3") and "0.1 (measured 0.500, predicted 0.600)" in msg
