"""The cached entry points: a run's history and cache, the paper tier on a local checkpoint."""

import dataclasses
import json
import random

import pytest

from companion import llm, mathdata
from companion.config import ConfigError, LLMDataConfig


def test_run_records_every_phase_and_is_cached(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_CACHE", "on")
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path))
    res = llm.run(tiny)
    h = res.history
    assert set(h.phase) == {"start", "sft", "rl"}
    assert sorted(h[h.phase == "sft"].step.unique()) == [3, 6]
    rollouts = h[h.decoding == "rollout"]
    assert len(rollouts) == tiny.rl.steps and set(rollouts.phase) == {"rl"}
    # a rollout row's step: the updates the sampled policy had had (as on the parity path)
    assert rollouts.step.tolist() == list(range(tiny.rl.steps))
    assert rollouts.responses.tolist() == [(s + 1) * tiny.rl.G * tiny.rl.prompts_per_step
                                           for s in range(tiny.rl.steps)]
    assert set(res.samples.phase) == {"start", "sft", "rl"}
    assert res.at("rl")["step"] == tiny.rl.steps
    assert res.folder.name.startswith("llm-") and res.folder.parent == tmp_path
    t = json.loads((res.folder / "timing.json").read_text())  # where the time went (make bench)
    assert t["total_s"] >= t["setup_s"] + t["sft_s"] + t["rl_s"] - 1e-2
    assert 0 < t["rollout_s"] < t["rl_s"] and 0 < t["sft_evaluation_s"] < t["sft_s"]
    again = llm.run(tiny)
    assert again.folder == res.folder and again.history.equals(res.history)
    rows = llm.summary(res)
    assert list(rows.index) == ["before training", "after SFT", "after RL"]


def test_cache_keys_are_the_config_and_its_files(tiny):
    key = llm.run_key(tiny)
    assert type(key).__name__ == "LLMRunConfig" and key == llm.LLMRunConfig(tiny, ())
    assert [f.name for f in dataclasses.fields(key)] == ["llm", "files"]
    # how the untouched model answers does not depend on the training settings
    other = dataclasses.replace(tiny, sft_steps=99, rl=dataclasses.replace(tiny.rl, steps=7))
    assert llm.prompting_key(other) == llm.prompting_key(tiny) != llm.run_key(other)


def _save_tiny_checkpoint(folder, policy):
    policy.hf.save_pretrained(folder)
    policy.tokenizer.save_pretrained(folder)


def test_paper_tier_runs_from_a_local_checkpoint_directory_and_data_files(tiny, tmp_path, policy):
    """The `paper` path (a Llama directory + GSM8K-format files) on a tiny checkpoint saved here."""
    ckpt = tmp_path / "llama"
    _save_tiny_checkpoint(ckpt, policy)
    data = tmp_path / "train.jsonl"
    recs = mathdata.worded_parity(40, 6, random.Random(3))
    data.write_text("\n".join(json.dumps({"question": r.question, "answer": r.solution})
                              for r in recs))
    llm.require_paper_inputs(str(ckpt), [str(data)])
    cfg = dataclasses.replace(tiny, model=str(ckpt),
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


def test_prompting_needs_a_pretrained_model(tiny):
    with pytest.raises(ConfigError, match="invalid model='tiny': must be a pretrained model"):
        llm.prompting(tiny)
