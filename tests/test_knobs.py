"""The reader's knobs (companion/knobs.py): validated, applied to a new Profile, the default is the
profile itself (the same cache keys), and a parameter a chapter does not declare is refused."""

import dataclasses

import jupytext
import pytest

from companion import knobs
from companion.cache import cache_root, run_dir
from companion.config import ConfigError
from companion.experiments import ntp_threshold, rl_after_ntp, test_time
from companion.profiles import CPU, PAPER, PROFILES, TINY
from companion.run import ROOT, chapters

EXPERIMENTS = (ntp_threshold, rl_after_ntp, test_time)


def run_keys(prof) -> dict[str, str]:
    """The cache key of every run chapters 2-4 train under ``prof``."""
    return {f"{m.__name__}:{name}": run_dir(run.kind, run.key).name
            for m in EXPERIMENTS for name, run in m.runs(prof).items()}


@pytest.mark.parametrize("chapter", list(knobs.CHAPTERS))
@pytest.mark.parametrize("profile", ["tiny", "cpu"])
def test_no_knobs_is_the_profile_itself(chapter, profile):
    """Default parameters (every knob None): the very same Profile, so every cached run is reused."""
    ns = {"profile": profile, **{k: None for k in knobs.declared(chapter)[1:]}}
    assert knobs.chapter_profile(chapter, ns) is PROFILES[profile]


@pytest.mark.parametrize("prof", [TINY, CPU, PAPER], ids=lambda p: p.name)
def test_knobs_at_the_profile_values_give_the_same_runs(prof):
    """A knob given the profile's own value changes nothing: equal configs, equal cache keys."""
    h, r, lin = prof.headline, prof.rl_after_ntp, prof.linear
    same = knobs.Knobs(d=h.task.d, p_cot=h.task.p_cot, ntp_steps=r.start_steps,
                       sweep_steps=prof.ntp_threshold.sweep.base.train.steps,
                       sweep_seeds=list(prof.ntp_threshold.sweep.seeds), rl_steps=r.rl.steps,
                       rl_seeds=list(r.seeds), ntp_seeds=list(r.ntp_seeds), linear_d=lin.d, linear_seeds=list(lin.seeds),
                       worded_d=prof.llama.worded.data.d, worded_p_cot=prof.llama.worded.data.p_cot,
                       worded_sft_steps=prof.llama.worded.sft_steps)
    if prof.ntp_threshold.long_run_steps != r.start_steps:  # paper: not one run; leave it be
        same = dataclasses.replace(same, ntp_steps=None)
    assert same.apply(prof) == prof
    assert run_keys(same.apply(prof)) == run_keys(prof)


@pytest.mark.parametrize("name,value,read", [
    ("d", 14, lambda p: (p.headline.task.d, p.headline.model.block_size >= 30)),
    ("p_cot", 0.2, lambda p: (p.headline.task.p_cot, 0.2 in p.ntp_threshold.long_run_p_cots)),
    ("ntp_steps", 40, lambda p: (p.headline.train.steps, p.rl_after_ntp.start_steps,
                                 p.ntp_threshold.long_run_steps)),
    ("sweep_steps", 7, lambda p: p.ntp_threshold.sweep.base.train.steps),
    ("sweep_seeds", [1, 2], lambda p: p.ntp_threshold.sweep.seeds),
    ("rl_steps", 3, lambda p: p.rl_after_ntp.rl.steps),
    ("rl_seeds", [4], lambda p: p.rl_after_ntp.seeds),
    ("ntp_seeds", [0, 3], lambda p: p.rl_after_ntp.ntp_seeds),
    ("linear_d", 10, lambda p: p.linear.d),
    ("linear_seeds", [3, 5], lambda p: p.linear.seeds),
    ("worded_d", 9, lambda p: (p.llama.worded.data.d, p.llama.worded.max_new_tokens)),
    ("worded_p_cot", 0.3, lambda p: p.llama.worded.data.p_cot),
    ("worded_sft_steps", 5, lambda p: p.llama.worded.sft_steps),
])
def test_each_knob_lands_where_it_says(name, value, read):
    prof = knobs.Knobs(**{name: value}).apply(TINY)
    expected = {"d": (14, True), "p_cot": (0.2, True), "ntp_steps": (40, 40, 40),
                "sweep_seeds": (1, 2), "rl_seeds": (4,), "ntp_seeds": (0, 3),
                "linear_seeds": (3, 5),
                "worded_d": (9, TINY.llama.worded.max_new_tokens + 3)}.get(name, value)
    assert read(prof) == expected
    assert prof.name == "tiny" and prof != TINY


def test_p_cot_moves_the_long_run_that_rl_starts_from():
    """Chapter 2's long run at the headline p_cot and chapter 3's RL start stay one run."""
    for base in (TINY, CPU):
        prof = knobs.Knobs(p_cot=0.2, ntp_steps=300).apply(base)
        assert rl_after_ntp.start_config(prof) in prof.ntp_threshold.long_runs(prof.headline)
        assert run_keys(prof) != run_keys(base)
    # the too-early starts that fall inside the shorter run are kept: cpu's 250, not 375-625
    assert knobs.Knobs(ntp_steps=300).apply(CPU).rl_after_ntp.early_steps == (250,)
    # tiny has a second long run (0.25): it is kept, the headline's (0.1) becomes 0.2
    assert knobs.Knobs(p_cot=0.2).apply(TINY).ntp_threshold.long_run_p_cots == (0.2, 0.25)
    assert knobs.Knobs(p_cot=0.25).apply(TINY).ntp_threshold.long_run_p_cots == (0.25,)


def test_linear_d_moves_the_d_relative_star_p_cots():
    prof = knobs.Knobs(linear_d=20).apply(CPU)
    assert prof.linear.star_p_cots == (0.25, 0.1, 20 ** -1, 20 ** -1.5, 20 ** -2, 2.0 ** -20)


@pytest.mark.parametrize("params,message", [
    ({"d": 1}, "invalid d=1: must be an integer in [2, 512]."),
    ({"d": 12.5}, "invalid d=12.5: must be an integer in [2, 512]."),
    ({"p_cot": 1.5}, "invalid p_cot=1.5: must be a number in [0.0, 1.0]."),
    ({"p_cot": True}, "invalid p_cot=True: must be a number in [0.0, 1.0]."),
    ({"sweep_steps": 0}, "invalid sweep_steps=0: must be an integer >= 1."),
    ({"sweep_steps": "5"}, "invalid sweep_steps='5': must be an integer >= 1."),
    ({"sweep_seeds": 3}, "invalid sweep_seeds=3: must be a non-empty list of distinct integers >= 0"),
    ({"sweep_seeds": [0, 0]}, "invalid sweep_seeds=[0, 0]: must be a non-empty list of distinct"),
    ({"sweep_seeds": []}, "invalid sweep_seeds=[]: must be a non-empty list"),
    ({"ntp_steps": 10}, "invalid ntp_steps=10: must be an integer > 10 under profile 'tiny'"),
])
def test_bad_values_are_refused_naming_the_knob_and_the_range(params, message):
    with pytest.raises(ConfigError) as e:
        knobs.chapter_profile("02_ntp", {"profile": "tiny", **params})
    assert message in str(e.value)


def test_seed_lists_from_papermill_strings_are_parsed():
    # `papermill -p sweep_seeds "[0, 1]"` injects the string
    prof = knobs.chapter_profile("02_ntp", {"profile": "tiny", "sweep_seeds": "[0, 1]"})
    assert prof.ntp_threshold.sweep.seeds == (0, 1)


def test_an_unknown_parameter_is_refused_with_the_accepted_ones():
    with pytest.raises(ConfigError) as e:
        knobs.chapter_profile("02_ntp", {"profile": "tiny", "p_kot": 0.2})
    msg = str(e.value)
    assert msg.startswith("invalid p_kot=0.2: is not a parameter of chapter 02_ntp (did you mean p_cot?)")
    assert "accepted: profile, d, p_cot, ntp_steps, sweep_steps, sweep_seeds." in msg
    # a knob of another chapter is unknown here too (chapter 5's)
    with pytest.raises(ConfigError, match="invalid linear_d=10: is not a parameter of chapter 02_ntp"):
        knobs.chapter_profile("02_ntp", {"profile": "tiny", "linear_d": 10})


def test_a_kernels_own_names_are_not_parameters():
    import math

    ns = {"profile": "tiny", "In": [""], "Out": {}, "get_ipython": print, "exit": None, "quit": None,
          "open": open, "_": 3, "_i1": "x", "__name__": "__main__", "math": math,
          "plots_theme": print, "Profile": type}  # imported functions and classes are no literals
    assert knobs.chapter_profile("02_ntp", ns) is TINY


def test_a_rerun_setup_cell_checks_values_not_the_later_cells_names():
    """In Jupyter the setup cell may run again after later cells defined their own names."""
    ns = {"profile": "tiny", "p_cot": 0.2}
    first = knobs.chapter_profile("02_ntp", ns)
    ns["acc_low"] = 0.5  # a later cell's result
    assert knobs.chapter_profile("02_ntp", ns) == first
    ns["p_cot"] = 7.0  # an edited parameters cell is still checked
    with pytest.raises(ConfigError, match="invalid p_cot=7.0"):
        knobs.chapter_profile("02_ntp", ns)


def parameters_cell(chapter) -> str:
    nb = jupytext.read(chapter.source)
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    return cell.source


@pytest.mark.parametrize("chapter", [c for c in chapters() if c.name in knobs.CHAPTERS],
                         ids=lambda c: c.name)
def test_the_parameters_cell_declares_exactly_the_chapters_knobs(chapter):
    """The parameters cell (what papermill and a reader see) and knobs.CHAPTERS agree, every knob
    defaults to None, and the first setup cell hands its globals to chapter_profile."""
    ns: dict = {}
    exec(parameters_cell(chapter), ns)
    del ns["__builtins__"]
    assert set(ns) == set(knobs.declared(chapter.name))
    assert ns.pop("profile") == "cpu" and all(v is None for v in ns.values())
    for name in knobs.CHAPTERS[chapter.name]:
        assert f"{name} = None  # " in parameters_cell(chapter)  # each says what it means
    assert f'knobs.chapter_profile("{chapter.name}", globals())' in chapter.source.read_text()


def test_every_chapter_of_the_book_is_known():
    assert [c.name for c in chapters()] == list(knobs.CHAPTERS)


def test_book_params_go_only_to_the_chapters_that_declare_them():
    params = {"p_cot": 0.2, "linear_d": 10}
    assert knobs.for_chapter("01_setup", params) == {"p_cot": 0.2}
    assert knobs.for_chapter("05_linear", params) == {"linear_d": 10}
    assert knobs.for_chapter("06_llama", params) == {}
    knobs.check_book("tiny", list(knobs.CHAPTERS), params)
    with pytest.raises(ConfigError, match=r"invalid p_cot=0.2: is not a parameter of the selected "
                                          r"chapters 05_linear; accepted: linear_d, linear_seeds\."):
        knobs.check_book("tiny", ["05_linear"], {"p_cot": 0.2})
    with pytest.raises(ConfigError, match="invalid ntp_steps=5: must be an integer > 10"):
        knobs.check_book("tiny", ["02_ntp"], {"ntp_steps": 5})


@pytest.mark.parametrize("text,value", [("0.2", 0.2), ("20", 20), ("[0, 1]", [0, 1]), ("None", None),
                                        ("null", None), ("true", True), ("/data/llama", "/data/llama")])
def test_values_are_python_or_yaml_literals(text, value):
    assert knobs.literal(text) == value


def test_every_knob_and_parameter_has_a_help_line():
    rows = knobs.table()
    assert [r["name"] for r in rows][:2] == ["d", "p_cot"]
    assert {r["name"] for r in rows} == set(knobs.KNOBS) | {"llama_dir", "data_files"}
    assert all(r["meaning"] for r in rows)


def execute_chapter_2(tmp_path, **params):
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    src = tmp_path / "02_ntp.ipynb"
    nb = jupytext.read(ROOT / "book" / "02_ntp.py")
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    jupytext.write(nb, src, fmt="ipynb")
    out = tmp_path / f"out-{len(list(tmp_path.glob('out-*')))}.ipynb"
    try:
        pm.execute_notebook(src, out, parameters={"profile": "tiny", **params}, kernel_name="python3",
                            cwd=str(ROOT / "book"), progress_bar=False)
    except PapermillExecutionError as e:
        return e
    return None


def cached() -> set[str]:
    """The finished runs in the (test's own) cache."""
    return {p.name for p in cache_root().glob("*-*") if p.is_dir()} if cache_root().exists() else set()


@pytest.mark.slow
def test_papermill_knobs_reach_the_runs_and_a_misspelt_one_fails_before_training(tmp_path):
    # few steps: the chapter only has to run, with p_cot=0.2 in its runs' configs
    fast = {"sweep_steps": 2, "ntp_steps": 11}
    err = execute_chapter_2(tmp_path, p_cot=0.2, **fast)
    assert err is None, err
    prof = knobs.Knobs(p_cot=0.2, **fast).apply(TINY)
    runs = ntp_threshold.runs(prof)
    want = {run_dir(r.kind, r.key).name for r in runs.values()}
    assert want <= cached()  # every run the chapter lists under the knobs was trained
    # the headline's long run moved from p_cot 0.1 to 0.2: a run (and cache key) of its own
    # (tiny's two sweep points are both nearest 1/3: each has its extra seed)
    assert set(runs) == {"long p_cot=0.2", "long p_cot=0.25", "sweep p_cot=0.1 seed 0",
                         "sweep p_cot=0.5 seed 0", "sweep p_cot=0.1 seed 1", "sweep p_cot=0.5 seed 1"}
    without = ntp_threshold.runs(knobs.Knobs(**fast).apply(TINY))
    assert run_dir(without["long p_cot=0.1"].kind, without["long p_cot=0.1"].key).name not in cached()

    before = cached()
    err = execute_chapter_2(tmp_path, p_kot=0.2)
    assert err is not None and err.ename == "ConfigError"
    assert "p_kot" in err.evalue and "did you mean p_cot?" in err.evalue
    assert err.cell_index <= 3  # the first setup cell (after the injected parameters): no later one ran
    assert cached() == before  # ... and nothing was trained
