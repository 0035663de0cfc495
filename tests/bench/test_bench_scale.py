"""The paper-cost extrapolation's arithmetic (companion/bench/scale.py)."""

import pytest

from companion.bench import scale
from companion.profiles import PROFILES


def test_step_model_fit_recovers_overhead_and_rate_and_refuses_flat_data():
    flops = [1e9, 2e9, 4e9]
    fit = scale.fit_step_model(flops, [0.1 + f / 5e9 for f in flops])
    assert abs(fit.overhead - 0.1) < 1e-9 and abs(fit.rate - 5e9) / 5e9 < 1e-9
    assert abs(fit(8e9) - 1.7) < 1e-9
    with pytest.raises(ValueError, match="do not grow with FLOPs"):
        scale.fit_step_model(flops, [1.0, 0.9, 0.8])
    with pytest.raises(ValueError, match="two or more different sizes"):
        scale.fit_step_model([1e9, 1e9], [1.0, 1.1])


def test_paper_cost_counts_each_distinct_run_once():
    prof = PROFILES["paper"]
    sweep = prof.ntp_threshold.sweep
    runs = scale.paper_runs()
    n_sweep = len(sweep.p_cots) * len(sweep.seeds)
    # the headline is one of the sweep's runs (same config): counted once
    assert sum(n for _, _, n in runs) == 1 + (n_sweep - 1) + len(prof.ntp_threshold.long_run_p_cots)
    cost = scale.paper_cost(scale.StepModel(overhead=1.0, rate=1e12))
    head = cost.iloc[0]
    assert head.steps == prof.headline.train.steps
    assert abs(head.cpu_hours - head.steps * (1.0 + head.flops_per_step / 1e12) / 3600) < 1e-9


def test_rl_paper_cost_multiplies_the_step_time_by_the_paper_rl_steps():
    rl = PROFILES["paper"].rl_after_ntp.rl
    got = scale.rl_paper_cost({"rollout_s": 1.0, "update_s": 2.0})
    assert got == {"steps": rl.steps, "s_per_step": 3.0, "cpu_hours": rl.steps * 3.0 / 3600}


def test_at_scale_sets_d_and_the_block_size_and_stays_on_one_float32_device():
    cfg = scale.at_scale(PROFILES["paper"].headline, scale.paper_model(), 12)
    assert cfg.task.d == 12 and cfg.model.block_size == 26
    assert cfg.train.precision == "32-true" and cfg.train.devices == 1
