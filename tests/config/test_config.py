"""Bad input is refused before any compute, with a message naming parameter, value and range:
the run configs, and the per-claim blocks of a profile (built by shrinking the real profiles)."""

import dataclasses as dc

import pytest

from companion.config import (ConfigError, ContinueNTPConfig, EvalConfig, ModelConfig, NTPRunConfig,
                              PretrainConfig, RLConfig, RLRunConfig, TaskConfig, config_key)
from companion.profiles import CPU, PAPER, PROFILES, TINY, get_profile, with_

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
        assert p.ntp_threshold.sweep.runs()
        assert [c.task.p_cot for c in p.ntp_threshold.long_runs(p.headline)] == list(
            p.ntp_threshold.long_run_p_cots)
    tiny, cpu = PROFILES["tiny"].headline, PROFILES["cpu"].headline
    assert tiny.task.d >= 12  # below that NTP memorises every input
    assert tiny.train.steps < cpu.train.steps and tiny.model.n_embd <= cpu.model.n_embd


def test_rl_config_validation():
    with pytest.raises(ConfigError, match=r"algorithm='ppo'.*grpo.*reinforce.*star"):
        RLConfig(algorithm="ppo")
    with pytest.raises(ConfigError, match="reward"):
        RLConfig(reward="partial")
    with pytest.raises(ConfigError, match="G"):
        RLConfig(G=1)
    with pytest.raises(ConfigError, match="round_steps"):
        RLConfig(algorithm="grpo", round_steps=5)
    RLConfig(algorithm="star", round_steps=5, G=1)
    with pytest.raises(ConfigError, match="temperature"):
        RLConfig(temperature=0.0)
    with pytest.raises(ConfigError, match=r"invalid length_penalty=1.0: must be a number in \[0.0, 0.999\]"):
        RLConfig(length_penalty=1.0)


def test_a_run_must_start_from_a_checkpoint_its_start_keeps():
    start = TINY.headline  # checkpoints at 10 and 20, final step 30
    assert RLRunConfig(rl=RLConfig(), start=start, start_step=10).start_step == 10
    for make in (lambda: RLRunConfig(rl=RLConfig(), start=start, start_step=15),
                 lambda: ContinueNTPConfig(start=start, start_step=15, steps=5)):
        with pytest.raises(ConfigError) as err:
            make()
        assert str(err.value) == "invalid step=15: must be one of the start run's checkpoints [10, 20, 30]."
    with pytest.raises(ConfigError, match="invalid steps=0"):
        ContinueNTPConfig(start=start, start_step=30, steps=0)


def test_a_continuation_runs_on_one_device_without_checkpoints():
    paper = dc.replace(PAPER.headline, train=dc.replace(PAPER.headline.train, devices=4,
                                                         strategy="ddp"))
    run = ContinueNTPConfig(start=paper, start_step=paper.train.steps, steps=100).run
    assert (run.train.steps, run.train.devices, run.train.strategy) == (100, 1, "auto")
    assert run.train.checkpoint_steps == () and run.train.eval_every == 100


# --- the per-claim blocks of a profile: the real profiles, one value made invalid --------------

BLOCKS = [
    (lambda: dc.replace(TINY.ntp_threshold, long_run_p_cots=()), "long_run_p_cots"),
    (lambda: dc.replace(CPU.ntp_threshold, long_run_p_cots=(0.25, 1.5)), "long_run_p_cots[i]"),
    (lambda: dc.replace(TINY.ntp_threshold, long_run_steps=0), "long_run_steps"),
    (lambda: dc.replace(TINY.rl_after_ntp, seeds=()), "seeds"),
    (lambda: dc.replace(TINY.rl_after_ntp, other_seeds=(-1,)), "other_seeds[i]"),
    (lambda: dc.replace(TINY.rl_after_ntp, ntp_seeds=()), "ntp_seeds"),
    (lambda: dc.replace(CPU.rl_after_ntp, ntp_seeds=(0, 1, 1)), "ntp_seeds"),
    (lambda: dc.replace(TINY.rl_after_ntp, start_steps=0), "start_steps"),
    (lambda: dc.replace(TINY.rl_after_ntp, early_steps=(30,)), "early_steps[i]"),
    (lambda: dc.replace(CPU.rl_after_ntp, early_steps=[250]), "early_steps"),
    (lambda: dc.replace(TINY.rl_after_ntp, baseline_factor=0), "baseline_factor"),
    (lambda: dc.replace(TINY.rl_after_ntp, rare_p_cot=0.0), "rare_p_cot"),
    (lambda: dc.replace(TINY.rl_after_ntp, rare_steps=0), "rare_steps"),
    (lambda: dc.replace(PAPER.rl_after_ntp, hot_temperature=0.0), "hot_temperature"),
    (lambda: dc.replace(TINY.test_time, star_rounds=TINY.rl_after_ntp.rl), "star_rounds"),
    (lambda: dc.replace(TINY.test_time, star_rounds=dc.replace(TINY.test_time.star_rounds,
                                                                round_steps=1)), "star_rounds"),
    (lambda: dc.replace(TINY.test_time, length_penalties=()), "length_penalties"),
    (lambda: dc.replace(CPU.test_time, length_penalties=(0.3, 1.0)), "length_penalties[i]"),
    (lambda: dc.replace(TINY.test_time, leap_d=1), "leap_d"),
    (lambda: dc.replace(TINY.test_time, leap_steps=0), "leap_steps"),
    (lambda: dc.replace(TINY.test_time, probe_prompts=0), "probe_prompts"),
    (lambda: dc.replace(TINY.test_time, probe_biases=()), "probe_biases"),
    (lambda: dc.replace(CPU.test_time, probe_biases=(0.1, 1.0)), "probe_biases[i]"),
    (lambda: dc.replace(CPU.ntp_threshold.sweep, near_seeds=(1, -2)), "near_seeds[i]"),
    (lambda: dc.replace(TINY.llama, worded=TINY.llama.pretrained), "worded"),
    (lambda: dc.replace(TINY.llama, pretrained=TINY.llama.worded), "pretrained"),
    (lambda: dc.replace(PAPER.llama.paper, p_cot=2.0), "p_cot"),
    (lambda: dc.replace(PAPER.llama.paper, sft_eval_every=0), "sft_eval_every"),
    (lambda: dc.replace(PAPER.llama.paper, precision="fp8"), "precision"),
    (lambda: dc.replace(TINY, workers=0), "workers"),
    # the blocks must fit together: RL's early starts are checkpoints the start run keeps
    (lambda: dc.replace(TINY, rl_after_ntp=dc.replace(TINY.rl_after_ntp, early_steps=(5,))),
     "rl_after_ntp.early_steps"),
    (lambda: dc.replace(CPU, rl_after_ntp=dc.replace(CPU.rl_after_ntp, start_steps=200)),
     "early_steps[i]"),
    # ... and the NTP seeds start with the headline run's, which every other result starts from
    (lambda: dc.replace(CPU, rl_after_ntp=dc.replace(CPU.rl_after_ntp, ntp_seeds=(1, 2))),
     "rl_after_ntp.ntp_seeds"),
]


@pytest.mark.parametrize("make,param", BLOCKS, ids=[f"{i}-{p}" for i, (_, p) in enumerate(BLOCKS)])
def test_an_invalid_block_value_is_refused_naming_its_parameter(make, param):
    with pytest.raises(ConfigError) as err:
        make()
    assert str(err.value).startswith(f"invalid {param}="), str(err.value)


def test_the_real_blocks_rebuild_unchanged():
    for prof in PROFILES.values():
        for name in ("ntp_threshold", "rl_after_ntp", "test_time", "llama"):
            block = getattr(prof, name)
            assert dc.replace(block) == block
        assert dc.replace(prof) == prof
