"""companion/parallel.py: runs trained several at a time are the same runs, each is trained once
after what it needs, a failure reaches the caller, Ctrl-C stops everything cleanly, and workers
do not outlive a parent killed outright."""

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import psutil
import pytest
import torch

import companion.train.ntp as ntp_mod
from companion import cache, parallel
from companion.config import TaskConfig
from companion.experiments.rl_after_ntp import start_config
from companion.parallel import Run
from companion.profiles import get_profile, with_
from companion.train import ntp_run, rl_run, rl_task, train_ntp, train_rl

TINY = get_profile("tiny")


def _fail():
    raise ValueError("boom")


def key(d: int) -> TaskConfig:  # any config can key a run
    return TaskConfig(d=d)


def test_missing_runs_come_once_each_and_after_what_they_need():
    a = Run("x", key(10), print)
    b = Run("x", key(11), print, needs=(a,))
    c = Run("x", key(12), print, needs=(a, b))
    missing = parallel.missing([c, b, Run("x", key(10), len)])
    assert [r.key.d for r in missing] == [10, 11, 12]


def test_a_failing_run_raises_in_the_caller_in_process():
    with pytest.raises(ValueError, match="boom"):
        parallel.compute([Run("x", key(10), _fail), Run("x", key(11), _fail)], workers=1)


@pytest.mark.slow
def test_a_failing_run_raises_in_the_caller_from_a_worker():
    with pytest.raises(ValueError, match="boom"):
        parallel.compute([Run("x", key(10), _fail), Run("x", key(11), _fail)], workers=2)


def test_bad_workers_and_cache_off(monkeypatch):
    with pytest.raises(ValueError, match="workers=0"):
        parallel.compute([], workers=0)
    monkeypatch.setenv("COMPANION_CACHE", "off")  # results could not be handed back: do nothing
    assert parallel.compute([Run("x", key(10), _fail)], workers=2) == 0


def test_fetch_computes_what_is_missing_then_reads_every_run(monkeypatch):
    cfgs = {"a": with_(TINY.headline, steps=10), "b": with_(TINY.headline, steps=10, seed=1)}
    first = parallel.fetch({k: ntp_run(c) for k, c in cfgs.items()})
    assert list(first) == ["a", "b"] and [r.config for r in first.values()] == list(cfgs.values())
    monkeypatch.setattr(ntp_mod, "_fit_ntp", lambda *a: pytest.fail("retrained a cached run"))
    again = parallel.fetch({k: ntp_run(c) for k, c in cfgs.items()}, workers=2)  # all cached
    assert {k: r.folder for k, r in again.items()} == {k: r.folder for k, r in first.items()}


def test_fetch_with_the_cache_off_computes_in_this_process(monkeypatch):
    monkeypatch.setenv("COMPANION_CACHE", "off")
    res = parallel.fetch({"a": ntp_run(with_(TINY.headline, steps=10))}, workers=2)
    assert res["a"].history.step.max() == 10 and cache.list_runs() == []


@pytest.mark.slow
def test_two_worker_processes_give_the_same_runs_as_one_process(tmp_path, monkeypatch):
    start = start_config(TINY)
    cfgs = [rl_run(dataclasses.replace(TINY.rl_after_ntp.rl, seed=s), start) for s in (0, 1)]
    runs = [rl_task(c) for c in cfgs]
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path / "two"))
    assert parallel.compute(runs, workers=2) == 3  # the NTP start, then both RL runs
    assert parallel.compute(runs, workers=2) == 0  # all cached now
    two = [train_rl(c) for c in cfgs]
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path / "one"))
    one = [train_rl(c) for c in cfgs]
    for a, b in zip(one, two):
        assert a.folder != b.folder
        pd.testing.assert_frame_equal(a.history, b.history)
        for x, y in zip(a.load_model().state_dict().values(), b.load_model().state_dict().values()):
            assert torch.equal(x, y)
    # the two seeds are different runs (the comparison above can fail)
    assert not one[0].history.equals(one[1].history)


# --- Ctrl-C during compute ---------------------------------------------------------------------

SHORT = TINY.headline  # 30 steps: done within a second of starting
LONG = with_(TINY.headline, steps=200, seed=1)  # ~7x longer, a resume checkpoint every 10 steps

COMPUTE = textwrap.dedent("""\
    from companion import parallel
    from companion.profiles import get_profile, with_
    from companion.train import ntp_run

    h = get_profile("tiny").headline
    parallel.compute([ntp_run(with_(h, steps=200, seed=1)), ntp_run(h)], workers=2)
    """)


def _group(pgid: int) -> list[psutil.Process]:
    out = []
    for p in psutil.process_iter():
        try:
            if os.getpgid(p.pid) == pgid and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except (ProcessLookupError, psutil.Error):
            pass
    return out


def _kill_all(proc: subprocess.Popen, pgid: int) -> None:
    """Whatever a failed test left running: the command's process group, then the command."""
    for p in _group(pgid):
        p.kill()
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.mark.slow
@pytest.mark.serial
def test_ctrl_c_during_compute_stops_every_worker_and_keeps_what_can_be_kept(monkeypatch,
                                                                            isolated_cache):
    env = {**os.environ, "COMPANION_THREADS": "1"}
    # its own process group, as a terminal's foreground job: Ctrl-C signals every process in it
    proc = subprocess.Popen([sys.executable, "-c", COMPUTE], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pgid = proc.pid
    long_ckpt = cache.partial_dir("ntp", LONG) / "resume" / "last.ckpt"
    try:
        deadline = time.monotonic() + 90
        # wait until the short run is finished and the long one has a resume checkpoint
        while not (cache.lookup("ntp", SHORT) and long_ckpt.is_file()):
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the runs never got going"
            time.sleep(0.05)
        assert cache.lookup("ntp", LONG) is None, "the long run finished before Ctrl-C: make it longer"
        os.killpg(pgid, signal.SIGINT)  # Ctrl-C
        _, err = proc.communicate(timeout=60)  # the command exits ...
        assert proc.returncode != 0
        deadline = time.monotonic() + 10
        while _group(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _group(pgid) == [], "worker processes were left running"  # ... and so do its workers
    finally:
        _kill_all(proc, pgid)
    # the finished run is in the cache; the interrupted one is not, but kept its checkpoint
    assert [r["folder"] for r in cache.list_runs()] == [cache.run_dir("ntp", SHORT).name], err[-3000:]
    assert long_ckpt.is_file()
    # the training worker stopped cleanly: an idle worker did not die of Ctrl-C and break the pool
    assert "call_queue.get" not in err, err[-3000:]  # a worker's traceback while waiting for work

    # rerun: the long run resumes from its checkpoint and ends as an unbroken run does
    steps = []
    step = ntp_mod.NTPModule.training_step
    with monkeypatch.context() as m:
        m.setattr(ntp_mod.NTPModule, "training_step",
                  lambda self, b, i: steps.append(self.global_step) or step(self, b, i))
        resumed = train_ntp(LONG)
    assert 0 < steps[0] < LONG.train.steps and steps[0] % LONG.train.eval_every == 0
    assert steps == list(range(steps[0], LONG.train.steps))
    with monkeypatch.context() as m:
        m.setenv("COMPANION_CACHE", "off")
        unbroken = train_ntp(LONG)
    pd.testing.assert_frame_equal(resumed.history, unbroken.history, check_exact=True)
    wa, wb = resumed.load_model().state_dict(), unbroken.load_model().state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


KILLED = textwrap.dedent("""\
    from companion import parallel
    from companion.profiles import get_profile, with_
    from companion.train import ntp_run

    h = get_profile("tiny").headline
    parallel.compute([ntp_run(with_(h, steps=2000, seed=s)) for s in (1, 2)], workers=2)
    """)


@pytest.mark.slow
@pytest.mark.serial
def test_workers_exit_when_their_parent_is_killed_outright(isolated_cache):
    """SIGKILL leaves the pool no chance to shut down: its workers must not train on (or wait for
    work) for nobody; what they had not finished is not published."""
    env = {**os.environ, "COMPANION_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", KILLED], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pgid = proc.pid
    runs = [with_(TINY.headline, steps=2000, seed=s) for s in (1, 2)]
    try:
        deadline = time.monotonic() + 90
        # both workers training: each run has its resume checkpoint
        while not all((cache.partial_dir("ntp", c) / "resume" / "last.ckpt").is_file() for c in runs):
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the runs never got going"
            time.sleep(0.05)
        workers = [p for p in _group(pgid) if p.pid != proc.pid]
        assert len(workers) >= 2
        proc.kill()  # the parent only, as a SIGKILL (or an OOM kill) would
        proc.wait(timeout=10)
        gone, alive = psutil.wait_procs(workers, timeout=20)
        assert alive == [], "worker processes outlived their parent"
    finally:
        _kill_all(proc, pgid)
    assert cache.list_runs() == []  # nothing half-trained was published
    assert all((cache.partial_dir("ntp", c) / "resume" / "last.ckpt").is_file() for c in runs)


def test_the_log_names_the_runs_it_was_given_by_name():
    heard = []
    named = {"first": Run("x", key(20), int), "second": Run("x", key(21), int, needs=())}
    assert parallel.compute(named, workers=1, log=heard.append) == 2
    assert [m.split(" done (")[0] for m in heard] == ["[1/2] first", "[2/2] second"]
    heard.clear()
    parallel.compute([Run("x", key(22), int)], workers=1, log=heard.append)
    assert heard[0].startswith("[1/1] a x run done (")
