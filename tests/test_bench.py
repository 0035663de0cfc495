"""The benchmark's bookkeeping (its timings are measured by `python -m companion bench`, not here)."""

import pandas as pd
import pytest

from companion import bench
from companion.profiles import get_profile


def test_token_count_follows_right_sized_padding():
    cfg = get_profile("tiny").headline  # d=12: short rows compute 14 positions, long rows 25
    tokens, flops = bench.step_tokens_and_flops(cfg, steps=2)
    n = 2 * cfg.train.batch_size
    assert 14 * n <= tokens <= 25 * n
    assert flops > 6 * 12 * cfg.model.n_layer * cfg.model.n_embd ** 2 * tokens * 0.99


def test_markdown_table_has_a_row_per_measure():
    df = pd.DataFrame([{"benchmark": "b", "measure": "m", "value": 1234.5}])
    assert bench.markdown(df).splitlines()[-1] == "| b | m | 1.23e+03 |"


def test_markdown_says_missing_for_an_unmeasured_value():
    df = pd.DataFrame([{"benchmark": "b", "measure": "m", "value": float("nan")}])
    assert bench.markdown(df).splitlines()[-1] == "| b | m | missing |"


def _timings(path, rows):
    header = "built_at,profile,chapter,seconds,new_runs,cache,scope\n"
    path.write_text(header + "".join(",".join(map(str, r)) + "\n" for r in rows))


def test_chapter_timings_keep_the_latest_build_and_say_how_warm_the_cache_was(tmp_path):
    from companion.run import BOOK_ROW

    path = tmp_path / "timings.csv"
    _timings(path, [
        ("2026-01-01T10:00:00", "cpu", "01_setup", 4.0, 0, "on", "all"),
        ("2026-01-01T10:00:00", "cpu", "02_ntp", 600.0, 9, "on", "all"),
        ("2026-01-01T10:00:00", "cpu", BOOK_ROW, 700.0, 9, "on", "all"),
        ("2026-01-02T10:00:00", "cpu", "02_ntp", 30.0, 0, "on", "02"),  # a later partial rebuild
        ("2026-01-02T10:00:00", "cpu", BOOK_ROW, 60.0, 0, "on", "02"),  # not the whole book
        ("2026-01-03T10:00:00", "tiny", "01_setup", 1.0, 0, "off", "all"),  # another profile
    ])
    rows = bench.timing_rows({"cpu": path, "tiny": tmp_path / "absent.csv"})
    got = {r["measure"].split(",")[0]: (r["value"], r["measure"]) for r in rows}
    assert got["01_setup"][0] == 4.0 and "warm cache: nothing trained" in got["01_setup"][1]
    assert got["02_ntp"][0] == 30.0 and "2026-01-02" in got["02_ntp"][1]
    assert got[BOOK_ROW][0] == 700.0 and "9 runs trained" in got[BOOK_ROW][1]
    assert [r["measure"].split(",")[0] for r in rows if r["benchmark"] == "wall time under `cpu`"] \
        == ["01_setup", "02_ntp", BOOK_ROW]
    missing = [r for r in rows if r["benchmark"] == "wall time under `tiny`"]
    assert len(missing) == 1 and missing[0]["measure"].startswith("not measured")
    assert missing[0]["value"] != missing[0]["value"]  # NaN


def test_step_model_fit_recovers_overhead_and_rate_and_refuses_flat_data():
    import pytest

    from companion import scale

    flops = [1e9, 2e9, 4e9]
    fit = scale.fit_step_model(flops, [0.1 + f / 5e9 for f in flops])
    assert abs(fit.overhead - 0.1) < 1e-9 and abs(fit.rate - 5e9) / 5e9 < 1e-9
    assert abs(fit(8e9) - 1.7) < 1e-9
    with pytest.raises(ValueError, match="do not grow with FLOPs"):
        scale.fit_step_model(flops, [1.0, 0.9, 0.8])
    with pytest.raises(ValueError, match="two or more different sizes"):
        scale.fit_step_model([1e9, 1e9], [1.0, 1.1])


def test_paper_cost_counts_each_distinct_run_once():
    from companion import scale
    from companion.profiles import PROFILES

    prof = PROFILES["paper"]
    runs = scale.paper_runs()
    n_sweep = len(prof.sweep.p_cots) * len(prof.sweep.seeds)
    # the headline is one of the sweep's runs (same config): counted once
    assert sum(n for _, _, n in runs) == 1 + (n_sweep - 1) + len(prof.long_run_p_cots)
    cost = scale.paper_cost(scale.StepModel(overhead=1.0, rate=1e12))
    head = cost.iloc[0]
    assert head.steps == prof.headline.train.steps
    assert abs(head.cpu_hours - head.steps * (1.0 + head.flops_per_step / 1e12) / 3600) < 1e-9


def test_rl_step_split_times_both_phases_of_a_real_step():
    from companion import scale
    from companion.profiles import get_profile

    prof = get_profile("tiny")
    s = scale.rl_step_split(prof.headline, prof.rl, repeats=1, full_length=True)
    assert s["rollout_s"] > 0 and s["update_s"] > 0 and 0 < s["rollout_share"] < 1
    assert s["mean_response_tokens"] == prof.headline.task.d + 1  # chain + <eos> slot, all scored


def test_the_runner_records_chapter_times_and_runs_trained(tmp_path, isolated_cache):
    from companion import run

    assert run.cached_runs() == set()
    (isolated_cache / "ntp-abc").mkdir(parents=True)
    (isolated_cache / ".partial-ntp-def").mkdir()  # unfinished: not a run
    assert run.cached_runs() == {"ntp-abc"}
    run.record_timing(tmp_path, "2026-01-01T10:00:00", "tiny", "01_setup", 1.25, 0, "all")
    run.record_timing(tmp_path, "2026-01-01T10:00:00", "tiny", run.BOOK_ROW, 9.0, 3, "all")
    df = pd.read_csv(tmp_path / run.TIMINGS)
    assert list(df.columns) == ["built_at", "profile", "chapter", "seconds", "new_runs", "cache",
                                "scope"]
    assert df.chapter.tolist() == ["01_setup", run.BOOK_ROW] and df.new_runs.tolist() == [0, 3]
    assert df.cache.tolist() == ["on", "on"] and df.seconds.tolist() == [1.2, 9.0]


def test_parallel_rows_time_both_ways_and_leave_the_environment_alone(isolated_cache):
    import os

    rows = bench.parallel_rows(steps=2, repeats=1)
    values = {r["measure"]: r["value"] for r in rows}
    seq = values["one after the other (1 process), s"]
    par = values["2 processes at once (process start-up included), s"]
    assert seq > 0 and par > 0 and values["speed-up (x)"] == pytest.approx(seq / par)
    assert os.environ["COMPANION_CACHE_DIR"] == str(isolated_cache)
    assert "COMPANION_CACHE" not in os.environ
