"""The SFT and RL streams of a run."""

import dataclasses
import itertools

from companion import llm, mathdata
from companion.config import LLMDataConfig


def test_mixture_batches_hold_exactly_round_p_cot_times_b_long_targets(tiny):
    cfg = dataclasses.replace(tiny, data=LLMDataConfig(d=6, p_cot=0.25, n_eval=4))
    for batch in itertools.islice(llm.MixtureStream(cfg, None, 8, seed=0), 3):
        assert len(batch) == 8
        assert sum(mathdata.is_long(e.target) for e in batch) == 2


def test_prompt_batches_draw_prompts_per_step_problems(tiny):
    probs = llm.problems(tiny)
    assert probs.train is None and len(probs.eval) == tiny.data.n_eval  # worded parity: fresh
    first = next(iter(llm.PromptBatches(probs.train, tiny)))
    assert len(first) == tiny.rl.prompts_per_step
    again = next(iter(llm.PromptBatches(probs.train, tiny)))
    assert [r.question for r in again] == [r.question for r in first]  # seeded
