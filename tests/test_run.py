"""The runner: chapter selection, refusing bad input before compute, loud failures, atomic publish."""

import shutil
import textwrap

import pytest

from companion.__main__ import main
from companion.config import ConfigError
from companion import run
from companion.run import ROOT, ChapterFailed, build_book, chapters, select
from test_report import executed_notebook  # a notebook as papermill leaves it

HEADER = textwrap.dedent("""\
    # ---
    # jupyter:
    #   jupytext:
    #     text_representation:
    #       extension: .py
    #       format_name: percent
    #   kernelspec:
    #     display_name: Python 3
    #     language: python
    #     name: python3
    # ---
    """)


def test_chapters_come_from_the_toc_in_order():
    names = [c.name for c in chapters()]
    assert names[:2] == ["01_setup", "02_ntp"]
    assert [c.name for c in select(["2", "01_setup"])] == ["02_ntp", "01_setup"]


def test_list_prints_profiles_and_chapters(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for word in ("tiny", "cpu", "paper", "01_setup", "02_ntp"):
        assert word in out


@pytest.mark.parametrize("argv,message", [
    (["book", "--profile", "huge"], "invalid profile='huge': must be one of ['cpu', 'paper', 'tiny']."),
    (["book", "--profile", "tiny", "--chapters", "99"], "invalid chapter='99': must be one of"),
])
def test_bad_cli_input_exits_2_before_any_compute(argv, message, capsys, tmp_path):
    out = tmp_path / "out"
    assert main(argv + ["--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()  # nothing was created, let alone executed


def test_unwritable_output_folder_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="invalid out=.*must be a writable folder"):
        build_book("tiny", ["1"], out=blocker / "sub", root=ROOT)


def scratch_book(root, chapters_src: dict[str, str]):
    (root / "book").mkdir(parents=True)
    for f in ("_config.yml", "references.bib"):
        shutil.copy2(ROOT / f, root / f)
    (root / "book" / "intro.md").write_text("# Scratch book\n")
    toc = "format: jb-book\nroot: book/intro\nchapters:\n"
    for name, body in chapters_src.items():
        (root / "book" / f"{name}.py").write_text(HEADER + body)
        toc += f"  - file: book/{name}\n"
    (root / "_toc.yml").write_text(toc)


@pytest.mark.slow
def test_a_failing_chapter_names_itself_and_keeps_the_previous_book(tmp_path):
    root, out = tmp_path / "repo", tmp_path / "out"
    scratch_book(root, {
        "01_ok": '# %% [markdown]\n# # OK\n# %% tags=["parameters"]\nprofile = "cpu"\n# %%\nprint(profile)\n',
        "02_bad": '# %% [markdown]\n# # Bad\n# %%\nx = 1\n# %%\nraise ValueError("deliberate failure")\n',
    })
    html = build_book("tiny", ["1"], out=out, progress=False, log=lambda m: None, root=root)
    page = html / "book" / "01_ok.html"
    assert "tiny" in page.read_text()  # the injected profile was executed and rendered
    good = page.read_text()
    with pytest.raises(ChapterFailed) as err:
        build_book("tiny", None, out=out, progress=False, log=lambda m: None, root=root)
    msg = str(err.value)
    assert "chapter 02_bad failed" in msg and "ValueError: deliberate failure" in msg
    assert "cell" in msg and ".ipynb" in msg
    kept = msg.rsplit("kept at ", 1)[1].strip()
    assert kept.endswith("02_bad.ipynb") and (tmp_path / kept).exists()
    assert page.read_text() == good  # the last good book is untouched
    assert not (html / "book" / "02_bad.html").exists()


def test_a_partial_build_stages_a_report_of_its_chapters_and_their_archive(tmp_path):
    import zipfile

    root, stage_dir = tmp_path / "repo", tmp_path / "stage"
    scratch_book(root, {"01_a": "# %%\n1\n", "02_b": "# %%\n2\n"})
    with (root / "_toc.yml").open("a") as f:
        f.write(f"  - file: {run.REPORT_PAGE}\n")
    picked = select(["2"], root)
    nb = executed_notebook(tmp_path / "02_b.ipynb")
    run.stage(picked, {"02_b": nb}, stage_dir, root)
    page = (stage_dir / (run.REPORT_PAGE + ".md")).read_text()
    assert "{doc}`02_b <02_b>`" in page and "01_a" not in page and "| chapters | 2 |" in page
    with zipfile.ZipFile(stage_dir / run.EXTRA / "notebooks-tiny.zip") as z:
        assert z.namelist() == ["notebooks-tiny/02_b.ipynb"]
        assert z.read("notebooks-tiny/02_b.ipynb") == nb.read_bytes()
    staged_toc = (stage_dir / "_toc.yml").read_text()
    assert run.REPORT_PAGE in staged_toc and "01_a" not in staged_toc


def _prefetched(monkeypatch, profile: str, requested=None, params=None) -> tuple[dict, int]:
    """What ``run.prefetch`` hands to ``parallel.compute`` (nothing is trained)."""
    from companion import parallel

    seen = {}

    def compute(runs, workers=1, log=None):
        seen.update(runs=runs, workers=workers)
        return 0
    monkeypatch.setattr(parallel, "compute", compute)
    run.prefetch(select(requested), profile, params or {}, log=None)
    return seen["runs"], seen["workers"]


def test_the_runs_of_every_chapter_are_trained_together_what_others_wait_for_first(monkeypatch):
    from companion import experiments
    from companion.profiles import get_profile

    cpu = get_profile("cpu")
    runs, workers = _prefetched(monkeypatch, "cpu")
    assert workers == cpu.workers
    keys = [(r.kind, r.key) for r in runs.values()]
    assert len(keys) == len(set(keys))  # a run two chapters read is listed once
    for ch in (2, 3, 4, 5, 6):
        assert {(r.kind, r.key) for r in experiments.book_runs(ch, cpu).values()} <= set(keys)
    # not the runs `make multiplication` and `make pretrained` train under cpu
    assert not any(name.startswith("chapter 7") for name in runs)
    assert not any("pretrained" in name or "prompting" in name for name in runs)
    # first every run another run starts from, then chapters 5 and 6, then the rest
    waited = {(n.kind, n.key) for r in runs.values() for n in r.needs}
    order = [0 if (r.kind, r.key) in waited else 1 if name.split(":")[0] in ("chapter 5",
             "chapter 6") else 2 for name, r in runs.items()]
    assert order == sorted(order) and order[0] == 0 and 1 in order and 2 in order
    assert ("ntp", cpu.headline) in keys[:order.count(0)]


def test_the_runs_trained_first_follow_each_chapters_knobs(monkeypatch):
    from companion import knobs
    from companion.experiments import ntp_threshold
    from companion.profiles import get_profile

    runs, _ = _prefetched(monkeypatch, "tiny", ["2"], {"sweep_steps": 20})
    want = ntp_threshold.runs(knobs.Knobs(sweep_steps=20).apply(get_profile("tiny")))
    assert {(r.kind, r.key) for r in runs.values()} == {(r.kind, r.key) for r in want.values()}


def test_with_the_cache_off_nothing_is_trained_before_the_chapters(monkeypatch):
    from companion import parallel

    monkeypatch.setenv("COMPANION_CACHE", "off")
    monkeypatch.setattr(parallel, "compute", lambda *a, **k: pytest.fail("trained"))
    assert run.prefetch(select(None), "tiny", {}, log=None) == 0
