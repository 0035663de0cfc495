"""The build report page (``book/build_report``): what built each chapter of a book.

For each chapter: the profile, papermill's execution time (myst-nb's own execution table is
empty, because papermill executes the notebooks, not myst-nb), the runner's wall time, and the
runs trained or read from the cache; for the build: the machine, the software, the commit. The
runner (:mod:`companion.run`) measures, :func:`report_page` writes the page.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

# companion.cache.lookup appends the folder of every run it finds to the file this names: the
# chapter's kernel and its worker processes inherit it, so the runner counts the runs read
READS_ENV = "COMPANION_CACHE_READS"


@dataclass(frozen=True)
class ChapterRun:
    """One chapter of a build, as the report shows it (None: not measured)."""

    name: str  # "02_ntp"
    profile: str
    executed_s: float | None  # papermill's execution time (metadata.papermill.duration)
    started: str | None  # papermill's start time, ISO 8601 UTC
    wall_s: float | None = None  # the runner's wall time: kernel start and conversion included
    trained: int | None = None  # runs trained and added to the cache
    read: int | None = None  # runs read from the cache
    parameters: str = ""  # what papermill injected: profile="tiny"


def chapter_run(notebook: Path, wall_s: float | None = None, trained: int | None = None,
                read: int | None = None) -> ChapterRun:
    """The report's row for an executed notebook: papermill's timing from its metadata, the
    runner's measurements as given. (myst-nb's own execution table is empty: it executes nothing.)"""
    pm = json.loads(notebook.read_text()).get("metadata", {}).get("papermill", {})
    params = pm.get("parameters", {})
    return ChapterRun(name=notebook.stem, profile=str(params.get("profile", "unknown")),
                      executed_s=pm.get("duration"), started=pm.get("start_time"), wall_s=wall_s,
                      trained=trained, read=read,
                      parameters=", ".join(f"{k}={v!r}" for k, v in params.items()))


@contextlib.contextmanager
def cache_reads(log: Path):
    """While the block runs, cache hits are logged to ``log`` (see ``READS_ENV``); yields a
    function that returns the folder names of the runs found so far."""
    log.parent.mkdir(parents=True, exist_ok=True)
    log.unlink(missing_ok=True)
    previous = os.environ.get(READS_ENV)
    os.environ[READS_ENV] = str(log)
    try:
        yield lambda: set(log.read_text().split()) if log.is_file() else set()
    finally:
        if previous is None:
            os.environ.pop(READS_ENV, None)
        else:
            os.environ[READS_ENV] = previous
        log.unlink(missing_ok=True)


def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> tuple[str, str]:
    """(CPU, GPU) of this machine, in words."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass  # not Linux: platform's name for the processor
    cpu = f"{model}, {os.cpu_count()} cores"
    try:
        import torch

        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        gpu = ", ".join(torch.cuda.get_device_name(i) for i in range(n)) or "none"
    except ImportError:
        gpu = "unknown (torch is not installed)"
    return cpu, gpu


def commit(root: Path) -> str:
    """The checkout's commit (and whether it had uncommitted changes), or why it is unknown."""
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)

    try:
        top = git("rev-parse", "--show-toplevel")
    except FileNotFoundError:
        return "unknown (git is not installed)"
    if top.returncode != 0 or Path(top.stdout.strip()).resolve() != root.resolve():
        return "unknown (not a git checkout)"
    sha = git("rev-parse", "HEAD").stdout.strip() or "unknown (no commit yet)"
    dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    return f"{sha} (with uncommitted changes)" if dirty else sha


def build_facts(root: Path, built_at: str, scope: str, runs: list[ChapterRun],
                prefetched: str | None = None) -> dict[str, str]:
    """The report's table of the build: when, where, with what (``prefetched``: what the runner
    trained before executing the chapters, in words)."""
    from . import __version__, cache

    cpu, gpu = machine()
    # each chapter receives only the knobs it declares: the distinct sets, joined
    params = ", ".join(sorted({r.parameters for r in runs})) or "-"
    facts = {"date": built_at, "chapters": scope, "papermill parameters": params,
             **({"runs trained before the chapters": prefetched} if prefetched else {}),
             "CPU": cpu, "GPU": gpu,
             "Python": platform.python_version(), "torch": _version("torch"),
             "lightning": _version("lightning"), "transformers": _version("transformers"),
             "companion": __version__, "commit": commit(root),
             "cache": "on" if cache.cache_enabled() else "off (every run computed)"}
    return facts


def _md(value: object) -> str:
    # a table cell: no column breaks, no math, no emphasis from a CPU's or a version's name
    return "".join("\\" + c if c in "|$*_`<[" else c for c in str(value))


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _count(value: int | None) -> str:
    return "not recorded" if value is None else str(value)


def report_page(runs: list[ChapterRun], facts: dict[str, str], archive: str) -> str:
    """The MyST page ``book/build_report``: each chapter's profile, time and cache use; the machine
    and software; the archive of the executed notebooks (at the site root)."""
    lines = [
        "# Build report", "",
        "What built the pages of this book: the profile and time of each chapter, the runs it "
        "trained or read from the cache, and the machine and software. Every chapter's executed "
        "notebook, outputs included, is behind the download button (`.ipynb`) at the top of its "
        "page; all of them together: "
        f'<a href="../{archive}" download>{archive}</a>.', "",
        "## Chapters", "",
        "| chapter | profile | executed | wall time | started (UTC) | runs trained "
        "| runs read from the cache |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        started = r.started[:19].replace("T", " ") if r.started else "-"
        lines.append(f"| {{doc}}`{r.name} <{r.name}>` | `{r.profile}` | {_seconds(r.executed_s)} "
                     f"| {_seconds(r.wall_s)} | {started} | {_count(r.trained)} | {_count(r.read)} |")
    lines += [
        "",
        "*Executed*: papermill's time for the notebook's cells; *wall time*: the runner's, "
        "starting the kernel included. A chapter that trained no run read every result from the "
        "cache: its time is then not the time to compute it. The runner trains the runs of all "
        "chapters before executing them (the row *runs trained before the chapters* below), so "
        "the chapters mostly read.", "",
        "## Machine and software", "",
        "| | |", "|---|---|",
        *(f"| {_md(k)} | {_md(v)} |" for k, v in facts.items()),
        "",
    ]
    return "\n".join(lines)
