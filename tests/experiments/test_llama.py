"""Chapter 6's experiment module: which runs it names, the numbers its chapter cites, the claim's
rule on tier (b) (each status it can give, none on a null build; tier (a) does not count), and the
paper profile's GPU SmolLM2 run shrunk to a CPU."""

import dataclasses as dc
import json
import os
import re
import typing
from pathlib import Path

import pandas as pd
import pytest
import torch

from companion import llm, verdicts
from companion.config import ConfigError
from companion.experiments import llama, wilson
from companion.experiments.llama import LlamaEvidence, judge_llama
from companion.experiments.not_computed import NotComputed
from companion.profiles import PAPER, get_profile
from companion.verdicts import Status

CHAPTER = Path(__file__).resolve().parents[2] / "book" / "06_llama.py"


def test_runs_are_tiers_a_and_b_keyed_like_their_cache_entries():
    prof = get_profile("tiny")
    runs = llama.runs(prof)
    seeds = prof.llama.pretrained_seeds
    assert set(runs) == {"worded", "prompting", "prompting gsm",
                         *(f"pretrained seed {s}" for s in seeds)}
    a, b = prof.llama.worded, prof.llama.pretrained
    assert (runs["worded"].kind, runs["worded"].key) == ("llm", llm.run_key(a))
    s0 = runs[f"pretrained seed {seeds[0]}"]
    assert (s0.kind, s0.key) == ("llm", llm.run_key(llama.seeded(b, seeds[0])))
    assert runs["prompting gsm"].key == llm.prompting_key(prof.llama.gsm)
    assert runs["worded"].needs == ()  # built here: nothing to convert
    assert [n.key for n in s0.needs] == ["smollm2"]


def test_seeds_change_training_not_the_problems():
    b = get_profile("cpu").llama.pretrained
    s0, s1 = llama.seeded(b, 0), llama.seeded(b, 1)
    assert (s0.seed, s0.rl.seed, s1.seed, s1.rl.seed) == (0, 0, 1, 1)
    assert s0.data == s1.data
    assert llm.run_key(s0) != llm.run_key(s1)


def test_cpu_book_reads_tier_b_from_the_cache_and_make_pretrained_trains_it():
    cpu = get_profile("cpu")
    assert not cpu.llama.pretrained_in_book
    assert not any(k.startswith("pretrained") or k.startswith("prompting") for k in llama.runs(cpu))
    assert {"prompting", "prompting gsm", "pretrained seed 0", "pretrained seed 1"} == set(
        llama.pretrained_runs(cpu))


def _result(cfg, sft_acc=0.1, rl_acc=0.9, sft_len=4.0, rl_len=30.0, n=100, sft_long=0.2,
            rl_long=1.0) -> llm.LLMResult:
    rows = []
    for phase, step, acc, length, long in (("sft", cfg.sft_steps, sft_acc, sft_len, sft_long),
                                           ("rl", cfg.rl.steps, rl_acc, rl_len, rl_long)):
        for decoding in ("greedy", "sampled"):
            rows.append({"phase": phase, "step": step, "decoding": decoding, "responses": 0,
                         "accuracy": acc, "long_frac": long,
                         "mean_len": length, "answered": 1.0, "n": n, "long_accuracy": 0.8,
                         "short_accuracy": 0.1})
    samples = pd.DataFrame([{"phase": p, "question": "q", "answer": "3", "response": "#### 3"}
                            for p in ("sft", "rl")])
    return llm.LLMResult(cfg, Path("."), pd.DataFrame(rows), samples)


def _prompting() -> pd.DataFrame:
    rows = [{"source": src, "prompt": p, "accuracy": acc, "mean_len": length, "n": 100}
            for src in ("running-totals", "gsm-symbolic")
            for p, acc, length in (("short (answer only)", 0.02, 2.0),
                                   ("long (step by step)", 0.05, 80.0))]
    return pd.DataFrame(rows)


def _pretrained(prof, **kw) -> llama.Pretrained:
    b = prof.llama.pretrained
    return llama.Pretrained(prof, _prompting(),
                            {s: _result(llama.seeded(b, s), **kw) for s in (0, 1)})


def _not_computed(prof) -> NotComputed:
    return llama.pretrained_not_computed(prof, ("pretrained seed 0",))


@pytest.mark.parametrize("computed", [True, False])
def test_numbers_hold_every_name_the_chapter_cites(computed):
    prof = get_profile("cpu")
    tier_b = _pretrained(prof) if computed else _not_computed(prof)
    ex = llama.LlamaResult(prof, worded=_result(prof.llama.worded), pretrained=tier_b, gpu=None,
                           paper=None)
    numbers = ex.numbers()
    cited = set(re.findall(r"\{glue:text\}`([A-Za-z_0-9]+)", CHAPTER.read_text()))
    assert len(cited) > 20
    assert cited <= set(numbers), sorted(cited - set(numbers))
    assert numbers["b_computed"] is computed
    (o,) = ex.outcomes()
    if computed:
        assert o.status is Status.SCALED  # every seed raised both: never more than scaled
    else:
        assert "make pretrained PROFILE=cpu" in numbers["b_verdict"]
        assert o.status is Status.NOT_RUN and "make pretrained PROFILE=cpu" in o.reason


def test_raised_needs_a_rise_beyond_noise_and_longer_answers():
    prof = get_profile("cpu")
    assert _pretrained(prof).raised(0)
    # 0.45 vs 0.55 of 100: inside the noise
    assert not _pretrained(prof, sft_acc=0.45, rl_acc=0.55).raised(0)
    # more accurate but no longer: not the paper's trend
    assert not _pretrained(prof, rl_long=0.2).raised(0)
    numbers = _pretrained(prof).numbers()
    assert (numbers["b_raised"], numbers["b_seeds"]) == (2, 2)
    assert _pretrained(prof, rl_acc=0.12).numbers()["b_raised"] == 0


def test_tier_a_does_not_count_for_the_claim():
    """Tier (a) raised both, tier (b) is not cached: the claim is not run, not partly."""
    prof = get_profile("cpu")
    worded = _result(prof.llama.worded, sft_acc=0.5, rl_acc=1.0, sft_long=0.0, rl_long=1.0)
    ex = llama.LlamaResult(prof, worded=worded, pretrained=_not_computed(prof), gpu=None,
                           paper=None)
    assert ex.numbers()["a_rl_verdict"].startswith("RL raised both")
    assert ex.outcomes()[0].status is Status.NOT_RUN
    # and its verdict is typed: a rise inside the noise of its problems is none
    flat = dc.replace(worded, history=worded.history.assign(
        accuracy=lambda h: h.accuracy.where(h.phase == "sft", 0.55)))
    ex = llama.LlamaResult(prof, worded=flat, pretrained=_not_computed(prof), gpu=None, paper=None)
    assert ex.numbers()["a_rl_verdict"].startswith("RL did not raise both")


def evidence(sft=(0.1, 0.1), rl=(0.9, 0.9), sft_long=(0.2, 0.2), rl_long=(1.0, 1.0), n=100,
             computed=True) -> LlamaEvidence:
    return LlamaEvidence(computed=computed, profile="test", model="SmolLM2-135M-Instruct",
                         seeds=len(sft), n=(n,) * len(sft), sft_accuracy=sft, rl_accuracy=rl,
                         sft_long=sft_long, rl_long=rl_long, sft_length=(4.0,) * len(sft),
                         rl_length=(30.0,) * len(sft))


@pytest.mark.parametrize("e, status", [
    pytest.param(evidence(), Status.SCALED, id="every seed: scaled, never reproduced"),
    pytest.param(evidence(rl=(0.9, 0.12)), Status.PARTLY, id="one seed"),
    pytest.param(evidence(sft=(0.45, 0.45), rl=(0.55, 0.55)), Status.NOT_REPRODUCED,
                 id="a rise inside 3 SE"),
    pytest.param(evidence(rl_long=(0.2, 0.2)), Status.NOT_REPRODUCED, id="accuracy without length"),
    pytest.param(evidence(n=4), Status.NOT_REPRODUCED, id="too few problems to tell"),
    pytest.param(evidence(sft=(0.0, 0.0), rl=(1.0, 1.0), sft_long=(0.0, 0.0), n=2),
                 Status.NOT_REPRODUCED, id="0 of 2 to 2 of 2 is no rise"),
    pytest.param(evidence(sft=(), rl=(), sft_long=(), rl_long=(), computed=False), Status.NOT_RUN,
                 id="not cached"),
    pytest.param(LlamaEvidence.null(), Status.NOT_REPRODUCED, id="null"),
])
def test_the_rule_reaches_each_status(e, status):
    o = judge_llama(e)
    assert o.status is status, o.reason
    assert not o.ours and not o.scale.met and o.thresholds == {"Z": 3.0}
    json.dumps(o.to_json(), allow_nan=False)
    if status is Status.NOT_RUN:
        assert "make pretrained PROFILE=test" in o.reason


def test_the_null_build_gets_no_credit():
    evidence_class = typing.get_type_hints(judge_llama)["e"]
    assert not judge_llama(evidence_class.null()).status.credit
    assert "companion.experiments.llama.judge_llama" in verdicts.RULES


def test_table_gives_intervals_and_examples_pair_sft_with_rl():
    t = _pretrained(get_profile("cpu")).table()
    assert len(t) == 2 * 2 * 2  # seeds x phases x decodings
    assert t.loc[(0, "after SFT", "greedy"), "95% interval"] == "0.06-0.17"
    text = _pretrained(get_profile("cpu")).examples(n=1)
    assert text.index("after SFT: #### 3") < text.index("after RL:  #### 3")


def test_book_without_tier_b_in_the_cache_says_which_target_to_run(monkeypatch, tmp_path):
    monkeypatch.setenv("COMPANION_CACHE", "on")
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path))
    out = llama.load_pretrained(get_profile("cpu"))
    assert not out.computed
    assert set(out.missing) == set(llama.pretrained_runs(get_profile("cpu")))
    assert "make pretrained PROFILE=cpu" in out.message


def _gpu_smollm2_on_a_cpu():
    """The paper profile's GPU SmolLM2 run, shrunk to seconds and given a CPU."""
    g = PAPER.llama.gpu_smollm2
    return dc.replace(g, accelerator="auto", precision="32-true",
                      data=dc.replace(g.data, n_train=8, n_eval=2),
                      sft_steps=1, sft_batch_size=2, sft_warmup_steps=0, sft_eval_every=1,
                      rl=dc.replace(g.rl, G=2, prompts_per_step=1, steps=1, eval_every=1),
                      max_new_tokens=12, eval_batch_size=2)


def test_gpu_smollm2_is_full_fine_tuning_of_smollm2_on_a_gpu():
    g = PAPER.llama.gpu_smollm2
    assert (g.model, g.lora_r, g.accelerator) == ("smollm2", 0, "gpu")
    assert g.data.source == get_profile("cpu").llama.pretrained.data.source
    assert g.sft_steps >= 1000


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is visible: nothing to refuse")
def test_gpu_smollm2_refuses_before_compute_without_a_gpu(monkeypatch):
    def no_compute(*a, **k):
        raise AssertionError("computed before the accelerator was checked")

    monkeypatch.setattr(llm.runs.cache, "computed", no_compute)
    with pytest.raises(ConfigError, match="accelerator.*CUDA GPU"):
        llm.run(PAPER.llama.gpu_smollm2)


@pytest.mark.slow
def test_gpu_smollm2_runs_end_to_end_shrunk_to_a_cpu():
    res = llm.run(_gpu_smollm2_on_a_cpu())
    assert {"sft", "rl"} <= set(res.history.phase)
    assert res.at("rl", "greedy")["n"] == 2
    assert set(res.samples.phase) >= {"sft", "rl"}


def test_wilson_interval_matches_known_values_and_stays_in_0_1():
    lo, hi = wilson(50, 100)
    assert (round(lo, 4), round(hi, 4)) == (0.4038, 0.5962)
    lo, hi = wilson(0, 100)
    assert lo == pytest.approx(0.0, abs=1e-12) and round(hi, 4) == 0.037  # not empty at k = 0
    assert wilson(100, 100) == (pytest.approx(0.963, abs=1e-3), pytest.approx(1.0))
    assert all(x != x for x in wilson(0, 0))  # no problems: no interval


def test_tier_b_trains_one_run_at_a_time_on_every_core(monkeypatch):
    """Two SmolLM2 GRPO runs side by side ran a 24 GB machine out of memory."""
    from companion import parallel

    seen = {}

    def compute(runs, workers=1, log=None):
        seen.update(workers=workers, threads=os.environ.get("COMPANION_THREADS"), runs=set(runs))
        return 0

    monkeypatch.delenv("COMPANION_THREADS", raising=False)
    monkeypatch.setattr(parallel, "compute", compute)
    llama.compute(get_profile("cpu"))
    assert seen == {"workers": 1, "threads": str(len(os.sched_getaffinity(0))),
                    "runs": set(llama.pretrained_runs(get_profile("cpu")))}
    assert "COMPANION_THREADS" not in os.environ  # restored
    monkeypatch.setenv("COMPANION_THREADS", "3")  # the user's choice wins
    llama.compute(get_profile("cpu"))
    assert seen["threads"] == "3"
