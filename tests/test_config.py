"""Bad input is refused before any compute, with a message naming parameter, value and range."""

import pytest

from companion.config import (ConfigError, EvalConfig, ModelConfig, NTPRunConfig, PretrainConfig,
                              TaskConfig, config_key)
from companion.profiles import PROFILES, get_profile, with_

BAD = [
    (lambda: TaskConfig(d=20, p_cot=1.5), "invalid p_cot=1.5: must be a number in [0.0, 1.0]."),
    (lambda: TaskConfig(d=20, p_cot=-0.1), "invalid p_cot=-0.1: must be a number in [0.0, 1.0]."),
    (lambda: TaskConfig(d=1), "invalid d=1: must be an integer in [2, 512]."),
    (lambda: TaskConfig(d=10, leap=11), "invalid leap=11: must be an integer in [1, 10]."),
    (lambda: ModelConfig(n_embd=63, n_head=4), "invalid n_embd=63: must be divisible by n_head=4."),
    (lambda: ModelConfig(n_layer=0), "invalid n_layer=0: must be an integer in [1, 128]."),
    (lambda: PretrainConfig(steps=0), "invalid steps=0: must be an integer >= 1."),
    (lambda: PretrainConfig(batch_size=-4), "invalid batch_size=-4: must be an integer >= 1."),
    (lambda: PretrainConfig(lr=0.0), "invalid lr=0.0: must be a number in (0.0, 10.0]."),
    (lambda: PretrainConfig(steps=10, checkpoint_steps=(20,)),
     "invalid checkpoint_steps[i]=20: must be an integer in [1, 10]."),
    (lambda: PretrainConfig(precision="16-mixed"),
     "invalid precision='16-mixed': must be one of ['32-true', 'bf16-mixed']."),
    (lambda: PretrainConfig(devices=0), "invalid devices=0: must be an integer in [1, 1024]."),
    (lambda: PretrainConfig(strategy="fsdp"), "invalid strategy='fsdp': must be one of ['auto', 'ddp']."),
    (lambda: PretrainConfig(devices=2), "invalid strategy='auto': must be 'ddp' when devices=2 > 1."),
    (lambda: PretrainConfig(batch_size=255, devices=2, strategy="ddp"),
     "invalid batch_size=255: must be divisible by devices=2 (it is the global batch, split evenly)."),
    (lambda: EvalConfig(n_prompts=0), "invalid n_prompts=0: must be an integer >= 1."),
    (lambda: NTPRunConfig(task=TaskConfig(d=30), model=ModelConfig(block_size=40)),
     "invalid block_size=40: must be >= 2*d+2 = 62 to hold prompt and long response for d=30."),
    (lambda: get_profile("huge"), "invalid profile='huge': must be one of ['cpu', 'paper', 'tiny']."),
]


@pytest.mark.parametrize("make,message", BAD, ids=[m for _, m in BAD])
def test_bad_input_is_refused_with_its_exact_message(make, message):
    with pytest.raises(ConfigError) as err:
        make()
    assert str(err.value) == message


def test_paper_profile_without_a_gpu_is_refused(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="needs a CUDA GPU"):
        get_profile("paper")


def test_config_key_changes_with_any_field_and_only_then():
    a = get_profile("tiny").headline
    assert config_key(a) == config_key(with_(a))
    assert config_key(a) != config_key(with_(a, p_cot=0.2))
    assert config_key(a) != config_key(with_(a, seed=1))


def test_profiles_are_valid_and_tiny_is_cpu_shrunk():
    for p in PROFILES.values():
        assert p.sweep.runs()
    tiny, cpu = PROFILES["tiny"].headline, PROFILES["cpu"].headline
    assert tiny.task.d >= 12  # below that NTP memorises every input
    assert tiny.train.steps < cpu.train.steps and tiny.model.n_embd <= cpu.model.n_embd
