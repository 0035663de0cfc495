"""Scale-out with Lightning: a real 2-process DDP fit (gloo, CPU) matches the 1-process fit.

The two processes are launched the way a multi-GPU node launches them, with torchrun
(``python -m torch.distributed.run``): each runs this file as a script (see ``__main__``
at the bottom), which calls :func:`companion.train.train_ntp` with ``devices=2,
strategy="ddp"``. Both see half of every global batch (``TaskStream`` shards it), DDP
averages their gradients, and the loss is normalised by the global target count, so the
result must equal a 1-process run of the same global batch up to float rounding.
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import companion.train.ntp as ntp_mod
from companion import cache
from companion.config import ConfigError, NTPRunConfig
from companion.profiles import get_profile
from companion.task import ParityMixture
from companion.train import NTPResult, build_model, train_ntp
from companion.train.data import TaskStream

HERE = Path(__file__).resolve()


def small_config(devices: int = 1, precision: str = "32-true") -> NTPRunConfig:
    """The tiny profile's headline run, shrunk further (the real default: it cannot drift)."""
    base = get_profile("tiny").headline
    train = dataclasses.replace(base.train, steps=12, eval_every=6, checkpoint_steps=(6,),
                                devices=devices, strategy="ddp" if devices > 1 else "auto",
                                precision=precision)
    return dataclasses.replace(base, train=train,
                               eval=dataclasses.replace(base.eval, n_prompts=50))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _weights(res: NTPResult, step: int | None = None) -> dict[str, torch.Tensor]:
    return res.load_model(step).state_dict()


@pytest.mark.slow
@pytest.mark.serial
def test_two_process_ddp_fit_matches_the_single_process_fit(isolated_cache, tmp_path):
    one = train_ntp(small_config(devices=1))

    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "COMPANION_THREADS": "1",
           "OMP_NUM_THREADS": "1", "COMPANION_CACHE_DIR": str(isolated_cache)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2",
           "--master_addr=127.0.0.1", f"--master_port={_free_port()}", str(HERE)]
    proc = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # both processes returned the same published run (rank 1 waited for rank 0 to publish it)
    # the two processes' prints may interleave (text and newline are separate writes): find, don't split
    folders = sorted(re.findall(r"ddp-result=(\S+?)(?=ddp-result=|\s|$)", proc.stdout))
    assert len(folders) == 2 and folders[0] == folders[1], proc.stdout
    two = train_ntp(small_config(devices=2))  # a cache hit: the run the workers trained
    assert str(two.folder) == folders[0]

    init = build_model(small_config()).state_dict()
    for step in (6, None):  # the intermediate checkpoint and the final weights
        w1, w2 = _weights(one, step), _weights(two, step)
        moved = max(float((w1[k] - init[k]).abs().max()) for k in w1)
        diff = max(float((w1[k] - w2[k]).abs().max()) for k in w1)
        assert moved > 1e-3, f"training did not move the weights (max change {moved:g})"
        # float rounding (a different summation order) only: far below what training moved
        assert diff < 1e-4, f"step {step}: 2-process weights differ by {diff:g} (moved {moved:g})"
    # only the first process evaluates and records: one history, the same as the 1-process run's
    h1, h2 = one.history, two.history
    assert list(h1.step) == list(h2.step) == [0, 0, 6, 6, 12, 12]
    assert (h1.accuracy - h2.accuracy).abs().max() <= 0.02  # 50 prompts: at most one flips


def test_stream_shards_are_the_global_batch_split_in_order():
    task = ParityMixture(small_config().task)
    full = next(iter(TaskStream(task, 8, seed=3)))
    halves = [next(iter(TaskStream(task, 8, seed=3, rank=r, world_size=2)))
              for r in (0, 1)]
    assert torch.equal(torch.cat([h[0] for h in halves]), full[0])
    assert torch.equal(torch.cat([h[1] for h in halves]), full[1])
    # every shard carries the global number of loss targets (to normalise its share of the sum)
    assert int(halves[0][2]) == int(halves[1][2]) == int(full[1][:, 1:].sum())


def test_bf16_mixed_precision_trains_and_keeps_float32_weights():
    # bf16 autocast is the paper profile's GPU path; on a CPU it runs only when asked for
    res = train_ntp(small_config(precision="bf16-mixed"))
    w = _weights(res)
    assert all(t.dtype == torch.float32 for t in w.values())
    init = build_model(small_config()).state_dict()
    assert max(float((w[k] - init[k]).abs().max()) for k in w) > 1e-3


def test_ddp_with_the_cache_off_is_refused_before_any_compute(monkeypatch, tmp_path):
    """Under DDP the first process publishes the run into the cache and the others read it there:
    with the cache off they would have nothing to read, so the run is refused up front."""
    monkeypatch.setenv("COMPANION_CACHE", "off")
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(ntp_mod, "_train", lambda *a, **k: pytest.fail("computed before refusing"))
    monkeypatch.setattr(ntp_mod, "build_model", lambda *a: pytest.fail("built a model first"))
    with pytest.raises(ConfigError) as err:
        train_ntp(small_config(devices=2))
    msg = str(err.value)
    assert msg.startswith("invalid COMPANION_CACHE='off': must be on for a run on devices=2")
    assert "COMPANION_CACHE_DIR" in msg  # it says what to do instead
    assert not (tmp_path / "cache").exists()
    assert not cache.cache_enabled()


def test_profiles_use_bf16_only_at_paper_scale():
    from companion.profiles import PROFILES

    assert PROFILES["tiny"].headline.train.precision == "32-true"
    assert PROFILES["cpu"].headline.train.precision == "32-true"
    assert PROFILES["paper"].headline.train.precision == "bf16-mixed"


def _worker() -> None:
    """One torchrun process: train the 2-device config; rank 0 publishes it to the cache."""
    res = train_ntp(small_config(devices=2))
    print(f"ddp-result={res.folder}", flush=True)


if __name__ == "__main__":
    if not os.environ.get("LOCAL_RANK"):
        pytest.exit("run by test_two_process_ddp_fit_matches_the_single_process_fit via torchrun")
    _worker()
