"""Token ids of word problems: SFT targets, repacked rollouts, our log-probs and GRPO loss against
independent references on a tiny random Llama, and the reward."""

import random
import statistics

import pytest
import torch
import torch.nn.functional as F

from companion import llm, mathdata
from companion.objective import advantages, rl_objective, token_logprobs


def test_sft_batch_scores_the_target_and_eos_only(policy):
    tok = policy.tokenizer
    ex = mathdata.build_mixture(mathdata.worded_parity(4, 6, random.Random(1)), 0.5, 0)
    tokens, mask = llm.sft_batch(tok, ex)
    for row, m, e in zip(tokens, mask, ex):
        target = llm.encode(tok, e.target) + [tok.eos_token_id]
        assert row[m].tolist() == target
        n_prompt = len(llm.encode(tok, e.question))
        assert row[:n_prompt].tolist() == llm.encode(tok, e.question) and not m[:n_prompt].any()


def _reference_logprobs(hf, tokens, mask):
    """log_softmax(HF logits).gather(next token), row by row, unpadded (the oracle)."""
    out = torch.zeros(mask.shape[0], mask.shape[1] - 1)
    for i in range(tokens.shape[0]):
        logits = hf(input_ids=tokens[i: i + 1]).logits[0].float()
        lp = F.log_softmax(logits[:-1], dim=-1).gather(1, tokens[i, 1:, None]).squeeze(1)
        out[i] = lp * mask[i, 1:]
    return out


def _rollout(policy, seed=0):
    tok = policy.tokenizer
    recs = mathdata.worded_parity(3, 6, random.Random(2))
    prompts = [llm.encode(tok, llm.prompt_text(tok, r.question)) for r in recs for _ in range(4)]
    prompts[1] = prompts[1][2:]  # unequal prompt lengths: exercises the left padding
    return recs, llm.sample(policy, prompts, 10, 1.0, seed), prompts


def test_rollouts_are_repacked_prompt_first_and_masked_up_to_eos(policy):
    tok = policy.tokenizer
    _, roll, prompts = _rollout(policy)
    eos = tok.eos_token_id
    for i, p in enumerate(prompts):
        assert roll.tokens[i, : len(p)].tolist() == p
        resp = roll.responses[i].tolist()
        n = resp.index(eos) + 1 if eos in resp else len(resp)
        assert roll.loss_mask[i].nonzero().squeeze(1).tolist() == list(range(len(p), len(p) + n))
        assert roll.tokens[i, len(p): len(p) + n].tolist() == resp[:n]
    again = llm.sample(policy, prompts, 10, 1.0, 0)
    assert torch.equal(again.tokens, roll.tokens)  # seeded


def test_greedy_left_padded_batch_equals_each_prompt_alone(policy):
    _, _, prompts = _rollout(policy)
    batch = llm.sample(policy, prompts[:5], 10, 0.0, 0)
    for i in range(5):
        alone = llm.sample(policy, prompts[i: i + 1], 10, 0.0, 0)
        assert batch.responses[i].tolist() == alone.responses[0].tolist()


def test_our_token_logprobs_equal_log_softmax_gather_of_hf_logits(policy):
    _, roll, _ = _rollout(policy)
    ours = token_logprobs(policy, roll.tokens, roll.loss_mask)
    ref = _reference_logprobs(policy.hf, roll.tokens, roll.loss_mask)
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)


def test_grpo_loss_and_gradient_match_an_independent_reference(policy):
    """The oracle is TRL's GRPO formula for one on-policy update without KL: advantages
    (r - group mean) / (group std + eps), surrogate -exp(logp - logp.detach()) * A per
    token; aggregated like ours (summed over a response, averaged over responses)."""
    _, roll, _ = _rollout(policy, seed=1)
    r = torch.tensor([1., 0., 0., 1., 0., 0., 0., 0., 1., 1., 1., 0.])
    G = 4
    loss, _ = rl_objective(policy, roll, r, "grpo", G)
    grads = torch.autograd.grad(loss, [p for p in policy.parameters()])

    ref_adv = []
    for g in range(3):
        grp = r[g * G: (g + 1) * G].tolist()
        mu, sd = statistics.mean(grp), statistics.stdev(grp)
        ref_adv += [(x - mu) / (sd + 1e-6) for x in grp]
    ref_adv = torch.tensor(ref_adv)
    torch.testing.assert_close(advantages(r, "grpo", G), ref_adv)
    logits = policy.hf(input_ids=roll.tokens).logits.float()
    logp = F.log_softmax(logits[:, :-1], -1).gather(2, roll.tokens[:, 1:, None]).squeeze(2)
    m = roll.loss_mask[:, 1:].float()
    # the value: -mean_i A_i * sum_t log pi; the gradient: TRL's ratio surrogate (equal on-policy)
    ref_value = -(ref_adv * (logp * m).sum(1)).mean()
    per_token = -torch.exp(logp - logp.detach()) * ref_adv[:, None]
    surrogate = (per_token * m).sum(1).mean()
    ref_grads = torch.autograd.grad(surrogate, [p for p in policy.parameters()])
    torch.testing.assert_close(loss, ref_value, atol=1e-5, rtol=1e-5)
    assert any(float(g.abs().max()) > 1e-4 for g in grads)  # a real gradient, not zeros
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_reward_is_final_answer_correctness():
    r = llm.correctness(["odd even #### odd", "#### even", "####", "odd odd"], ["odd"] * 4)
    assert r.tolist() == [1.0, 0.0, 0.0, 0.0]


def test_metrics_score_long_and_short_responses_apart():
    m = llm.metrics(["3 + 4 = 7.\n#### 7", "#### 5", "#### 6"], [8, 2, 2], ["7", "5", "9"])
    assert m["n"] == 3 and m["accuracy"] == pytest.approx(2 / 3)
    assert m["long_frac"] == pytest.approx(1 / 3) and m["mean_len"] == 4
    assert (m["long_accuracy"], m["short_accuracy"]) == (1.0, 0.5)
    assert llm.metrics(["#### 1"], [2], ["1"])["long_accuracy"] != llm.metrics(  # NaN: none long
        ["#### 1"], [2], ["1"])["long_accuracy"]
