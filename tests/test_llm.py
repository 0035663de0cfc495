"""The Hugging Face path: our log-probs and RL loss on a tiny random Llama, sampling, the runs."""

import dataclasses
import json
import random
import statistics

import pytest
import torch
import torch.nn.functional as F

from companion import llm, mathdata
from companion.config import ConfigError, LLMConfig, LLMDataConfig, RLConfig
from companion.rl import advantages, rl_objective, token_logprobs

TINY = LLMConfig(hidden_size=32, n_layer=1, n_head=2, data=LLMDataConfig(d=6, n_eval=16),
                 sft_steps=6, sft_batch_size=8, sft_eval_every=3, sft_warmup_steps=1,
                 rl=RLConfig(G=4, prompts_per_step=2, steps=2, eval_every=1), max_new_tokens=10,
                 eval_batch_size=16)


@pytest.fixture(scope="module")
def policy():
    recs = mathdata.worded_parity(300, 6, random.Random(0))
    return llm.load_policy(TINY, [t for r in recs for t in (r.question, r.solution)], 64)


def test_word_tokenizer_gives_one_token_per_word_and_round_trips(policy):
    tok = policy.tokenizer
    rec = mathdata.worded_parity(1, 6, random.Random(5))[0]
    ids = llm.encode(tok, rec.solution)
    assert len(ids) == len(rec.solution.split())
    assert tok.unk_token_id not in ids
    assert tok.decode(ids) == rec.solution


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


def test_lora_adapters_depend_on_the_seed_only():
    """Adapters are drawn from torch's global generator: whatever ran before must not matter."""
    cfg = dataclasses.replace(TINY, lora_r=2)
    texts = [t for r in mathdata.worded_parity(50, 6, random.Random(0)) for t in (r.question, r.solution)]

    def adapters(global_seed: int, seed: int = 0) -> list[torch.Tensor]:
        torch.manual_seed(global_seed)
        p = llm.load_policy(dataclasses.replace(cfg, seed=seed), texts, 64)
        return [v for k, v in p.hf.state_dict().items() if "lora_A" in k]

    a, b, c = adapters(1), adapters(2), adapters(1, seed=1)
    assert a and all(torch.equal(x, y) for x, y in zip(a, b))
    assert not all(torch.equal(x, y) for x, y in zip(a, c))


def test_reward_is_final_answer_correctness():
    r = llm.correctness(["odd even #### odd", "#### even", "####", "odd odd"], ["odd"] * 4)
    assert r.tolist() == [1.0, 0.0, 0.0, 0.0]


def test_run_records_every_phase_and_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_CACHE", "on")
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path))
    res = llm.run(TINY)
    h = res.history
    assert set(h.phase) == {"start", "sft", "rl"}
    assert sorted(h[h.phase == "sft"].step.unique()) == [3, 6]
    assert len(h[h.decoding == "rollout"]) == TINY.rl.steps
    assert set(res.samples.phase) == {"start", "sft", "rl"}
    assert res.at("rl")["step"] == TINY.rl.steps
    again = llm.run(TINY)
    assert again.folder == res.folder and again.history.equals(res.history)


def _save_tiny_checkpoint(folder, policy):
    policy.hf.save_pretrained(folder)
    policy.tokenizer.save_pretrained(folder)


def test_paper_tier_runs_from_a_local_checkpoint_directory_and_data_files(tmp_path, policy):
    """The `paper` path (a Llama directory + GSM8K-format files) on a tiny checkpoint saved here."""
    ckpt = tmp_path / "llama"
    _save_tiny_checkpoint(ckpt, policy)
    data = tmp_path / "train.jsonl"
    recs = mathdata.worded_parity(40, 6, random.Random(3))
    data.write_text("\n".join(json.dumps({"question": r.question, "answer": r.solution})
                              for r in recs))
    llm.require_paper_inputs(str(ckpt), [str(data)])
    cfg = dataclasses.replace(TINY, model=str(ckpt),
                              data=LLMDataConfig(source="files", files=(str(data),), n_eval=4))
    res = llm.run(cfg)
    assert set(res.history.phase) == {"start", "sft", "rl"}
    # the fingerprint follows the files' content, not their names
    before = llm.fingerprint(cfg)
    data.write_text(data.read_text() + "\n" + json.dumps({"question": "q", "answer": "#### 1"}))
    assert llm.fingerprint(cfg) != before


def test_paper_inputs_are_checked_before_any_compute(tmp_path):
    with pytest.raises(ConfigError, match="invalid llama_dir=None: must be a local Llama"):
        llm.require_paper_inputs(None, [])
    with pytest.raises(ConfigError, match="invalid model=.*nowhere.*config.json"):
        llm.require_paper_inputs(str(tmp_path / "nowhere"), [])
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ConfigError, match="invalid data_files=\\[\\]: must name GSM8K/MATH"):
        llm.require_paper_inputs(str(tmp_path), [])
    with pytest.raises(ConfigError, match="invalid data_files=.*x.jsonl.*existing"):
        llm.require_paper_inputs(str(tmp_path), [str(tmp_path / "x.jsonl")])


@pytest.mark.parametrize("kwargs, message", [
    ({"precision": "16"}, r"invalid precision='16': must be '32-true' or 'bf16-mixed'\."),
    ({"lora_r": -1}, r"invalid lora_r=-1: must be an integer in \[0, 1024\]\."),
    ({"hidden_size": 30, "n_head": 4}, r"invalid hidden_size=30: must be divisible by n_head=4\."),
    ({"rl": RLConfig(reward="cot")}, r"invalid rl.reward='cot': must be 'end_to_end'"),
])
def test_llm_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        dataclasses.replace(TINY, **kwargs)


def test_data_source_is_validated():
    with pytest.raises(ConfigError, match=r"invalid source='gsm': must be one of"):
        LLMDataConfig(source="gsm")
    with pytest.raises(ConfigError, match=r"invalid files=\(\): must name at least one"):
        LLMDataConfig(source="files")
