"""The language-model tests share one tiny config and one tiny random Llama built from it."""

import random

import pytest

from companion import llm, mathdata
from companion.config import LLMConfig, LLMDataConfig, RLConfig

TINY = LLMConfig(hidden_size=32, n_layer=1, n_head=2, data=LLMDataConfig(d=6, n_eval=16),
                 sft_steps=6, sft_batch_size=8, sft_eval_every=3, sft_warmup_steps=1,
                 rl=RLConfig(G=4, prompts_per_step=2, steps=2, eval_every=1), max_new_tokens=10,
                 eval_batch_size=16)


@pytest.fixture(scope="session")
def tiny() -> LLMConfig:
    return TINY


@pytest.fixture(scope="module")
def policy(tiny):
    recs = mathdata.worded_parity(300, 6, random.Random(0))
    return llm.load_policy(tiny, [t for r in recs for t in (r.question, r.solution)], 64)
