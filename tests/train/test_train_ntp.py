"""companion/train/ntp.py: next-token prediction runs - what they record, the cache around them,
continuing a finished run, and two processes asked for the same run at once."""

import dataclasses
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

import companion.train.ntp as ntp_mod
from companion import cache
from companion.config import ContinueNTPConfig, ConfigError
from companion.objective import ntp_loss
from companion.profiles import get_profile, with_
from companion.task import ParityMixture
from companion.train import build_model, ntp_run, results_frame, train_ntp


@pytest.fixture
def tiny_cfg():
    return get_profile("tiny").headline


def test_a_short_fit_lowers_the_loss_and_records_history(tiny_cfg, isolated_cache):
    cfg = with_(tiny_cfg, steps=40)
    task = ParityMixture(cfg.task)
    batch = task.sample(512, torch.Generator().manual_seed(99))
    before = ntp_loss(build_model(cfg), batch.tokens, batch.loss_mask).item()
    run = train_ntp(cfg)
    after = ntp_loss(run.load_model(), batch.tokens, batch.loss_mask).item()
    assert after < before - 0.3  # from ~log(5)=1.6 to the mixture's entropy floor region
    h = run.history
    assert sorted(h.step.unique()) == [0, 10, 20, 30, 40]
    assert set(h.decoding) == {"greedy", "sampled"}
    assert {"accuracy", "long_frac", "mean_len", "median_len", "acc_long", "acc_short"} <= set(h.columns)
    assert (h.samples == h.step * cfg.train.batch_size).all()
    assert run.checkpoint_steps == [10, 20]
    # what a finished run keeps: the weights, the history, its checkpoints, its config and
    # where its time went; no optimizer state to resume from, no logger output
    assert sorted(p.name for p in run.folder.iterdir()) == [
        "checkpoints", "config.json", "history.csv", "model.pt", "timing.json"]
    timing = json.loads((run.folder / "timing.json").read_text())
    assert 0 < timing["evaluation_s"] < timing["total_s"]
    pd.testing.assert_frame_equal(pd.read_csv(run.folder / "history.csv"), h)
    early = run.load_model(10)
    assert not torch.equal(early.wte.weight, run.load_model().wte.weight)
    with pytest.raises(ValueError, match="invalid step=15"):
        run.load_model(15)
    assert run.final("greedy")["step"] == 40
    assert list(isolated_cache.glob(".partial-*")) == []


def test_same_config_same_numbers(tiny_cfg, monkeypatch):
    monkeypatch.setenv("COMPANION_CACHE", "off")
    a = train_ntp(tiny_cfg)
    b = train_ntp(tiny_cfg)
    assert a.folder != b.folder  # nothing reused with the cache off
    pd.testing.assert_frame_equal(a.history, b.history)


def test_cache_hit_by_config_and_miss_on_change(tiny_cfg, monkeypatch, isolated_cache):
    run = train_ntp(tiny_cfg)
    assert run.folder.parent == isolated_cache
    calls = []

    def refuse(*a, **k):
        calls.append(a)
        raise AssertionError("retrained a cached run")

    monkeypatch.setattr(ntp_mod, "_fit_ntp", refuse)
    again = train_ntp(tiny_cfg)  # a hit: nothing is fitted
    assert again.folder == run.folder and not calls
    pd.testing.assert_frame_equal(again.history, run.history)
    changed = dataclasses.replace(tiny_cfg, eval=dataclasses.replace(tiny_cfg.eval, n_prompts=99))
    with pytest.raises(AssertionError, match="retrained"):
        train_ntp(changed)  # any changed field is a miss
    assert len(cache.list_runs()) == 1


def test_a_failed_run_leaves_nothing_in_the_cache(tiny_cfg, monkeypatch, isolated_cache):
    def boom(cfg, init, data_seed, folder, progress):
        (folder / "model.pt").write_text("half-written")
        raise KeyboardInterrupt

    monkeypatch.setattr(ntp_mod, "_fit_ntp", boom)
    with pytest.raises(KeyboardInterrupt):
        train_ntp(tiny_cfg)
    assert cache.lookup("ntp", tiny_cfg) is None
    # no run and no partial folder (nothing to resume from); at most the run's lock file
    assert [p.name for p in isolated_cache.iterdir() if p.name != ".locks"] == []


def test_results_frame_tags_runs_with_their_settings(tiny_cfg):
    runs = [train_ntp(with_(tiny_cfg, p_cot=p, steps=10)) for p in (0.0, 1.0)]
    final = results_frame(runs)
    assert sorted(final.p_cot.unique()) == [0.0, 1.0] and (final.step == 10).all()
    assert len(results_frame(runs, final_only=False)) == 2 * 2 * 2  # 2 runs x 2 evals x 2 decodings


def test_continued_ntp_starts_from_the_checkpoint_and_is_cached(tiny_cfg, isolated_cache):
    start = train_ntp(tiny_cfg)
    more = ContinueNTPConfig(start=tiny_cfg, start_step=tiny_cfg.train.steps, steps=4)
    base = train_ntp(more)
    assert base.history.step.max() == 4 and base.folder.name.startswith("ntp-continue-")
    assert base.config == more.run  # the continuation is read as a run of its own
    # step 0 of the continuation is the start's final model
    first = base.history[base.history.step == 0].reset_index(drop=True)
    last = start.history[start.history.step == 30].reset_index(drop=True)
    pd.testing.assert_series_equal(first.accuracy, last.accuracy)
    assert train_ntp(more).folder == base.folder  # cached
    early = train_ntp(dataclasses.replace(more, start_step=10))
    assert early.folder != base.folder
    with pytest.raises(ConfigError, match="invalid step=7"):
        ContinueNTPConfig(start=tiny_cfg, start_step=7, steps=4)
    # a Run names the continuation's cache entry and needs its start
    run = ntp_run(more)
    assert run.kind == "ntp-continue" and run.done() and run.needs == (ntp_run(tiny_cfg),)


# --- two processes, one run -------------------------------------------------------------------

def _train_in_child(cache_dir: str, out: str, markers: str, go: str) -> None:
    """A process asked for the tiny headline run. Training (if it gets to train) leaves a marker
    file and then waits for ``go``, so the test can start the other process meanwhile."""
    os.environ["COMPANION_CACHE_DIR"] = cache_dir
    os.environ["COMPANION_THREADS"] = "1"
    sys.stderr = open(out + ".err", "w", buffering=1)

    def on_train_start(self):
        Path(markers, f"trained-{os.getpid()}").write_text("")
        deadline = time.monotonic() + 60
        while not Path(go).exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    ntp_mod.NTPModule.on_train_start = on_train_start
    train_ntp(get_profile("tiny").headline).history.to_csv(out, index=False)


@pytest.mark.slow
@pytest.mark.serial
def test_two_processes_asked_for_the_same_run_train_it_once(tmp_path, isolated_cache):
    markers, go = tmp_path / "markers", tmp_path / "go"
    markers.mkdir()
    outs = [str(tmp_path / f"child{i}.csv") for i in (0, 1)]
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_train_in_child, args=(str(isolated_cache), out, str(markers), str(go)))
             for out in outs]

    def wait_for(what, cond, seconds=90):
        deadline = time.monotonic() + seconds
        while not cond():
            assert all(p.exitcode in (None, 0) for p in procs if p.pid), f"a child failed ({what})"
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    try:
        procs[0].start()
        assert wait_for("first trains", lambda: any(markers.iterdir())), "the first never trained"
        procs[1].start()  # while the first process is training the same config
        err1 = Path(outs[1] + ".err")
        # the second either waits for the first (the fix) or starts training it too (the bug)
        wait_for("second waits", lambda: (err1.exists() and "another process is computing"
                                          in err1.read_text()) or len(list(markers.iterdir())) > 1)
        go.write_text("")
        for p in procs:
            p.join(timeout=120)
            assert p.exitcode == 0, f"child exited with {p.exitcode}: {Path(outs[procs.index(p)] + '.err').read_text()[-2000:]}"
    finally:
        go.write_text("")
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join()
    assert len(list(markers.iterdir())) == 1, "the run was trained by both processes"
    assert "another process is computing" in Path(outs[1] + ".err").read_text()
    a, b = (pd.read_csv(o) for o in outs)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert list(isolated_cache.glob(".partial-*")) == [] and len(cache.list_runs()) == 1
