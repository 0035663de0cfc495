"""The language-model configs refuse bad values before any compute."""

import dataclasses

import pytest

from companion.config import ConfigError, LLMDataConfig, RLConfig


@pytest.mark.parametrize("kwargs, message", [
    ({"precision": "16"}, r"invalid precision='16': must be '32-true' or 'bf16-mixed'\."),
    ({"lora_r": -1}, r"invalid lora_r=-1: must be an integer in \[0, 1024\]\."),
    ({"hidden_size": 30, "n_head": 4}, r"invalid hidden_size=30: must be divisible by n_head=4\."),
    ({"rl": RLConfig(reward="cot")}, r"invalid rl.reward='cot': must be 'end_to_end'"),
    ({"accelerator": "cuda"}, r"invalid accelerator='cuda': must be 'auto' .* or 'gpu'"),
    ({"system_prompt": 3}, r"invalid system_prompt=3: must be None"),
    ({"lora_mlp": 1}, r"invalid lora_mlp=1: must be True or False"),
    ({"gradient_checkpointing": "yes"}, r"invalid gradient_checkpointing='yes': must be True or False"),
])
def test_llm_config_rejects_bad_values(tiny, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        dataclasses.replace(tiny, **kwargs)


def test_data_source_is_validated():
    with pytest.raises(ConfigError, match=r"invalid source='gsm': must be one of"):
        LLMDataConfig(source="gsm")
    with pytest.raises(ConfigError, match=r"invalid files=\(\): must name at least one"):
        LLMDataConfig(source="files")
    with pytest.raises(ConfigError, match=r"invalid additions=0: must be an integer in \[1, 32\]"):
        LLMDataConfig(source="running-totals", additions=0)
