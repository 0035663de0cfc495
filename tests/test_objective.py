"""companion/objective.py: the learning rules as pure functions, on hand-made tensors and a tiny
untrained model (no training here: every test runs in well under a second)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from companion.objective import (Rollout, advantages, kl_k3, ntp_loss, policy_loss, response_mask,
                                 rl_objective, star_keep, token_logprobs, warmup_cosine)
from companion.profiles import get_profile
from companion.task import EOS, PAD, SEP, ParityMixture, rewards
from companion.train import build_model

E, P = EOS, PAD


@pytest.fixture
def tiny_cfg():
    return get_profile("tiny").headline


def roll_of(task: ParityMixture, bits: torch.Tensor, responses: torch.Tensor) -> Rollout:
    tokens = torch.cat([task.prompts(bits), responses], 1)
    mask = torch.cat([torch.zeros(len(bits), task.prompt_len, dtype=torch.bool),
                      response_mask(responses, EOS)], 1)
    return Rollout(bits, responses, tokens, mask)


# --- next-token prediction -----------------------------------------------------------------------

def test_right_sized_loss_equals_the_padded_reference(tiny_cfg):
    task = ParityMixture(tiny_cfg.task)
    batch = task.sample(64, torch.Generator().manual_seed(0))
    model = build_model(tiny_cfg)
    logits = model(batch.tokens[:, :-1])
    nll = F.cross_entropy(logits.transpose(1, 2), batch.tokens[:, 1:], reduction="none")
    mask = batch.loss_mask[:, 1:].float()
    reference = (nll * mask).sum() / mask.sum()
    assert torch.allclose(ntp_loss(model, batch.tokens, batch.loss_mask), reference, atol=1e-6)
    assert torch.allclose(ntp_loss(model, batch.tokens, batch.loss_mask, reduction="sum"),
                          (nll * mask).sum(), rtol=1e-5)


def test_masked_positions_do_not_change_the_ntp_loss(tiny_cfg):
    task = ParityMixture(tiny_cfg.task)
    batch = task.sample(16, torch.Generator().manual_seed(0))
    model = build_model(tiny_cfg)
    other = batch.tokens.clone()
    other[other == PAD] = 0  # the padding after <eos> is never predicted nor attended to
    assert torch.equal(ntp_loss(model, batch.tokens, batch.loss_mask),
                       ntp_loss(model, other, batch.loss_mask))


def test_build_model_is_seeded_and_leaves_the_global_rng_alone(tiny_cfg):
    state = torch.get_rng_state()
    a, b = build_model(tiny_cfg).state_dict(), build_model(tiny_cfg).state_dict()
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_warmup_then_cosine_decay():
    assert warmup_cosine(0, 10, 100) == pytest.approx(0.1)
    assert warmup_cosine(9, 10, 100) == pytest.approx(1.0)
    assert warmup_cosine(100, 10, 100) == pytest.approx(0.1)
    assert warmup_cosine(55, 10, 100) == pytest.approx(0.55)


# --- masks, advantages, STaR ----------------------------------------------------------------------

def test_response_mask():
    resp = torch.tensor([[1, E, P, P], [0, 1, 1, 1], [E, P, P, P], [1, P, E, P]])
    assert response_mask(resp, EOS).tolist() == [
        [True, True, False, False], [True, True, True, True],
        [True, False, False, False], [True, True, True, False]]  # a sampled PAD is scored


def test_response_mask_uses_the_eos_it_is_given():
    # the Hugging Face path has its own <eos> id: the mask must not assume the parity vocabulary
    resp = torch.tensor([[7, 9, 3, 3], [9, 3, 3, 3]])
    assert response_mask(resp, 9).tolist() == [[True, True, False, False],
                                                [True, False, False, False]]


def test_grpo_advantages_group_normalised_and_zero_variance_is_zero():
    r = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    a = advantages(r, "grpo", G=4)
    s = math.sqrt(4 * 0.25 / 3)  # unbiased std of (1, 0, 1, 0)
    assert torch.allclose(a[:4], torch.tensor([0.5, -0.5, 0.5, -0.5]) / s, atol=1e-4)
    assert a[4:].eq(0).all()  # all-correct and all-wrong groups carry no signal


def test_reinforce_advantages_batch_mean_baseline():
    a = advantages(torch.tensor([1.0, 0.0, 0.0, 0.0]), "reinforce", G=2)
    assert torch.allclose(a, torch.tensor([0.75, -0.25, -0.25, -0.25]))


def test_advantages_refuse_an_unknown_algorithm():
    with pytest.raises(ValueError, match="invalid algorithm='star'"):
        advantages(torch.ones(4), "star", G=2)


def test_star_keeps_exactly_the_correct_samples(task4):
    bits = torch.tensor([[1, 0, 1, 1], [0, 0, 0, 1], [1, 1, 0, 0], [0, 1, 1, 1]])  # y = 1, 1, 0, 1
    responses = torch.tensor([[1, E, P, P, P], [0, E, P, P, P], [0, 1, 0, 0, E], [1, 0, E, P, P]])
    keep = star_keep(rewards(task4, bits, responses))
    assert keep.tolist() == [True, False, True, False]
    keep_pen = star_keep(rewards(task4, bits, responses, length_penalty=0.9))
    assert keep_pen.tolist() == keep.tolist()  # a penalty never drops a correct sample


def test_star_objective_is_ntp_loss_on_the_kept_samples(task4, gpt4):
    model = gpt4
    bits = torch.tensor([[1, 0, 1, 1], [0, 0, 0, 1], [1, 1, 0, 0]])
    responses = torch.tensor([[1, E, P, P, P], [0, E, P, P, P], [0, 1, 0, 0, E]])
    roll = roll_of(task4, bits, responses)
    r = rewards(task4, bits, responses)
    loss, stats = rl_objective(model, roll, r, "star", G=1)
    keep = torch.tensor([0, 2])
    assert stats["kept"] == 2
    assert torch.allclose(loss, ntp_loss(model, roll.tokens[keep], roll.loss_mask[keep]))
    none, _ = rl_objective(model, roll, torch.zeros(3), "star", G=1)
    assert none is None  # nothing correct: no update


# --- policy loss, masking, KL ---------------------------------------------------------------------

def test_policy_loss_gradient_sign():
    logp = torch.tensor([[-0.5, -1.0], [-0.2, -0.3]], requires_grad=True)
    mask = torch.ones(2, 2)
    policy_loss(logp, mask, torch.tensor([1.0, -1.0])).backward()
    # descending the loss raises log-probs of the positively rewarded sequence, lowers the other
    assert (logp.grad[0] < 0).all() and (logp.grad[1] > 0).all()


def test_policy_loss_sums_tokens_per_sequence():
    logp = torch.tensor([[-1.0, -1.0, -1.0], [-2.0, 0.0, 0.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    # not length-normalised: -(1 * -3 + 1 * -2) / 2
    assert policy_loss(logp, mask, torch.ones(2)).item() == pytest.approx(2.5)


def test_masked_tokens_do_not_change_the_policy_loss(task4, gpt4):
    model = gpt4
    bits = torch.tensor([[1, 0, 1, 1], [0, 1, 1, 0]])
    resp_a = torch.tensor([[1, E, P, P, P], [0, 0, 1, 0, E]])
    resp_b = torch.tensor([[1, E, 1, 0, SEP], [0, 0, 1, 0, E]])  # junk after <eos>
    adv = torch.tensor([0.7, -0.3])
    losses = []
    for resp in (resp_a, resp_b):
        roll = roll_of(task4, bits, resp)
        logp = token_logprobs(model, roll.tokens, roll.loss_mask)
        losses.append(policy_loss(logp, roll.loss_mask[:, 1:].float(), adv))
        assert logp[~roll.loss_mask[:, 1:]].eq(0).all()
    assert torch.allclose(losses[0], losses[1])
    # changing the prompt *does* change it (the mask is not hiding everything)
    roll = roll_of(task4, 1 - bits, resp_a)
    other = policy_loss(token_logprobs(model, roll.tokens, roll.loss_mask),
                        roll.loss_mask[:, 1:].float(), adv)
    assert not torch.allclose(losses[0], other)


def test_token_logprobs_match_a_plain_forward(task4, gpt4):
    model = gpt4
    bits = torch.tensor([[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 1, 1]])
    resp = torch.tensor([[1, E, P, P, P], [0, 1, 1, 0, E], [0, 1, E, P, P]])
    roll = roll_of(task4, bits, resp)
    tokens, mask = roll.tokens, roll.loss_mask
    full = torch.log_softmax(model(tokens[:, :-1]), -1).gather(2, tokens[:, 1:, None]).squeeze(2)
    assert torch.allclose(token_logprobs(model, tokens, mask), full * mask[:, 1:], atol=1e-5)


def test_kl_k3_nonnegative_and_zero_at_equality():
    g = torch.Generator().manual_seed(0)
    logp = -torch.rand(16, 7, generator=g) * 3
    ref = -torch.rand(16, 7, generator=g) * 3
    mask = (torch.rand(16, 7, generator=g) < 0.7).float()
    assert kl_k3(logp, ref, mask).item() > 0
    assert kl_k3(logp, logp, mask).item() == 0.0
    per_token = torch.exp(ref - logp) - (ref - logp) - 1
    assert (per_token >= 0).all()


def test_rl_objective_grpo_with_kl_to_itself_adds_nothing(task4, gpt4):
    model = gpt4
    bits = torch.tensor([[1, 0, 1, 1], [1, 0, 1, 1]])
    resp = torch.tensor([[1, E, P, P, P], [0, E, P, P, P]])
    roll = roll_of(task4, bits, resp)
    r = rewards(task4, roll.bits, roll.responses)
    plain, stats = rl_objective(model, roll, r, "grpo", G=2)
    assert "kl" not in stats and stats["adv_abs"] > 0
    with_kl, stats = rl_objective(model, roll, r, "grpo", G=2, kl_coef=0.5, ref=model)
    assert stats["kl"] == 0.0 and torch.allclose(plain, with_kl)
    with pytest.raises(ValueError, match="needs the reference model"):
        rl_objective(model, roll, r, "grpo", G=2, kl_coef=0.5)


# --- the sampling temperature ----------------------------------------------------------------------

def test_token_logprobs_at_temperature_are_the_sampling_distribution(task4, gpt4):
    """The first response token, sampled at T = 2 by the rollout code, has the frequencies that
    token_logprobs(..., temperature=2) gives it, and not those of T = 1 (the output layer is
    scaled up so that the two differ by far more than the sampling error)."""
    from companion.train.rl import rollout

    with torch.no_grad():  # an untrained model is near uniform at any temperature
        gpt4.head.weight.mul_(8.0)
    T, n = 2.0, 4000
    bits = torch.tensor([[1, 0, 1, 1]])
    roll = rollout(gpt4, task4, bits, n, T, torch.Generator().manual_seed(0))
    first = roll.responses[:, 0]
    one = roll_of(task4, bits, roll.responses[:1])
    pos = task4.prompt_len - 1  # the position that predicts the first response token
    logits = gpt4(one.tokens[:, : pos + 1])[0, -1].float()
    at_t, at_1 = torch.softmax(logits / T, -1), torch.softmax(logits, -1)
    freq = torch.bincount(first, minlength=len(logits)).float() / n
    assert (freq - at_t).abs().max() < 0.03  # ~4 standard errors at n = 4000
    assert (at_t - at_1).abs().max() > 0.1
    # token_logprobs scores the sampled token under the same distribution
    lp = token_logprobs(gpt4, roll.tokens[:8], roll.loss_mask[:8], temperature=T)[:, pos]
    assert torch.allclose(lp.exp(), at_t[first[:8]], atol=1e-5)


def test_temperature_one_is_bitwise_the_plain_log_softmax(task4, gpt4):
    bits = torch.tensor([[1, 0, 1, 1], [0, 1, 1, 0]])
    roll = roll_of(task4, bits, torch.tensor([[1, E, P, P, P], [0, 1, 1, 0, E]]))
    assert torch.equal(token_logprobs(gpt4, roll.tokens, roll.loss_mask),
                       token_logprobs(gpt4, roll.tokens, roll.loss_mask, temperature=1.0))


def test_policy_gradients_score_at_the_rollout_temperature_and_star_does_not(task4, gpt4):
    bits = torch.tensor([[1, 0, 1, 1], [1, 0, 1, 1]])
    roll = roll_of(task4, bits, torch.tensor([[1, E, P, P, P], [0, E, P, P, P]]))
    r = rewards(task4, roll.bits, roll.responses)
    for algorithm in ("grpo", "reinforce"):
        cold, _ = rl_objective(gpt4, roll, r, algorithm, G=2)
        hot, _ = rl_objective(gpt4, roll, r, algorithm, G=2, temperature=1.5)
        assert not torch.allclose(cold, hot)
    cold, _ = rl_objective(gpt4, roll, r, "star", G=2)
    hot, _ = rl_objective(gpt4, roll, r, "star", G=2, temperature=1.5)
    assert torch.equal(cold, hot)
