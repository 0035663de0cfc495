"""Where chapter 6's tier (b) spends its time (SmolLM2-135M, LoRA SFT then GRPO), read from the
``timing.json`` of each cached seed run that ``make pretrained`` trained: set-up, SFT,
evaluation, RL's rollouts (generation + reward) and RL's updates (log-probs, backward, AdamW).
Nothing is trained here: a seed not in the cache is reported as missing.
"""

from __future__ import annotations

import math

from .. import cache
from ..experiments import llama
from ..profiles import get_profile
from .book import timed
from .table import table_rows


def pretrained_rows(profile: str = "cpu") -> list[dict]:
    prof = get_profile(profile)
    b = prof.llama.pretrained
    rows = []
    for name, r in llama.pretrained_runs(prof).items():
        if not name.startswith("pretrained seed"):
            continue
        bench = (f"chapter 6 tier (b) under `{profile}`, {name} ({b.sft_steps} SFT steps, "
                 f"{b.rl.steps} GRPO steps of {b.rl.prompts_per_step} x G={b.rl.G})")
        folder = cache.lookup(r.kind, r.key)
        t = timed(folder) if folder is not None else {}
        if "rl_s" not in t:
            why = "not in the cache (`make pretrained`)" if folder is None else "no timing recorded"
            rows += table_rows(bench, {f"not measured: {why}": math.nan})
            continue
        evaluation = t.get("sft_evaluation_s", 0.0) + t["rl_evaluation_s"]
        update = t["rl_s"] - t["rl_evaluation_s"] - t["rollout_s"]
        rows += table_rows(bench, {
            "whole run, s": t["total_s"],
            "set-up (problems, model), s": t["setup_s"],
            "SFT training, s": t.get("sft_s", 0.0) - t.get("sft_evaluation_s", 0.0),
            "evaluation (greedy + sampled, SFT and RL), s": evaluation,
            "GRPO rollouts (generation + reward), s": t["rollout_s"],
            "GRPO updates (log-probs, backward, AdamW), s": update,
            "one GRPO step: rollout, s": t["rollout_s"] / b.rl.steps,
            "one GRPO step: update, s": update / b.rl.steps,
            "rollout share of a GRPO step": t["rollout_s"] / (t["rollout_s"] + update)})
    return rows
