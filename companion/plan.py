"""Which runs each chapter reads, so that they can be trained several at a time up front.

A chapter calls ``prefetch(prof, n)`` first; its cells then ask for the same runs one by one
(``train_ntp``, ``train_rl``, ``continue_ntp``) and find them in the cache. The runs are built
with the same config functions the chapters use (``rl.algorithm_configs``, ...). A run missing
here is not wrong, only trained later, on one core: ``tests/test_plan.py`` executes each chapter
after its prefetch and checks that it trains nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import parallel
from .config import LLMConfig, NTPRunConfig, RLConfig
from .parallel import Run
from .pretrain import ntp_run, train_ntp
from .rl import (ContinueNTPConfig, RLRunConfig, algorithm_configs, baseline_steps, continue_ntp,
                 hot_star_configs, leap_config, penalty_configs, rare_start_config, start_config,
                 train_rl)


def _rl(cfg: RLConfig, start: NTPRunConfig, step: int) -> None:
    train_rl(cfg, train_ntp(start), step)


def rl(cfg: RLConfig, start: NTPRunConfig, step: int | None = None) -> Run:
    step = start.train.steps if step is None else int(step)
    return Run("rl", RLRunConfig(rl=cfg, start=start, start_step=step), _rl, (cfg, start, step),
               needs=(ntp_run(start),))


def _more_ntp(start: NTPRunConfig, steps: int) -> None:
    continue_ntp(train_ntp(start), steps)


def more_ntp(start: NTPRunConfig, steps: int) -> Run:
    key = ContinueNTPConfig(start=start, start_step=start.train.steps, steps=int(steps))
    return Run("ntp-continue", key, _more_ntp, (start, int(steps)), needs=(ntp_run(start),))


@dataclass(frozen=True)
class _SmolLM2(Run):
    """The one-time conversion of SmolLM2 (kept under the cache root, not as a cached run)."""

    def done(self) -> bool:
        from . import llm

        return llm.smollm2_converted()


def _llm_runs(cfg: LLMConfig, prompting: bool) -> list[Run]:
    from . import llm

    needs = (_SmolLM2("model", "smollm2", llm.smollm2_dir),) if cfg.model == "smollm2" else ()
    out = [Run("llm", llm.run_key(cfg), llm.run, (cfg,), needs)]
    if prompting:
        out.insert(0, Run("llm-prompting", llm.prompting_key(cfg), llm.prompting, (cfg,), needs))
    return out


def runs(prof, chapter: int) -> list[Run]:
    """The runs chapter ``chapter`` reads under profile ``prof``, longest first."""
    start = start_config(prof)
    if chapter == 2:  # the headline-d runs take ~4x a sweep run: start them first
        return [ntp_run(c) for c in (*prof.long_runs(), *prof.sweep.runs())]
    if chapter == 3:
        return [rl(prof.rl, rare_start_config(prof)),  # NTP then RL: the longest
                *(rl(c, start) for c in algorithm_configs(prof).values()),
                *(rl(c, start) for c in hot_star_configs(prof).values()),
                *(rl(prof.rl, start, k) for k in prof.rl_early_steps),
                more_ntp(start, baseline_steps(prof, start))]
    if chapter == 4:
        return [rl(prof.rl_star_rounds, start),
                ntp_run(leap_config(prof)), ntp_run(leap_config(prof, 1)),
                *(rl(c, start) for c in penalty_configs(prof).values()),
                *(rl(c, start) for c in algorithm_configs(prof).values())]
    if chapter == 6:  # the paper tier (c) is given its inputs in the chapter: it runs there
        pretrained = prof.llm_pretrained
        return [*_llm_runs(prof.llm_worded, False),
                *(_llm_runs(pretrained, True) if pretrained.model == "smollm2" else ())]
    return []


def prefetch(prof, chapter: int) -> int:
    """Train the runs chapter ``chapter`` reads, ``prof.workers`` processes at a time; return
    how many were not cached yet."""
    return parallel.compute(runs(prof, chapter), workers=prof.workers)
