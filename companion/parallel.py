"""Independent cached runs, several processes at a time.

Small models train fastest with one torch thread (runtime.py), so on a 2-core machine two runs
in two processes take about as long as one: a chapter whose runs do not depend on each other
finishes in about half the time. A :class:`Run` names its cache entry and how to compute it;
:func:`compute` trains the missing ones ``workers`` at a time (a run waits for the runs it
``needs``, e.g. RL for its NTP start) and the cache carries the results back, so callers then
read them with :func:`fetch` (or the usual functions, ``train_ntp``, ``train_rl``, ...): cache hits.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any, Callable

from . import cache


@dataclass(frozen=True)
class Run:
    """One cached run: ``kind``/``key`` name its cache entry, ``fn(*args)`` computes it.

    ``fn`` must be importable (a module-level function) and ``args`` picklable: a worker
    process calls it. ``needs`` are the runs it reads (they are computed first).
    """

    kind: str
    key: Any
    fn: Callable
    args: tuple = ()
    needs: tuple["Run", ...] = ()

    def done(self) -> bool:
        return cache.lookup(self.kind, self.key) is not None

    def __call__(self) -> Any:
        return self.fn(*self.args)


def _worker_start(parent: int) -> None:
    # Ctrl-C reaches every process of the group: a worker waiting for work would die of it and
    # break the pool, which then kills the workers still training (SIGTERM, no clean stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # a parent killed outright (SIGKILL, or SIGTERM to it alone) cannot shut the pool down: its
    # workers would train on for nobody and then wait for work forever. They exit with it; an
    # unfinished run publishes nothing, and an NTP run keeps its last checkpoint to resume from
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: int, every_s: float = 0.5) -> None:
    while os.getppid() == parent:
        time.sleep(every_s)
    os._exit(1)


def _call(run: Run) -> None:
    # ... while a worker that is training stops cleanly: an NTP run keeps its checkpoint
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        run()  # the result reaches the parent through the cache
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def missing(runs: list[Run]) -> list[Run]:
    """The runs not in the cache yet, each once, every run after the runs it needs."""
    todo: dict[tuple, Run] = {}

    def visit(r: Run) -> None:
        for n in r.needs:
            visit(n)
        if (r.kind, r.key) not in todo and not r.done():
            todo[(r.kind, r.key)] = r

    for r in runs:
        visit(r)
    return list(todo.values())


def compute(runs: list[Run] | dict[str, Run], workers: int = 1,
            log: Callable[[str], None] | None = None) -> int:
    """Compute every run of ``runs`` (and what they need) that is not cached yet; return how
    many were computed. Runs start in the given order (put the longest first) as soon as a
    worker is free and the runs they need are done. ``log`` (optional) hears of each run that
    finishes, with how many are done (by name when ``runs`` names them).

    With the cache off nothing is computed here: results could not be handed back, so each
    caller computes its own when it asks for it.
    """
    if workers < 1:
        raise ValueError(f"invalid workers={workers}: must be >= 1")
    if not cache.cache_enabled():
        return 0
    names = {(r.kind, r.key): n for n, r in runs.items()} if isinstance(runs, dict) else {}
    todo = missing(list(runs.values()) if isinstance(runs, dict) else runs)
    done, t0 = 0, time.perf_counter()

    def finished(r: Run) -> None:
        nonlocal done
        done += 1
        if log is not None:
            name = names.get((r.kind, r.key), f"a {r.kind} run")
            log(f"[{done}/{len(todo)}] {name} done ({time.perf_counter() - t0:.0f} s)")
    if workers == 1 or len(todo) < 2:
        for r in todo:
            r()
            finished(r)
        return len(todo)
    pending, running = list(todo), {}
    pool = ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=get_context("spawn"),
                               initializer=_worker_start, initargs=(os.getpid(),))
    try:
        while pending or running:
            for r in list(pending):
                if len(running) < workers and all(n.done() for n in r.needs):
                    running[pool.submit(_call, r)] = r
                    pending.remove(r)
            if not running:  # cannot happen when every need is in todo; never spin
                raise RuntimeError(f"runs wait for results that are not cached: {pending}")
            ended, _ = wait(running, return_when=FIRST_COMPLETED)
            for f in ended:
                f.result()  # a failed run raises here, naming its error
                finished(running.pop(f))
    finally:
        # on an error or Ctrl-C: start nothing new. After an error the runs already going finish
        # into the cache; after Ctrl-C they stop at once (an NTP run keeps its last checkpoint)
        pool.shutdown(wait=True, cancel_futures=True)
    return len(todo)


def fetch(runs: dict[str, Run], workers: int = 1) -> dict[str, Any]:
    """Each named run's result: the missing ones are computed ``workers`` at a time first
    (:func:`compute`), then every run is read (from the cache, or computed here if it is off)."""
    compute(runs, workers=workers)
    return {name: run() for name, run in runs.items()}
