"""Training on word problems: the shared RLModule with the word-problem environment, STaR rounds."""

import dataclasses

import torch
from torch.utils.data import DataLoader

from companion import llm
from companion.config import RLConfig
from companion.train.rl import RLModule
from companion.train.shell import trainer

STAR = RLConfig(algorithm="star", round_steps=2, G=4, prompts_per_step=2, steps=4, eval_every=2,
                lr=1e-2)


def _params(model) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def _same(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b))


class Recording:
    """The word-problem environment, recording which model sampled each step (and its weights);
    every response is rewarded, so that every STaR step updates the policy."""

    def __init__(self, env: llm.TextRL, module_ref: dict):
        self.env, self.module_ref, self.calls = env, module_ref, []

    def rollout(self, sampler, records, step, generator):
        roll, r, stats = self.env.rollout(sampler, records, step, generator)
        policy = self.module_ref["module"].policy
        self.calls.append({"step": step, "sampler": sampler, "policy": policy,
                           "sampler_params": _params(sampler), "policy_params": _params(policy)})
        return roll, torch.ones_like(r), stats


def test_star_rounds_sample_from_the_frozen_copy_refreshed_every_round(tiny, policy):
    cfg = dataclasses.replace(tiny, rl=STAR)
    ref: dict = {}
    env = Recording(llm.TextRL(cfg), ref)
    module = ref["module"] = RLModule(policy, env, cfg.rl)
    frozen = module._frozen["sampler"]
    trainer(STAR.steps, []).fit(module, DataLoader(llm.PromptBatches(None, cfg), batch_size=None,
                                                   num_workers=0))
    assert [c["step"] for c in env.calls] == [0, 1, 2, 3]
    for c in env.calls:
        assert c["sampler"] is frozen and c["sampler"] is not c["policy"]
        assert not any(p.requires_grad for p in c["sampler"].parameters())
    first, second, third, fourth = env.calls
    # a round starts from the policy, then its sampler stays frozen while the policy learns
    assert _same(first["sampler_params"], first["policy_params"])
    assert _same(second["sampler_params"], first["sampler_params"])
    assert not _same(second["policy_params"], first["policy_params"])
    assert _same(third["sampler_params"], third["policy_params"])  # the next round
    assert not _same(third["sampler_params"], first["sampler_params"])
    assert _same(fourth["sampler_params"], third["sampler_params"])
    assert [row["step"] for row in module.rows] == [0, 1, 2, 3]
    assert all(row["kept"] == STAR.G * STAR.prompts_per_step for row in module.rows)


def test_star_rounds_run_on_the_word_problem_path(tiny):
    cfg = dataclasses.replace(tiny, rl=dataclasses.replace(STAR, lr=1e-3))
    res = llm.run(cfg)
    h = res.history
    assert set(h.phase) == {"start", "sft", "rl"}
    roll = h[h.decoding == "rollout"]
    assert set(roll.phase) == {"rl"} and "kept" in roll
    assert len(roll) == STAR.steps and roll.step.tolist() == list(range(STAR.steps))
    assert sorted(res.curve("rl").step) == [2, 4]
