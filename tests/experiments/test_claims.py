"""companion/experiments/: each claim's runs cover its chapter. Under ``tiny``, once
``parallel.compute`` has trained a claim's ``runs``, its ``load`` is a pure cache read and
executing the chapter trains nothing more; every number the chapter's text cites is one its
``numbers()`` returns (or a status sentence of its ``outcomes()``)."""

import dataclasses
import os
import re
import shutil
from pathlib import Path

import pytest

import companion.train.ntp as ntp_mod
import companion.train.rl as rl_mod
from companion import cache, experiments, parallel, run
from companion.profiles import get_profile

TINY = get_profile("tiny")
GLUE = re.compile(r"\{glue:text\}`([^`:]+)(?::[^`]*)?`")


def cited(chapter: int) -> set[str]:
    """The names the chapter's text cites with {glue:text}."""
    (source,) = (run.ROOT / "book").glob(f"0{chapter}_*.py")
    return set(GLUE.findall(source.read_text()))


def test_every_chapter_has_its_claim():
    assert experiments.CLAIMS == {2: "ntp_threshold", 3: "rl_after_ntp", 4: "test_time",
                                  5: "linear_theory", 6: "llama", 7: "multiplication"}
    assert experiments.claim(2).__name__ == "companion.experiments.ntp_threshold"


def copy_from_book_cache(runs: list[parallel.Run]) -> int:
    """``make test`` builds the tiny book first and names its cache in COMPANION_TEST_BOOK_CACHE:
    copy these runs (and the runs they need) from there instead of training them again. Only
    these: a run the chapter trains that ``runs`` lacks is still missing, and shows up below."""
    book = os.environ.get("COMPANION_TEST_BOOK_CACHE")
    if not book:
        return 0
    copied, todo = 0, list(runs)
    while todo:
        r = todo.pop()
        todo.extend(r.needs)
        if not dataclasses.is_dataclass(r.key):  # SmolLM2's conversion: COMPANION_MODELS_DIR
            continue
        rel = cache.run_dir(r.kind, r.key).relative_to(cache.cache_root())
        src, dst = Path(book) / rel, cache.cache_root() / rel
        if src.is_dir() and not dst.exists():
            shutil.copytree(src, dst)
            copied += 1
    return copied


@pytest.mark.slow
@pytest.mark.parametrize("chapter", [2, 3, 4, 6, 7])
def test_a_chapter_trains_nothing_after_its_runs_are_computed(chapter, tmp_path, monkeypatch):
    claim = experiments.claim(chapter)
    runs = list(claim.runs(TINY).values())
    copied = copy_from_book_cache(runs)
    assert parallel.compute(runs) > 0 or copied
    assert parallel.compute(runs) == 0
    before = run.cached_runs()

    # load() is a pure cache read: it fits nothing ...
    with monkeypatch.context() as m:
        for mod, fit in ((ntp_mod, "_fit_ntp"), (rl_mod, "_fit_rl")):
            m.setattr(mod, fit, lambda *a, **k: pytest.fail("load() trained a run"))
        ex = claim.load(TINY)
    assert run.cached_runs() == before
    # ... and gives every number the chapter's text cites
    # (and the status sentences its outcomes() glue: verdicts.glue_outcomes)
    glued = set(ex.numbers()) | {f"status_{o.claim}" for o in ex.outcomes()}
    assert cited(chapter), "no {glue:text} citation found: is the pattern still right?"
    missing = cited(chapter) - glued
    assert not missing, f"chapter {chapter} cites names its numbers() lacks: {sorted(missing)}"

    # executing the chapter adds no cached run either
    ch = next(c for c in run.chapters() if c.name.startswith(f"0{chapter}_"))
    run.execute(ch, "tiny", tmp_path / "out", progress=False)
    assert run.cached_runs() == before
