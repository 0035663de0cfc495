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
