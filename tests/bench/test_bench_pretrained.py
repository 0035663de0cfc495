"""companion/bench/pretrained.py: tier (b)'s time split, read from its cached runs."""

import json

import pytest

from companion import cache
from companion.bench.pretrained import pretrained_rows
from companion.experiments import llama
from companion.profiles import get_profile


def test_rows_split_a_cached_run_and_report_a_missing_one():
    cpu = get_profile("cpu")
    runs = llama.pretrained_runs(cpu)
    folder = cache.run_dir(runs["pretrained seed 0"].kind, runs["pretrained seed 0"].key)
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "timing.json").write_text(json.dumps(
        {"total_s": 100.0, "setup_s": 5.0, "sft_s": 30.0, "sft_evaluation_s": 10.0, "rl_s": 65.0,
         "rl_evaluation_s": 5.0, "rollout_s": 24.0}))
    rows = pretrained_rows("cpu")
    seed0 = {r["measure"]: r["value"] for r in rows if "seed 0" in r["benchmark"]}
    steps = cpu.llama.pretrained.rl.steps
    assert seed0["SFT training, s"] == 20.0
    assert seed0["evaluation (greedy + sampled, SFT and RL), s"] == 15.0
    assert seed0["GRPO updates (log-probs, backward, AdamW), s"] == 36.0
    assert seed0["one GRPO step: update, s"] == pytest.approx(36.0 / steps)
    assert seed0["rollout share of a GRPO step"] == pytest.approx(0.4)
    seed1 = [r["measure"] for r in rows if "seed 1" in r["benchmark"]]
    assert seed1 == ["not measured: not in the cache (`make pretrained`)"]
