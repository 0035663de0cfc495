import torch

import re

from companion.config import ConfigError, TaskConfig
import pytest

from companion.task import EOS, PAD, SEP, ParityMixture, examples, render, rewards


def test_encodings_on_a_hand_worked_example():
    # d = 4, x = 1 0 1 1: running parities 1 1 0 1, y = 1
    task = ParityMixture(TaskConfig(d=4, p_cot=0.5))
    batch = task.encode(torch.tensor([[1, 0, 1, 1], [1, 0, 1, 1]]), torch.tensor([False, True]))
    assert batch.tokens.tolist() == [
        [1, 0, 1, 1, SEP, 1, EOS, PAD, PAD, PAD],
        [1, 0, 1, 1, SEP, 1, 1, 0, 1, EOS],
    ]
    assert batch.y.tolist() == [1, 1]
    assert render(batch.tokens[1]) == "1 0 1 1 = 1 1 0 1 <eos>"


def test_loss_mask_covers_exactly_the_response_and_eos():
    task = ParityMixture(TaskConfig(d=4, p_cot=0.5))
    batch = task.encode(torch.tensor([[0, 1, 1, 0], [0, 1, 1, 0]]), torch.tensor([False, True]))
    assert batch.loss_mask.int().tolist() == [
        [0, 0, 0, 0, 0, 1, 1, 0, 0, 0],
        [0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
    ]


def test_leap_chain_keeps_every_kth_running_parity_and_the_last():
    task = ParityMixture(TaskConfig(d=5, p_cot=1.0, leap=2))
    # x = 1 1 0 1 1: running parities 1 0 0 1 0 -> keep b_2, b_4, b_5 = 0 1 0
    batch = task.encode(torch.tensor([[1, 1, 0, 1, 1]]), torch.tensor([True]))
    assert render(batch.tokens[0]) == "1 1 0 1 1 = 0 1 0 <eos>"
    assert task.chain_len == 3



def test_block_chain_writes_each_blocks_parity_then_the_answer():
    task = ParityMixture(TaskConfig(d=5, p_cot=1.0, leap=2, chain="blocks"))
    bits = torch.tensor([[1, 0, 1, 1, 1], [1, 1, 0, 1, 0]])  # y = 0 and 1
    # blocks (x1 x2) (x3 x4) (x5), then y
    assert task.chain(bits).tolist() == [[1, 0, 1, 0], [0, 1, 0, 1]]
    assert task.chain_len == 4 and task.max_response == 5
    batch = task.encode(bits, torch.tensor([True, True]))
    parsed = task.parse(batch.tokens[:, task.prompt_len:])
    assert parsed.answer.tolist() == [0, 1] and parsed.length.tolist() == [4, 4]


@pytest.mark.parametrize("kw,message", [
    ({"chain": "pairs", "leap": 2}, "invalid chain='pairs': must be one of ['running', 'blocks']"),
    ({"chain": "blocks"}, "invalid chain='blocks': needs leap >= 2")])
def test_a_chain_the_task_does_not_know_is_refused(kw, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        TaskConfig(d=8, **kw)

def test_sampling_is_seeded_and_has_the_mixture_fraction():
    task = ParityMixture(TaskConfig(d=12, p_cot=0.3))
    a = task.sample(20_000, torch.Generator().manual_seed(1))
    b = task.sample(20_000, torch.Generator().manual_seed(1))
    assert torch.equal(a.tokens, b.tokens)
    # binomial sd = sqrt(.3*.7/20000) ~ 0.0032: 0.015 is ~5 sd
    assert abs(a.is_long.float().mean().item() - 0.3) < 0.015
    # every sequence's last response token before <eos> is the parity
    resp = a.tokens[:, task.prompt_len:]
    assert bool(task.is_correct(a.tokens[:, :12], resp).all())


def test_parse_and_correctness_on_malformed_responses():
    task = ParityMixture(TaskConfig(d=3))
    bits = torch.tensor([[1, 1, 1]] * 6)  # y = 1
    responses = torch.tensor([
        [1, EOS, PAD, PAD],   # short, correct
        [1, 0, 1, EOS],       # long, correct
        [0, EOS, PAD, PAD],   # short, wrong
        [1, 1, 1, 1],         # no <eos>: malformed
        [EOS, PAD, PAD, PAD], # empty answer: malformed
        [1, SEP, 1, EOS],     # a non-bit token inside: malformed
    ])
    parsed = task.parse(responses)
    assert parsed.length.tolist() == [1, 3, 1, -1, 0, 3]
    assert parsed.answer.tolist() == [1, 1, 0, -1, -1, -1]
    assert parsed.is_long.tolist() == [False, True, False, False, False, False]
    assert task.is_correct(bits, responses).tolist() == [True, True, False, False, False, False]


def test_examples_table_renders_both_encodings():
    df = examples(TaskConfig(d=6), n=3, seed=0)
    assert list(df.columns) == ["prompt x", "y", "short response", "long response (chain)"]
    for _, row in df.iterrows():
        assert row["short response"] == f"{row['y']} <eos>"
        assert row["long response (chain)"].split()[-2] == str(row["y"])


# --- the RL reward of the task -----------------------------------------------------------------

def test_rewards_end_to_end_and_malformed():
    task4 = ParityMixture(TaskConfig(d=4, p_cot=0.1))
    E, P = EOS, PAD
    bits = torch.tensor([[1, 0, 1, 1]] * 7)  # y = 1, chain 1 1 0 1
    responses = torch.tensor([
        [1, E, P, P, P],  # short, right
        [0, E, P, P, P],  # short, wrong
        [1, 1, 0, 1, E],  # full chain, right
        [0, 0, 1, 1, E],  # wrong chain, right last token
        [1, 1, 0, 1, 1],  # no <eos>: malformed
        [E, P, P, P, P],  # nothing before <eos>: malformed
        [SEP, 1, E, P, P],  # a non-bit token before <eos>: malformed
    ])
    assert rewards(task4, bits, responses).tolist() == [1, 0, 1, 1, 0, 0, 0]
    # "cot": a right answer reached by a wrong chain earns nothing
    assert rewards(task4, bits, responses, kind="cot").tolist() == [1, 0, 1, 0, 0, 0, 0]
    with pytest.raises(ValueError, match="invalid reward='partial'"):
        rewards(task4, bits, responses, kind="partial")


def test_length_penalty():
    task4 = ParityMixture(TaskConfig(d=4, p_cot=0.1))
    bits = torch.tensor([[1, 0, 1, 1]] * 3)
    responses = torch.tensor([[1, EOS, PAD, PAD, PAD], [1, 1, 0, 1, EOS], [1, 1, 0, 1, 1]])
    r = rewards(task4, bits, responses, length_penalty=0.4)
    # a malformed response (no <eos>) is charged every token it produced
    assert torch.allclose(r, torch.tensor([1 - 0.4 / 4, 1 - 0.4, 0 - 0.4 * 5 / 4]))
