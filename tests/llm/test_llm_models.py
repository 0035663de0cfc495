"""The policies: the word-level tokenizer of the tiny Llama, LoRA adapters' seeding."""

import dataclasses
import random

import torch

from companion import llm, mathdata


def test_word_tokenizer_gives_one_token_per_word_and_round_trips(policy):
    tok = policy.tokenizer
    rec = mathdata.worded_parity(1, 6, random.Random(5))[0]
    ids = llm.encode(tok, rec.solution)
    assert len(ids) == len(rec.solution.split())
    assert tok.unk_token_id not in ids
    assert tok.decode(ids) == rec.solution


def test_lora_adapters_depend_on_the_seed_only(tiny):
    """Adapters are drawn from torch's global generator: whatever ran before must not matter."""
    cfg = dataclasses.replace(tiny, lora_r=2)
    texts = [t for r in mathdata.worded_parity(50, 6, random.Random(0)) for t in (r.question, r.solution)]

    def adapters(global_seed: int, seed: int = 0) -> list[torch.Tensor]:
        torch.manual_seed(global_seed)
        p = llm.load_policy(dataclasses.replace(cfg, seed=seed), texts, 64)
        return [v for k, v in p.hf.state_dict().items() if "lora_A" in k]

    a, b, c = adapters(1), adapters(2), adapters(1, seed=1)
    assert a and all(torch.equal(x, y) for x, y in zip(a, b))
    assert not all(torch.equal(x, y) for x, y in zip(a, c))


def test_converted_models_live_in_the_models_dir_when_one_is_given(tmp_path, monkeypatch):
    from companion import cache
    from companion.llm import models

    monkeypatch.delenv("COMPANION_MODELS_DIR", raising=False)
    assert models.models_root() == cache.cache_root() / "models"
    monkeypatch.setenv("COMPANION_MODELS_DIR", str(tmp_path / "shared"))
    assert models.models_root() == tmp_path / "shared"
    assert models._smollm2_files()[1].parent == tmp_path / "shared"


def test_activation_checkpointing_changes_memory_not_the_gradient(tiny):
    """Recomputing activations in the backward pass gives bitwise the same gradient; the
    policy is in train mode either way (checkpointing is off in eval mode)."""
    from companion.objective import Rollout, rl_objective

    recs = mathdata.worded_parity(50, 6, random.Random(0))
    texts = [t for r in recs for t in (r.question, r.solution)]
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(3, 20, (8, 12), generator=g)
    mask = torch.zeros_like(tokens, dtype=torch.bool)
    mask[:, 6:] = True
    r = torch.tensor([1., 0., 1., 0., 0., 0., 1., 1.])
    grads = []
    for on in (False, True):
        p = llm.load_policy(dataclasses.replace(tiny, lora_r=2, gradient_checkpointing=on), texts, 64)
        assert p.training and p.hf.is_gradient_checkpointing == on
        loss, _ = rl_objective(p, Rollout(None, tokens[:, 6:], tokens, mask), r, "grpo", 4)
        grads.append(torch.autograd.grad(loss, [q for q in p.parameters() if q.requires_grad]))
    assert any(float(x.abs().max()) > 0 for x in grads[0])
    assert all(torch.equal(x, y) for x, y in zip(*grads))
