"""Reproducibility across processes and interruptions, and damaged cache entries.

* the same config gives the same history in two separate processes (CPU);
* a run killed (SIGKILL) or interrupted (Ctrl-C) mid-training resumes from its last
  Lightning checkpoint and ends bitwise identical to an unbroken run;
* a cached run with unreadable files fails with one paragraph naming its folder, and
  nothing in the cache is changed.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

import companion.train.ntp as ntp_mod
from companion import cache
from companion.train import NTPResult, TrainingInterrupted, train_ntp
from companion.profiles import get_profile

# a child process: train the tiny headline run; with STOP_AT, signal the parent once the
# step after STOP_AT begins (the checkpoint at STOP_AT is on disk by then) and wait to be killed
CHILD = textwrap.dedent("""\
    import os, sys, time
    from pathlib import Path
    from companion.train import ntp
    from companion.profiles import get_profile

    stop_at = int(os.environ.get("STOP_AT", "0"))
    step = ntp.NTPModule.training_step

    def training_step(self, batch, batch_idx):
        if stop_at and self.global_step == stop_at + 5:
            Path(sys.argv[1] + ".ready").write_text(str(self.global_step))
            time.sleep(600)
        return step(self, batch, batch_idx)

    ntp.NTPModule.training_step = training_step
    ntp.train_ntp(get_profile("tiny").headline).history.to_csv(sys.argv[1], index=False)
    """)


@pytest.fixture
def cfg():
    cfg = get_profile("tiny").headline
    # the checkpoint cadence the tests below rely on: eval (and resume checkpoint) every 10 of 30
    assert (cfg.train.steps, cfg.train.eval_every, cfg.train.checkpoint_steps) == (30, 10, (10, 20))
    return cfg


def child(out: Path, **env) -> subprocess.Popen:
    env = {**os.environ, "COMPANION_THREADS": "1", **env}
    return subprocess.Popen([sys.executable, "-c", CHILD, str(out)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def unbroken(cfg, monkeypatch) -> NTPResult:
    """The reference: the same config trained in one go in this process, outside the cache."""
    with monkeypatch.context() as m:
        m.setenv("COMPANION_CACHE", "off")
        return train_ntp(cfg)


def assert_same_run(a: NTPResult, b: NTPResult) -> None:
    pd.testing.assert_frame_equal(a.history, b.history, check_exact=True)
    files = [pd.read_csv(r.folder / "history.csv") for r in (a, b)]  # what a resumed run wrote
    pd.testing.assert_frame_equal(*files, check_exact=True)
    for step in (10, 20, None):
        wa, wb = a.load_model(step).state_dict(), b.load_model(step).state_dict()
        assert all(torch.equal(wa[k], wb[k]) for k in wa), f"weights differ at step {step}"


@pytest.mark.slow
@pytest.mark.serial
def test_same_config_same_history_in_two_processes(cfg, tmp_path, monkeypatch):
    proc = child(tmp_path / "child.csv", COMPANION_CACHE="off")
    here = unbroken(cfg, monkeypatch).history  # trained meanwhile, in this (pytest) process
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    there = pd.read_csv(tmp_path / "child.csv")
    assert len(there) == 8  # steps 0, 10, 20, 30 x greedy, sampled
    pd.testing.assert_frame_equal(here, there, check_exact=True)


@pytest.mark.slow
@pytest.mark.serial
def test_a_killed_run_resumes_from_its_last_checkpoint(cfg, tmp_path, monkeypatch, isolated_cache):
    out = tmp_path / "killed.csv"
    proc = child(out, STOP_AT="20")
    ready = Path(str(out) + ".ready")
    deadline = time.monotonic() + 120
    while not ready.exists():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "the child never reached step 25"
        time.sleep(0.1)
    partial = cache.partial_dir("ntp", cfg)
    assert (partial / "resume" / "last.ckpt").is_file()
    proc.send_signal(signal.SIGKILL)  # no clean-up of any kind
    proc.wait(timeout=30)
    assert cache.lookup("ntp", cfg) is None  # nothing half-finished was published

    steps = []
    step = ntp_mod.NTPModule.training_step
    monkeypatch.setattr(ntp_mod.NTPModule, "training_step",
                        lambda self, b, i: steps.append(self.global_step) or step(self, b, i))
    resumed = train_ntp(cfg)
    assert steps == list(range(20, 30))  # only the 10 steps after the checkpoint were retrained
    assert resumed.folder == cache.run_dir("ntp", cfg) and not partial.exists()
    assert not (resumed.folder / "resume").exists()
    assert_same_run(resumed, unbroken(cfg, monkeypatch))


def test_ctrl_c_stops_cleanly_and_the_rerun_resumes(cfg, monkeypatch, isolated_cache):
    # a terminal's Ctrl-C raises KeyboardInterrupt: make that so here, whatever an earlier test in
    # this process left behind (in the full `make test` session the signal did not arrive as KeyboardInterrupt)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _ctrl_c_stops_cleanly_and_the_rerun_resumes(cfg, monkeypatch)
    finally:
        signal.signal(signal.SIGINT, previous)


def _ctrl_c_stops_cleanly_and_the_rerun_resumes(cfg, monkeypatch):
    handler = signal.getsignal(signal.SIGINT)
    step = ntp_mod.NTPModule.training_step

    def interrupted(self, batch, batch_idx):
        if self.global_step == 15:
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, delivered to this process
            time.sleep(5)  # the KeyboardInterrupt arrives during the sleep
        return step(self, batch, batch_idx)

    with monkeypatch.context() as m:
        m.setattr(ntp_mod.NTPModule, "training_step", interrupted)
        with pytest.raises(TrainingInterrupted) as err:
            train_ntp(cfg)
    partial = cache.partial_dir("ntp", cfg)
    assert str(err.value) == (
        f"training interrupted at step 15 of 30; progress up to step 10 is kept in {partial}: "
        "rerun the same command (the same config) to resume from there.")
    assert isinstance(err.value, KeyboardInterrupt)  # `except Exception` does not swallow it
    assert signal.getsignal(signal.SIGINT) is handler  # Lightning had set SIGINT to "ignore"
    assert cache.lookup("ntp", cfg) is None and cache.list_runs() == []
    assert (partial / "resume" / "last.ckpt").is_file()

    assert_same_run(train_ntp(cfg), unbroken(cfg, monkeypatch))


def test_ctrl_c_before_the_first_checkpoint_leaves_nothing(cfg, monkeypatch, isolated_cache):
    def interrupted(self, batch, batch_idx):
        raise KeyboardInterrupt

    monkeypatch.setattr(ntp_mod.NTPModule, "training_step", interrupted)
    with pytest.raises(TrainingInterrupted, match="no checkpoint was reached yet: rerunning"):
        train_ntp(cfg)
    # no run, no partial folder; only the run's (released) lock file
    assert [p.name for p in isolated_cache.iterdir() if p.name != ".locks"] == []


def snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize("damage,detail", [
    (lambda f: (f / "model.pt").write_bytes((f / "model.pt").read_bytes()[:100]),
     "model.pt is missing or truncated"),
    (lambda f: (f / "history.csv").unlink(), "history.csv: [Errno 2] No such file or directory"),
    (lambda f: (f / "history.csv").write_text(""), "history.csv: No columns to parse from file"),
])
def test_a_damaged_cached_run_names_its_folder_and_changes_nothing(cfg, monkeypatch, isolated_cache,
                                                                  damage, detail):
    folder = train_ntp(cfg).folder
    damage(folder)
    before = snapshot(isolated_cache)
    monkeypatch.setattr(ntp_mod, "_fit_ntp", lambda *a: pytest.fail("retrained over a damaged run"))
    with pytest.raises(cache.CacheCorrupt) as err:
        train_ntp(cfg)
    msg = str(err.value)
    assert msg.startswith(f"the cached run in {folder} is unreadable ({detail}")
    assert msg.endswith(f"Nothing was changed: delete that folder (rm -r '{folder}') and rerun to "
                        "recompute it, or empty the whole cache with `python -m companion cache "
                        "clear`.")
    assert "\n" not in msg
    assert snapshot(isolated_cache) == before
