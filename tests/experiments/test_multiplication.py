"""companion/experiments/multiplication.py: the page's runs, its verdicts, and the cache-only path."""

import dataclasses
import re
from pathlib import Path

import pandas as pd
import pytest

from companion import parallel, profiles
from companion.__main__ import main
from companion.config import ConfigError, MultiplicationConfig, TaskConfig
from companion.experiments import multiplication as mult
from companion.profiles import get_profile
from companion.train import NTPResult, RLResult, rl_run

CPU, TINY = get_profile("cpu"), get_profile("tiny")


def test_the_runs_are_three_ntp_seeds_grpo_from_each_a_baseline_and_other_n():
    runs = mult.runs(CPU)
    m = CPU.multiplication
    assert len(m.seeds) == 3
    for s in m.seeds:
        assert runs[f"NTP seed {s}"].key.train.seed == s
        grpo = runs[f"GRPO seed {s}"].key
        assert grpo.start == runs[f"NTP seed {s}"].key and grpo.rl.seed == s
        assert grpo.rl.algorithm == "grpo" and grpo.rl.reward == "end_to_end"
    for n in m.sweep_n:
        start = runs[f"NTP n={n}"].key
        assert start.task == MultiplicationConfig(n=n, p_cot=m.start.task.p_cot)
        assert start.model.block_size >= start.task.min_block_size
        assert runs[f"GRPO n={n}"].key.start == start
    # the baseline: baseline_factor fresh sequences per response GRPO samples, from seed 0
    base = runs["baseline"].key
    responses = m.rl.steps * m.rl.prompts_per_step * m.rl.G
    assert base.start == runs[f"NTP seed {m.seeds[0]}"].key
    assert base.steps * base.start.train.batch_size >= m.baseline_factor * responses
    # the NTP starts come first: they are the longest runs
    assert list(runs)[:len(m.seeds)] == [f"NTP seed {s}" for s in m.seeds]


def test_the_block_is_validated():
    m = CPU.multiplication
    with pytest.raises(ConfigError, match="start.task"):
        dataclasses.replace(m, start=dataclasses.replace(m.start, task=TaskConfig(d=8)))
    with pytest.raises(ConfigError, match="rl.algorithm"):
        dataclasses.replace(m, rl=dataclasses.replace(m.rl, algorithm="star"))
    with pytest.raises(ConfigError, match="sweep_n"):
        dataclasses.replace(m, sweep_n=(m.start.task.n,))
    with pytest.raises(ConfigError, match="seeds"):
        dataclasses.replace(m, seeds=(0, 0))


def result(ntp_acc: float, rl_acc: float, base_acc: float, seeds=(0, 1, 2)) -> mult.MultiplicationResult:
    """A result whose every NTP run ends at greedy ``ntp_acc`` and every GRPO run at ``rl_acc``."""
    def ntp(seed, n=None, steps=None, acc=ntp_acc):
        cfg = mult.start_config(CPU, seed, n)
        rows = [{"step": s, "samples": s * 256, "decoding": d, "accuracy": acc, "long_frac": lf,
                 "mean_len": ln, "acc_long": 0.8}
                for s in (0, steps or cfg.train.steps) for d, lf, ln in (("greedy", 0.0, 6.0),
                                                                         ("sampled", 0.25, 11.0))]
        return NTPResult(config=cfg, folder=Path("/nonexistent"), history=pd.DataFrame(rows))

    def grpo(seed, n=None, acc=rl_acc):
        cfg = rl_run(mult.grpo_config(CPU, seed), mult.start_config(CPU, seed, n))
        rows = [{"step": s, "responses": s * 256, "decoding": "greedy", "accuracy": a, "mean_len": ln}
                for s, a, ln in ((0, ntp_acc, 6.0), (40, acc, 21.0))]
        rows += [{"step": s, "responses": s * 256, "decoding": "rollout", "accuracy": a,
                  "mean_len": ln, "long_frac": 0.5} for s, a, ln in ((1, 0.2, 11.0), (40, acc, 21.0))]
        return RLResult(config=cfg, folder=Path("/nonexistent"), history=pd.DataFrame(rows))

    base = ntp(seeds[0], steps=80, acc=base_acc)
    base.config = mult.baseline_config(CPU).run
    return mult.MultiplicationResult(
        CPU, ntp={s: ntp(s) for s in seeds}, grpo={s: grpo(s) for s in seeds}, baseline=base,
        sweep_ntp={1: ntp(0, 1, acc=1.0), 2: ntp(0, 2, acc=0.5)},
        sweep_grpo={1: grpo(0, 1, acc=1.0), 2: grpo(0, 2, acc=1.0)})


def test_the_verdicts_follow_the_numbers():
    good = result(ntp_acc=0.02, rl_acc=0.97, base_acc=0.03).numbers()
    assert good["mult_separated"] == 3 and good["mult_verdict"].startswith("In all 3 seeds NTP alone fails")
    assert "the compute alone is not what RL adds" in good["mult_baseline_verdict"]
    assert good["mult_sweep_verdict"] == "separation at n = 3; NTP alone solves n = 1."
    assert good["mult_rl_len_min"] == 21.0 and good["mult_ntp_greedy_max"] == pytest.approx(0.02)
    assert good["mult_chain_verdict"].endswith("the chain is learned, and greedy decoding does not use it.")
    assert "length 21.0;" in good["mult_measured"]  # one length, not "21.0-21.0"

    bad = result(ntp_acc=0.02, rl_acc=0.5, base_acc=0.6).numbers()
    assert bad["mult_separated"] == 0
    assert bad["mult_verdict"].startswith("The separation holds in 0 of 3 seeds")
    assert "more NTP does as well as GRPO" in bad["mult_baseline_verdict"]
    assert "neither reaches 0.9 at n = 3" in bad["mult_sweep_verdict"]
    # NTP that already solves it is no separation either
    solved = result(ntp_acc=0.95, rl_acc=1.0, base_acc=0.95).numbers()
    assert solved["mult_separated"] == 0
    assert solved["mult_chain_verdict"].endswith("(the chain is at least 0.5 right in 3 of the 3).")


def test_the_comparison_puts_the_papers_statement_beside_ours():
    table = result(0.02, 0.97, 0.03).comparison()
    assert list(table.columns) == ["paper", "this book"]
    assert "38 GPU-hours" in table.loc["NTP alone, greedy", "paper"]
    assert table.loc["NTP + RL, greedy", "this book"].startswith("accuracy at least 0.970")


def test_without_its_runs_cached_the_cpu_page_says_what_to_run(isolated_cache):
    ex = mult.load(CPU)
    assert isinstance(ex, mult.NotComputed) and not ex.computed
    assert len(ex.missing) == len(mult.runs(CPU))
    assert "make multiplication PROFILE=cpu" in ex.message
    numbers = ex.numbers()
    assert numbers["mult_computed"] is False and numbers["mult_verdict"] == ex.message
    assert set(ex.comparison()["this book"]) == {"not computed"}
    # every value the page glues exists without the runs too
    page = (Path(__file__).parents[2] / "book" / "07_multiplication.py").read_text()
    glued = set(re.findall(r"\{glue:text\}`(\w+)`", page))
    assert glued and glued <= set(numbers), glued - set(numbers)


def test_settings_show_the_profile_beside_the_paper_profile():
    table = mult.settings(CPU)
    assert list(table.columns) == ["cpu", "paper"]
    assert table.loc["trained by", "cpu"] == "make multiplication PROFILE=cpu"
    assert table.loc["digits n", "paper"] == "5"


@pytest.mark.slow
def test_compute_trains_the_page_then_the_page_reads_the_cache(isolated_cache, capsys, monkeypatch):
    """`make multiplication`'s command under a tiny profile whose book does not train the page."""
    prof = dataclasses.replace(TINY, multiplication=dataclasses.replace(TINY.multiplication,
                                                                         book_trains=False))
    monkeypatch.setitem(profiles.PROFILES, "tiny", prof)
    assert isinstance(mult.load(prof), mult.NotComputed)
    assert main(["compute", "multiplication", "--profile", "tiny"]) == 0
    out = capsys.readouterr()
    assert f"{len(mult.runs(prof))} runs trained" in out.out and "[1/" in out.err
    assert parallel.missing(list(mult.runs(prof).values())) == []
    ex = mult.load(prof)
    assert ex.computed and set(ex.seeds_table().index) == set(prof.multiplication.seeds)
    assert len(ex.examples(3)) == 3
