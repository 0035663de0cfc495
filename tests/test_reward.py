"""companion/reward.py: the one reward rule of every task, on hand-written responses."""

import pytest
import torch

from companion.reward import outcome_reward

# four responses to prompts whose chain is [1, 2]: the exact chain, a wrong chain with the right
# answer, a short answer, a malformed one (no <eos>: length -1, all 3 tokens count)
RESP = torch.tensor([[1, 2, 9], [3, 2, 9], [2, 9, 0], [1, 2, 2]])
LENGTH = torch.tensor([2, 2, 1, -1])
SHORT = torch.tensor([False, False, True, False])
RIGHT = torch.tensor([True, True, True, False])
CHAIN = torch.tensor([[1, 2]] * 4)


def test_end_to_end_scores_the_answer_only():
    assert outcome_reward(RIGHT, RESP, LENGTH, SHORT, CHAIN).tolist() == [1, 1, 1, 0]


def test_cot_also_needs_the_exact_chain_of_a_long_answer():
    assert outcome_reward(RIGHT, RESP, LENGTH, SHORT, CHAIN, "cot").tolist() == [1, 0, 1, 0]


def test_the_length_penalty_is_per_chain_length_and_counts_a_malformed_response_whole():
    r = outcome_reward(RIGHT, RESP, LENGTH, SHORT, CHAIN, length_penalty=0.5)
    assert r.tolist() == pytest.approx([0.5, 0.5, 0.75, -0.75])


def test_an_unknown_reward_is_refused_by_name():
    with pytest.raises(ValueError, match="reward='process'"):
        outcome_reward(RIGHT, RESP, LENGTH, SHORT, CHAIN, "process")
