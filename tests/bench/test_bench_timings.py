"""Chapter wall times: recorded by companion/run.py, read by companion/bench/timings.py."""

import pandas as pd

from companion.bench import timings


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
    rows = timings.timing_rows({"cpu": path, "tiny": tmp_path / "absent.csv"})
    got = {r["measure"].split(",")[0]: (r["value"], r["measure"]) for r in rows}
    assert got["01_setup"][0] == 4.0 and "warm cache: nothing trained" in got["01_setup"][1]
    assert got["02_ntp"][0] == 30.0 and "2026-01-02" in got["02_ntp"][1]
    assert got[BOOK_ROW][0] == 700.0 and "9 runs trained" in got[BOOK_ROW][1]
    assert [r["measure"].split(",")[0] for r in rows if r["benchmark"] == "wall time under `cpu`"] \
        == ["01_setup", "02_ntp", BOOK_ROW]
    missing = [r for r in rows if r["benchmark"] == "wall time under `tiny`"]
    assert len(missing) == 1 and missing[0]["measure"].startswith("not measured")
    assert missing[0]["value"] != missing[0]["value"]  # NaN


def test_timing_files_are_where_make_book_and_make_test_write(tmp_path):
    from companion.run import TIMINGS

    files = timings.timing_files(tmp_path)
    assert files == {"tiny": tmp_path / "_build" / "tiny" / TIMINGS,
                     "cpu": tmp_path / "_build" / TIMINGS}


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
