"""companion/experiments/multiplication.py: the page's runs, its rule (each status it can give,
none on a null build), its typed numbers, and the cache-only path."""

import dataclasses
import json
import re
import typing
from pathlib import Path

import pandas as pd
import pytest

from companion import parallel, profiles, verdicts
from companion.__main__ import main
from companion.config import ConfigError, MultiplicationConfig, TaskConfig
from companion.experiments import multiplication as mult
from companion.experiments.multiplication import MultiplicationEvidence, judge_multiplication
from companion.experiments.not_computed import NotComputed
from companion.profiles import get_profile
from companion.train import NTPResult, RLResult, rl_run
from companion.verdicts import Status

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


def result(ntp_acc: float, rl_acc: float, base_acc: float, seeds=(0, 1, 2),
           acc_long: float = 0.95) -> mult.MultiplicationResult:
    """A result whose every NTP run ends at greedy ``ntp_acc`` (its sampled long answers
    ``acc_long`` right) and every GRPO run at ``rl_acc``."""
    def ntp(seed, n=None, steps=None, acc=ntp_acc):
        cfg = mult.start_config(CPU, seed, n)
        rows = [{"step": s, "samples": s * 256, "decoding": d, "accuracy": acc, "long_frac": lf,
                 "mean_len": ln, "acc_long": acc_long}
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


def test_the_numbers_follow_the_typed_results():
    good = result(ntp_acc=0.02, rl_acc=0.97, base_acc=0.03)
    v = good.numbers()
    assert v["mult_separated"] == 3
    assert v["mult_rl_len_min"] == 21.0 and v["mult_ntp_greedy_max"] == pytest.approx(0.02)
    assert "length 21.0;" in v["mult_measured"]  # one length, not "21.0-21.0"
    (o,) = good.outcomes()
    assert o.status is Status.SCALED  # 3 digits at p_cot = 0.25: below the paper's case
    assert good.sweep_table().separated.tolist() == [False, False, True]  # n = 1, 2, 3
    # GRPO at 0.9 no longer counts as solved: one threshold, SOLVED
    almost = result(ntp_acc=0.02, rl_acc=0.9, base_acc=0.03)
    assert almost.numbers()["mult_separated"] == 0
    assert almost.outcomes()[0].status is Status.PARTLY  # NTP fails with the chain learned
    # NTP that already solves it is no separation either
    solved = result(ntp_acc=0.97, rl_acc=1.0, base_acc=0.97)
    assert solved.numbers()["mult_separated"] == 0
    assert solved.outcomes()[0].status is Status.NOT_REPRODUCED
    # the verdict sentences are rendered from the same booleans as the rule's
    assert (result(0.02, 0.97, 0.03, acc_long=0.6).numbers()["mult_chain_verdict"]
            != v["mult_chain_verdict"])


def test_the_comparison_puts_the_papers_statement_beside_ours():
    table = mult.comparison(result(0.02, 0.97, 0.03))
    assert list(table.columns) == ["paper", "this book"]
    assert "38 GPU-hours" in table.loc["NTP alone, greedy", "paper"]
    assert table.loc["NTP + RL, greedy", "this book"].startswith("accuracy at least 0.970")


def test_without_its_runs_cached_the_cpu_page_says_what_to_run(isolated_cache):
    ex = mult.load(CPU)
    assert isinstance(ex, NotComputed) and not ex.computed
    assert len(ex.missing) == len(mult.runs(CPU))
    assert "make multiplication PROFILE=cpu" in ex.message
    numbers = ex.numbers()
    assert numbers["mult_computed"] is False and numbers["mult_verdict"] == ex.message
    assert set(mult.comparison(ex)["this book"]) == {"not computed"}
    (o,) = ex.outcomes()
    assert o.status is Status.NOT_RUN and "make multiplication PROFILE=cpu" in o.reason
    # every value the page glues exists without the runs too
    page = (Path(__file__).parents[2] / "book" / "07_multiplication.py").read_text()
    glued = set(re.findall(r"\{glue:text\}`(\w+)`", page))
    assert glued and glued <= set(numbers), glued - set(numbers)


def evidence(ntp=(0.02,) * 3, chain=(0.95,) * 3, rl=(0.99,) * 3, digits=3, p_cot=0.25, n=1000,
             computed=True) -> MultiplicationEvidence:
    return MultiplicationEvidence(computed=computed, profile="test", digits=digits, p_cot=p_cot, n=n,
                                  model="2 x 64 GPT", ntp_samples=768_000, ntp_greedy=ntp,
                                  ntp_long_right=chain, rl_greedy=rl)


@pytest.mark.parametrize("e, status", [
    pytest.param(evidence(digits=7, p_cot=0.1), Status.REPRODUCED, id="the paper's case"),
    pytest.param(evidence(), Status.SCALED, id="3 digits"),
    pytest.param(evidence(digits=7, p_cot=0.25), Status.SCALED, id="7 digits, common long data"),
    pytest.param(evidence(rl=(0.99, 0.5, 0.5)), Status.PARTLY, id="one seed separates"),
    pytest.param(evidence(rl=(0.5,) * 3), Status.PARTLY, id="NTP fails, chain learned, RL fails"),
    pytest.param(evidence(rl=(0.5,) * 3, chain=(0.5,) * 3), Status.NOT_REPRODUCED,
                 id="NTP fails without the chain: no control"),
    pytest.param(evidence(ntp=(0.99,) * 3, rl=(1.0,) * 3), Status.NOT_REPRODUCED,
                 id="NTP solves it"),
    pytest.param(evidence(rl=(0.94,) * 3, chain=(0.0,) * 3), Status.NOT_REPRODUCED,
                 id="just short of SOLVED"),
    pytest.param(evidence(ntp=(), chain=(), rl=(), computed=False), Status.NOT_RUN,
                 id="not cached"),
    pytest.param(MultiplicationEvidence.null(), Status.NOT_REPRODUCED, id="null"),
    pytest.param(dataclasses.replace(MultiplicationEvidence.null(), ntp_greedy=(0.0,) * 3),
                 Status.NOT_REPRODUCED, id="null, NTP at zero"),
])
def test_the_rule_reaches_each_status(e, status):
    o = judge_multiplication(e)
    assert o.status is status, o.reason
    assert not o.ours and o.claim == "multiplication"
    assert set(o.thresholds) == {"FAILED", "SOLVED", "KNOWN", "Z"}
    assert o.scale.met == (e.digits >= 7 and e.p_cot <= 0.1)
    json.dumps(o.to_json(), allow_nan=False)
    if status is Status.NOT_RUN:
        assert "make multiplication PROFILE=test" in o.reason
    else:
        assert "1/2" in o.measured  # this format's greedy threshold, said


def test_the_null_build_gets_no_credit():
    evidence_class = typing.get_type_hints(judge_multiplication)["e"]
    assert not judge_multiplication(evidence_class.null()).status.credit
    assert "companion.experiments.multiplication.judge_multiplication" in verdicts.RULES


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
