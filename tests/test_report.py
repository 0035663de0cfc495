"""companion/report.py: the build report page, from papermill's record and the runner's counts."""

import json
import os
import re

from companion import cache, report
from companion.report import ChapterRun
from companion.run import ROOT


def executed_notebook(path, profile="tiny", duration=3.25, start="2026-01-02T03:04:05.6+00:00"):
    """A notebook as papermill leaves it: its run recorded in metadata.papermill."""
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "cells": [], "metadata": {
        "papermill": {"duration": duration, "start_time": start, "parameters": {"profile": profile}}}}))
    return path


def test_a_chapter_run_takes_its_timing_from_papermill(tmp_path):
    r = report.chapter_run(executed_notebook(tmp_path / "02_ntp.ipynb"), wall_s=4.5, trained=2, read=7)
    assert r == ChapterRun("02_ntp", "tiny", 3.25, "2026-01-02T03:04:05.6+00:00", 4.5, 2, 7,
                           "profile='tiny'")
    bare = tmp_path / "03_rl.ipynb"
    bare.write_text(json.dumps({"cells": [], "metadata": {}}))
    assert report.chapter_run(bare) == ChapterRun("03_rl", "unknown", None, None)


def test_the_build_report_lists_each_chapter_and_the_build():
    runs = [ChapterRun("01_setup", "cpu", 2.04, "2026-01-02T03:04:05.6+00:00", 4.0, 0, 0),
            ChapterRun("02_ntp", "cpu", 61.3, "2026-01-02T03:04:10+00:00", None, None, None)]
    facts = {"date": "2026-01-02 03:04:00 UTC", "CPU": "Xeon | *fast* $5_x, 2 cores", "GPU": "none"}
    page = report.report_page(runs, facts, "notebooks-cpu.zip")
    assert page.startswith("# Build report\n")
    rows = [line for line in page.splitlines() if line.startswith("| {doc}")]
    assert rows == [
        "| {doc}`01_setup <01_setup>` | `cpu` | 2.0 s | 4.0 s | 2026-01-02 03:04:05 | 0 | 0 |",
        "| {doc}`02_ntp <02_ntp>` | `cpu` | 61.3 s | - | 2026-01-02 03:04:10 | not recorded "
        "| not recorded |"]
    # a value never breaks the table nor turns into math or emphasis
    assert "| CPU | Xeon \\| \\*fast\\* \\$5\\_x, 2 cores |" in page
    assert '<a href="../notebooks-cpu.zip" download>notebooks-cpu.zip</a>' in page


def test_the_commit_is_the_checkouts_or_says_why_it_is_unknown(tmp_path):
    assert report.commit(tmp_path) == "unknown (not a git checkout)"
    if (ROOT / ".git").exists():
        assert re.fullmatch(r"[0-9a-f]{40}( \(with uncommitted changes\))?", report.commit(ROOT))


def test_the_build_facts_name_the_machine_and_the_software(tmp_path):
    facts = report.build_facts(tmp_path, "2026-01-02 03:04:05 UTC", "2", [
        report.chapter_run(executed_notebook(tmp_path / "02_ntp.ipynb"))])
    assert facts["chapters"] == "2" and facts["papermill parameters"] == "profile='tiny'"
    assert re.search(r", \d+ cores$", facts["CPU"]) and facts["GPU"]
    for dist in ("torch", "lightning", "transformers"):
        assert re.match(r"\d+\.\d+", facts[dist]), (dist, facts[dist])
    assert facts["commit"] == "unknown (not a git checkout)"


def test_cache_hits_are_counted_for_the_report(tmp_path):
    from companion.config import TaskConfig

    cfg = TaskConfig(d=4)
    folder = cache.run_dir("ntp", cfg)
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    with report.cache_reads(tmp_path / "reads") as found:
        assert found() == set()
        assert cache.lookup("ntp", cfg) == folder
        assert cache.lookup("ntp", TaskConfig(d=5)) is None  # a miss is no read
        assert found() == {folder.name}
    assert report.READS_ENV not in os.environ and not (tmp_path / "reads").exists()
