"""companion/parallel.py and companion/plan.py: runs trained several at a time are the same
runs, each is trained once after what it needs, and each chapter's plan covers the chapter."""

import dataclasses

import pandas as pd
import pytest
import torch

from companion import cache, parallel, plan, run
from companion.config import TaskConfig
from companion.parallel import Run
from companion.pretrain import train_ntp
from companion.profiles import get_profile
from companion.rl import start_config, train_rl

TINY = get_profile("tiny")


def test_two_worker_processes_give_the_same_runs_as_one_process(tmp_path, monkeypatch):
    start = start_config(TINY)
    cfgs = [dataclasses.replace(TINY.rl, seed=s) for s in (0, 1)]
    runs = [plan.rl(c, start) for c in cfgs]
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path / "two"))
    assert parallel.compute(runs, workers=2) == 3  # the NTP start, then both RL runs
    assert parallel.compute(runs, workers=2) == 0  # all cached now
    two = [train_rl(c, train_ntp(start)) for c in cfgs]
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path / "one"))
    one = [train_rl(c, train_ntp(start)) for c in cfgs]
    for a, b in zip(one, two):
        assert a.folder != b.folder
        pd.testing.assert_frame_equal(a.history, b.history)
        for x, y in zip(a.load_model().state_dict().values(), b.load_model().state_dict().values()):
            assert torch.equal(x, y)
    # the two seeds are different runs (the comparison above can fail)
    assert not one[0].history.equals(one[1].history)


def _fail():
    raise ValueError("boom")


def key(d: int) -> TaskConfig:  # any config can key a run
    return TaskConfig(d=d)


def test_missing_runs_come_once_each_and_after_what_they_need():
    a = Run("x", key(10), print)
    b = Run("x", key(11), print, needs=(a,))
    c = Run("x", key(12), print, needs=(a, b))
    missing = parallel._missing([c, b, Run("x", key(10), len)])
    assert [r.key.d for r in missing] == [10, 11, 12]


def test_a_failing_run_raises_in_the_caller(tmp_path):
    runs = [Run("x", key(10), _fail), Run("x", key(11), _fail)]
    with pytest.raises(ValueError, match="boom"):
        parallel.compute(runs, workers=2)
    with pytest.raises(ValueError, match="boom"):
        parallel.compute(runs, workers=1)


def test_bad_workers_and_cache_off(monkeypatch):
    with pytest.raises(ValueError, match="workers=0"):
        parallel.compute([], workers=0)
    monkeypatch.setenv("COMPANION_CACHE", "off")  # results could not be handed back: do nothing
    assert parallel.compute([Run("x", key(10), _fail)], workers=2) == 0


@pytest.mark.parametrize("chapter", ["02_ntp", "03_rl", "04_test_time", "06_llama"])
def test_a_chapter_trains_nothing_after_its_prefetch(chapter, tmp_path):
    """The plan lists every run the chapter reads: executing it afterwards adds no cached run."""
    number = int(chapter[:2])
    assert plan.prefetch(TINY, number) > 0
    before = run.cached_runs()
    assert plan.prefetch(TINY, number) == 0
    ch = next(c for c in run.chapters() if c.name == chapter)
    run.execute(ch, "tiny", tmp_path / "out", progress=False)
    assert run.cached_runs() == before
    assert cache.cache_enabled()
