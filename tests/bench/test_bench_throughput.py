"""The throughput benchmark's bookkeeping (its timings are measured by `python -m companion bench`,
not here)."""

from companion.bench import throughput
from companion.profiles import get_profile


def test_token_count_follows_right_sized_padding():
    cfg = get_profile("tiny").headline  # d=12: short rows compute 14 positions, long rows 25
    tokens, flops = throughput.step_tokens_and_flops(cfg, steps=2)
    n = 2 * cfg.train.batch_size
    assert 14 * n <= tokens <= 25 * n
    assert flops > 6 * 12 * cfg.model.n_layer * cfg.model.n_embd ** 2 * tokens * 0.99


def test_bare_loop_times_the_steps_after_its_warmup():
    secs = throughput.bare_loop(get_profile("tiny").headline, steps=2, warmup=1)
    assert len(secs) == 2 and all(s > 0 for s in secs)


def test_time_it_times_each_call():
    calls = []
    secs = throughput.time_it(lambda: calls.append(1), 3)
    assert len(secs) == 3 and len(calls) == 3 and all(s >= 0 for s in secs)
