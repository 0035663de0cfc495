"""Independent runs one after the other vs several processes at once, as the chapters train
theirs (:func:`companion.parallel.compute`)."""

from __future__ import annotations

import dataclasses
import os
import statistics
import tempfile
from unittest import mock

from ..config import with_
from ..parallel import compute
from ..profiles import get_profile
from ..train.ntp import ntp_run, train_ntp
from .table import table_rows
from .throughput import BENCH_D, time_it


def parallel_rows(workers: int = 2, steps: int = 200, repeats: int = 2) -> list[dict]:
    """``workers`` independent NTP runs of the cpu model (d=BENCH_D): one after the other in this
    process vs ``workers`` processes at once. Each repeat trains into fresh temporary caches, so
    nothing is read back from a cache but the runs just trained."""
    base = with_(get_profile("cpu").headline, d=BENCH_D, steps=steps)
    base = dataclasses.replace(base, train=dataclasses.replace(base.train, eval_every=steps),
                               eval=dataclasses.replace(base.eval, n_prompts=200))
    cfgs = [with_(base, seed=s) for s in range(workers)]

    def at_once() -> None:
        compute([ntp_run(c) for c in cfgs], workers)
        for c in cfgs:
            train_ntp(c)  # cache hits: the results, read as a chapter reads them

    t_seq, t_par = [], []
    # the workers inherit the environment and hand their runs back through the cache: it must be on
    with mock.patch.dict(os.environ, {"COMPANION_CACHE": "on"}):
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as many:
                os.environ["COMPANION_CACHE_DIR"] = one
                t_seq += time_it(lambda: [train_ntp(c) for c in cfgs], 1)
                os.environ["COMPANION_CACHE_DIR"] = many
                t_par += time_it(at_once, 1)
    seq, par = statistics.median(t_seq), statistics.median(t_par)
    return table_rows(f"{workers} NTP runs, cpu profile model (d={BENCH_D}, {steps} steps + 1 "
                      "evaluation each)", {
                          "one after the other (1 process), s": seq,
                          f"{workers} processes at once (process start-up included), s": par,
                          "speed-up (x)": seq / par,
                      })
