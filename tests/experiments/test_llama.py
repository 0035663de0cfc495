"""Chapter 6's experiment module: which runs it names, and the numbers its chapter cites."""

import re
from pathlib import Path

import pandas as pd

from companion import llm
from companion.experiments import llama
from companion.profiles import get_profile

CHAPTER = Path(__file__).resolve().parents[2] / "book" / "06_llama.py"


def test_runs_are_tiers_a_and_b_keyed_like_their_cache_entries():
    prof = get_profile("tiny")
    runs = llama.runs(prof)
    assert set(runs) == {"worded", "prompting", "pretrained"}
    a, b = prof.llama.worded, prof.llama.pretrained
    assert (runs["worded"].kind, runs["worded"].key) == ("llm", llm.run_key(a))
    assert (runs["pretrained"].kind, runs["pretrained"].key) == ("llm", llm.run_key(b))
    assert (runs["prompting"].kind, runs["prompting"].key) == ("llm-prompting", llm.prompting_key(b))
    assert runs["worded"].needs == ()  # built here: nothing to convert
    assert [n.key for n in runs["pretrained"].needs] == ["smollm2"]


def _result(cfg) -> llm.LLMResult:
    rows = [{"phase": phase, "step": step, "decoding": decoding, "responses": 0,
             "accuracy": 0.5, "long_frac": 0.25, "mean_len": 3.0, "answered": 1.0}
            for phase, step in (("start", 0), ("sft", cfg.sft_steps), ("rl", cfg.rl.steps))
            for decoding in ("greedy", "sampled")]
    return llm.LLMResult(cfg, Path("."), pd.DataFrame(rows), pd.DataFrame())


def test_numbers_hold_every_name_the_chapter_cites():
    prof = get_profile("tiny")
    prompting = pd.DataFrame({"prompt": ["short (answer only)", "long (step by step)"],
                              "accuracy": [0.0, 0.5], "mean_len": [2.0, 40.0]})
    ex = llama.LlamaResult(prof, worded=_result(prof.llama.worded), prompting=prompting,
                           pretrained=_result(prof.llama.pretrained), paper=None)
    numbers = ex.numbers()
    cited = set(re.findall(r"\{glue:text\}`([A-Za-z_0-9]+)", CHAPTER.read_text()))
    assert len(cited) > 30
    assert cited <= set(numbers), sorted(cited - set(numbers))
