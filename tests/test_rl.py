"""RL maths on hand-made tensors, the Lightning plumbing on a tiny model, and one small
end-to-end check that RL lifts a below-threshold NTP model well above chance."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from companion.config import (ConfigError, EvalConfig, ModelConfig, NTPRunConfig, PretrainConfig,
                              RLConfig, TaskConfig)
from companion.model import GPT
from companion.pretrain import ntp_loss, train_ntp
from companion.profiles import get_profile
from companion.rl import (Rollout, advantages, continue_ntp, kl_k3, policy_loss, response_mask,
                          rewards, rl_objective, rollout, star_keep, token_logprobs, train_rl)
from companion.task import EOS, PAD, SEP, VOCAB_SIZE, ParityMixture

E, P = EOS, PAD


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def task4() -> ParityMixture:
    return ParityMixture(TaskConfig(d=4, p_cot=0.1))


def tiny_model(seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(ModelConfig(n_layer=1, n_head=2, n_embd=16, block_size=10), VOCAB_SIZE)


# --- rewards -----------------------------------------------------------------------------------

def test_rewards_end_to_end_and_malformed(task4):
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


def test_length_penalty(task4):
    bits = torch.tensor([[1, 0, 1, 1]] * 2)
    responses = torch.tensor([[1, E, P, P, P], [1, 1, 0, 1, E]])
    r = rewards(task4, bits, responses, length_penalty=0.4)
    assert torch.allclose(r, torch.tensor([1 - 0.4 / 4, 1 - 0.4]))


def test_response_mask():
    resp = torch.tensor([[1, E, P, P], [0, 1, 1, 1], [E, P, P, P], [1, P, E, P]])
    assert response_mask(resp).tolist() == [
        [True, True, False, False], [True, True, True, True],
        [True, False, False, False], [True, True, True, False]]  # a sampled PAD is scored


# --- advantages, STaR --------------------------------------------------------------------------

def test_grpo_advantages_group_normalised_and_zero_variance_is_zero():
    r = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    a = advantages(r, "grpo", G=4)
    s = math.sqrt(4 * 0.25 / 3)  # unbiased std of (1, 0, 1, 0)
    assert torch.allclose(a[:4], torch.tensor([0.5, -0.5, 0.5, -0.5]) / s, atol=1e-4)
    assert a[4:].eq(0).all()  # all-correct and all-wrong groups carry no signal


def test_reinforce_advantages_batch_mean_baseline():
    a = advantages(torch.tensor([1.0, 0.0, 0.0, 0.0]), "reinforce", G=2)
    assert torch.allclose(a, torch.tensor([0.75, -0.25, -0.25, -0.25]))


def test_star_keeps_exactly_the_correct_samples(task4):
    bits = torch.tensor([[1, 0, 1, 1], [0, 0, 0, 1], [1, 1, 0, 0], [0, 1, 1, 1]])  # y = 1, 1, 0, 1
    responses = torch.tensor([[1, E, P, P, P], [0, E, P, P, P], [0, 1, 0, 0, E], [1, 0, E, P, P]])
    keep = star_keep(rewards(task4, bits, responses))
    assert keep.tolist() == [True, False, True, False]
    keep_pen = star_keep(rewards(task4, bits, responses, length_penalty=0.9))
    assert keep_pen.tolist() == keep.tolist()  # a penalty never drops a correct sample


def test_star_objective_is_ntp_loss_on_the_kept_samples(task4):
    model = tiny_model()
    bits = torch.tensor([[1, 0, 1, 1], [0, 0, 0, 1], [1, 1, 0, 0]])
    responses = torch.tensor([[1, E, P, P, P], [0, E, P, P, P], [0, 1, 0, 0, E]])
    tokens = torch.cat([task4.prompts(bits), responses], 1)
    mask = torch.cat([torch.zeros(3, 5, dtype=torch.bool), response_mask(responses)], 1)
    roll = Rollout(bits, responses, tokens, mask)
    r = rewards(task4, bits, responses)
    loss, stats = rl_objective(model, roll, r, "star", G=1)
    keep = torch.tensor([0, 2])
    assert stats["kept"] == 2
    assert torch.allclose(loss, ntp_loss(model, tokens[keep], mask[keep]))
    none, _ = rl_objective(model, roll, torch.zeros(3), "star", G=1)
    assert none is None  # nothing correct: no update


# --- policy loss, masking, KL ------------------------------------------------------------------

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


def test_masked_tokens_do_not_change_the_loss(task4):
    model = tiny_model()
    bits = torch.tensor([[1, 0, 1, 1], [0, 1, 1, 0]])
    resp_a = torch.tensor([[1, E, P, P, P], [0, 0, 1, 0, E]])
    resp_b = torch.tensor([[1, E, 1, 0, SEP], [0, 0, 1, 0, E]])  # junk after <eos>
    adv = torch.tensor([0.7, -0.3])
    losses = []
    for resp in (resp_a, resp_b):
        tokens = torch.cat([task4.prompts(bits), resp], 1)
        mask = torch.cat([torch.zeros(2, 5, dtype=torch.bool), response_mask(resp)], 1)
        logp = token_logprobs(model, tokens, mask)
        losses.append(policy_loss(logp, mask[:, 1:].float(), adv))
        assert logp[~mask[:, 1:]].eq(0).all()
    assert torch.allclose(losses[0], losses[1])
    # changing the prompt *does* change it (the mask is not hiding everything)
    tokens = torch.cat([task4.prompts(1 - bits), resp_a], 1)
    mask = torch.cat([torch.zeros(2, 5, dtype=torch.bool), response_mask(resp_a)], 1)
    other = policy_loss(token_logprobs(model, tokens, mask), mask[:, 1:].float(), adv)
    assert not torch.allclose(losses[0], other)


def test_token_logprobs_match_a_plain_forward(task4):
    model = tiny_model()
    bits = torch.tensor([[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 1, 1]])
    resp = torch.tensor([[1, E, P, P, P], [0, 1, 1, 0, E], [0, 1, E, P, P]])
    tokens = torch.cat([task4.prompts(bits), resp], 1)
    mask = torch.cat([torch.zeros(3, 5, dtype=torch.bool), response_mask(resp)], 1)
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


# --- config ------------------------------------------------------------------------------------

def test_rl_config_validation():
    with pytest.raises(ConfigError, match=r"algorithm='ppo'.*grpo.*reinforce.*star"):
        RLConfig(algorithm="ppo")
    with pytest.raises(ConfigError, match="reward"):
        RLConfig(reward="partial")
    with pytest.raises(ConfigError, match="G"):
        RLConfig(G=1)
    with pytest.raises(ConfigError, match="round_steps"):
        RLConfig(algorithm="grpo", round_steps=5)
    RLConfig(algorithm="star", round_steps=5, G=1)
    with pytest.raises(ConfigError, match="temperature"):
        RLConfig(temperature=0.0)


# --- plumbing on a tiny run --------------------------------------------------------------------

def test_rollout_shapes_and_groups(task4):
    model = tiny_model()
    bits = torch.tensor([[1, 0, 1, 1], [0, 0, 0, 0]])
    roll = rollout(model, task4, bits, G=3, temperature=1.0, generator=torch.Generator().manual_seed(0))
    assert roll.bits.tolist() == [[1, 0, 1, 1]] * 3 + [[0, 0, 0, 0]] * 3
    assert roll.tokens.shape == (6, task4.seq_len)
    assert roll.loss_mask[:, : task4.prompt_len].sum() == 0


def test_train_rl_is_cached_and_deterministic():
    prof = get_profile("tiny")
    start = train_ntp(prof.headline)
    cfg = dataclasses.replace(prof.rl, steps=3, eval_every=2)
    a = train_rl(cfg, start)
    b = train_rl(cfg, start)
    assert a.folder == b.folder and a.history.equals(b.history)
    steps = a.curve("greedy").step.tolist()
    assert steps == [0, 2, 3]
    assert a.curve("rollout").responses.tolist() == [cfg.prompts_per_step * cfg.G * k for k in (1, 2, 3)]
    early = train_rl(cfg, start, step=start.checkpoint_steps[0])
    assert early.folder != a.folder
    with pytest.raises(ValueError, match="step"):
        train_rl(cfg, start, step=7)
    import shutil
    shutil.rmtree(a.folder)  # the same seed recomputes the same numbers
    c = train_rl(cfg, start)
    assert c.history.equals(a.history)
    base = continue_ntp(start, steps=4)
    assert base.step.max() == 4


# --- RL lifts a below-threshold NTP model ------------------------------------------------------

# d=12, p_cot=0.25 < 1/3 (well below the threshold: 2p/(1+p) = 0.4), 800 NTP steps of 256 at
# lr 2e-3, then 10 GRPO steps. Measured for seeds 0, 1, 2: NTP greedy 0.486 / 0.488 / 0.486 with
# greedy long fraction <= 0.004; sampled long answers right 0.993 / 0.993 / 1.000; after GRPO
# greedy 1.000 / 0.816 / 1.000 at mean length 12.0 / 7.7 / 12.0. The thresholds below sit under
# the worst seed; the test runs seed 0. About 50 s on one thread.
SMALL = NTPRunConfig(
    task=TaskConfig(d=12, p_cot=0.25),
    model=ModelConfig(n_layer=2, n_head=4, n_embd=64, block_size=26),
    train=PretrainConfig(steps=800, batch_size=256, lr=2e-3, warmup_steps=50, eval_every=800),
    eval=EvalConfig(n_prompts=500),
)
SMALL_RL = RLConfig(algorithm="grpo", G=8, prompts_per_step=32, lr=2e-4, steps=10, eval_every=10)


def test_rl_lifts_a_below_threshold_ntp_model_well_above_chance():
    start = train_ntp(SMALL)
    assert start.final("greedy")["accuracy"] < 0.6  # NTP alone: chance
    assert start.final("sampled")["acc_long"] > 0.9  # ... though it knows the chain
    res = train_rl(SMALL_RL, start)
    assert res.final("greedy")["accuracy"] >= 0.75
    assert res.final("greedy")["mean_len"] >= 6  # by going long (the chain has 12 tokens)
