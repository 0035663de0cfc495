"""The runner: execute chapters with papermill under a profile, then build the Jupyter Book.

Each chapter (a jupytext ``py:percent`` file listed in ``_toc.yml``) is converted to a
notebook, executed once by papermill with ``profile`` injected into its parameters
cell, and written into a fresh staging folder together with the book's pages. The
book is built there with warnings as errors and swapped into ``<out>/html`` only when
every chapter and the build succeeded: a failure leaves the last good book in place.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import knobs
from .report import ChapterRun, build_facts, cache_reads, chapter_run, report_page
from .config import check
from .profiles import PROFILES, get_profile

BOOK_DIR_ENV = "COMPANION_BOOK_DIR"


def book_root() -> Path:
    """The folder that holds the book (``_toc.yml`` and ``book/``).

    ``COMPANION_BOOK_DIR`` if set; else the checkout this package sits in (a source tree or an
    editable install); else the current directory (a non-editable install run from a checkout).
    The chapters are not part of the installed package: :func:`toc` says so when none is found.
    """
    env = os.environ.get(BOOK_DIR_ENV)
    if env:
        return Path(env).expanduser().resolve()
    for candidate in (Path(__file__).resolve().parent.parent, Path.cwd().resolve()):
        if (candidate / "_toc.yml").is_file():
            return candidate
    return Path.cwd().resolve()


ROOT = book_root()  # the repository checkout
BOOK_FILES = ("_config.yml", "references.bib")
REPORT_PAGE = "book/build_report"  # listed in _toc.yml, written by stage() for each build
SCORECARD_PAGE = "book/scorecard"  # likewise, from the chapters' glued values (companion.scorecard)
GENERATED = (REPORT_PAGE, SCORECARD_PAGE)  # pages of the toc that stage() writes
EXTRA = "_extra"  # html_extra_path in _config.yml: copied to the site root (the notebook archive)


class ChapterFailed(RuntimeError):
    """A chapter raised while executing; the message names the chapter and the cell."""


@dataclass(frozen=True)
class Chapter:
    number: str  # "01"
    name: str  # "01_setup"
    source: Path  # book/01_setup.py

    @property
    def toc_file(self) -> str:
        return f"book/{self.name}"


def toc(root: Path = ROOT) -> dict:
    check((root / "_toc.yml").is_file(), BOOK_DIR_ENV, str(root),
          "must be a checkout of the companion repository (it holds _toc.yml and book/*.py): the "
          "chapters are not part of the installed package; run from the checkout or set "
          f"{BOOK_DIR_ENV}=/path/to/checkout")
    return yaml.safe_load((root / "_toc.yml").read_text())


def chapters(root: Path = ROOT) -> list[Chapter]:
    """Executable chapters in _toc.yml order (markdown pages are not chapters)."""
    out = []
    for entry in toc(root).get("chapters", []):
        src = root / (entry["file"] + ".py")
        if src.is_file():
            name = src.stem
            out.append(Chapter(number=name.split("_")[0], name=name, source=src))
    return out


def select(requested: list[str] | None, root: Path = ROOT) -> list[Chapter]:
    """Chapters by number ("2", "02") or name ("02_ntp"); None selects all. Unknown -> ConfigError."""
    available = chapters(root)
    if not requested:
        return available
    picked = []
    for r in requested:
        match = [c for c in available if r in (c.name, c.number, c.number.lstrip("0"))]
        check(bool(match), "chapter", r,
              f"must be one of {[c.number.lstrip('0') for c in available]} or "
              f"{[c.name for c in available]}")
        picked += [c for c in match if c not in picked]
    return picked


def to_notebook(chapter: Chapter, path: Path) -> None:
    import jupytext

    nb = jupytext.read(chapter.source)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    jupytext.write(nb, path, fmt="ipynb")


def execute(chapter: Chapter, profile: str, out_dir: Path, progress: bool = False,
            params: dict | None = None) -> Path:
    """Execute one chapter under ``profile`` (and the reader's ``params``, papermill parameters
    beyond ``profile``); returns the executed notebook's path.

    Raises :class:`ChapterFailed` naming the chapter and the failing cell; the partly
    executed notebook is kept at the path given in the message.
    """
    import papermill as pm
    from jupyter_client import KernelManager
    from papermill.exceptions import PapermillExecutionError

    out_dir.mkdir(parents=True, exist_ok=True)
    src = out_dir / f"{chapter.name}.source.ipynb"
    dst = out_dir / f"{chapter.name}.ipynb"
    to_notebook(chapter, src)
    # a local IPC kernel: no TCP ports, and no "running over TCP without encryption" warning.
    # Its sockets get an absolute path in a short temporary folder: a relative one is created in
    # the kernel's cwd (book/) but cleaned up relative to ours, and socket paths must stay short
    sockets = tempfile.mkdtemp(prefix="companion-kernel-")
    km = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "ipc"))
    try:
        pm.execute_notebook(src, dst, parameters={"profile": profile, **(params or {})}, kernel_name="python3",
                            cwd=str(chapter.source.parent), progress_bar=progress, log_output=False,
                            km=km)
    except PapermillExecutionError as e:
        raise ChapterFailed(
            f"chapter {chapter.name} failed in cell {e.exec_count} (code cell #{e.cell_index}): "
            f"{e.ename}: {e.evalue}\nThe executed notebook is kept at {dst}") from None
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=True)
        shutil.rmtree(sockets, ignore_errors=True)
        src.unlink(missing_ok=True)
    add_banner(dst, profile, params)
    return dst


def add_banner(path: Path, profile: str, params: dict | None = None) -> None:
    """Hide papermill's injected parameters and say, under the title, which profile (and which of
    the reader's knobs) ran the page."""
    import nbformat
    import torch

    from . import __version__

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    when = time.strftime("%Y-%m-%d")
    given = {k: v for k, v in (params or {}).items() if v is not None}
    knob_words = (" with " + ", ".join(f"`{k}={v!r}`" for k, v in given.items())) if given else ""
    knob_flags = "".join(f" -p {k} {v!r}" for k, v in given.items())
    banner = nbformat.v4.new_markdown_cell(
        f":::{{note}}\nThe numbers on this page were measured when it was built ({when}), under the "
        f"**`{profile}`** profile{knob_words}: `python -m companion book --profile {profile}"
        f"{knob_flags}` (companion "
        f"{__version__}, torch {torch.__version__.split('+')[0]}). {PROFILES[profile].description}.\n:::")
    banner.metadata["tags"] = ["companion-banner"]
    first_md = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), -1)
    nb.cells.insert(first_md + 1, banner)
    nbformat.write(nb, path)


def mathjax_dir() -> Path:
    """MathJax 3 shipped by the django-static-mathjax wheel (served locally: no CDN)."""
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("MathJax is missing: install requirements-nodeps.txt "
                           "(pip install --no-deps -r requirements-nodeps.txt)")
    return Path(spec.submodule_search_locations[0]) / "static" / "mathjax" / "es5"


def stage(selected: list[Chapter], notebooks: dict[str, Path], stage_dir: Path,
          root: Path = ROOT, runs: list[ChapterRun] | None = None,
          built_at: str | None = None, prefetched: str | None = None) -> None:
    """Lay out a buildable book: config, pages, executed chapters, the build report and scorecard
    pages, the archive of the executed notebooks, local MathJax.

    ``runs``: what the runner measured per chapter (default: papermill's record in each notebook,
    with the runs trained and read unknown).
    """
    (stage_dir / "book").mkdir(parents=True)
    for f in BOOK_FILES:
        shutil.copy2(root / f, stage_dir / f)
    for md in (root / "book").glob("*.md"):
        shutil.copy2(md, stage_dir / "book" / md.name)
    for ch in selected:
        shutil.copy2(notebooks[ch.name], stage_dir / "book" / f"{ch.name}.ipynb")
    runs = runs if runs is not None else [chapter_run(notebooks[ch.name]) for ch in selected]
    profiles = sorted({r.profile for r in runs})
    archive = f"notebooks-{'-'.join(profiles) or 'none'}.zip"
    (stage_dir / EXTRA).mkdir()
    with zipfile.ZipFile(stage_dir / EXTRA / archive, "w", zipfile.ZIP_DEFLATED) as z:
        for ch in selected:
            z.write(notebooks[ch.name], f"{archive[:-4]}/{ch.name}.ipynb")
    doc = toc(root)
    keep = {c.toc_file for c in selected}
    doc["chapters"] = [e for e in doc.get("chapters", [])
                       if e["file"] in keep or e["file"] in GENERATED
                       or (root / (e["file"] + ".md")).is_file()]
    if any(e["file"] == REPORT_PAGE for e in doc["chapters"]):
        scope = "all" if len(selected) == len(chapters(root)) else ", ".join(
            c.number.lstrip("0") for c in selected)
        page = report_page(runs, build_facts(root, built_at or time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                                             scope, runs, prefetched), archive)
        (stage_dir / (REPORT_PAGE + ".md")).write_text(page)
    if any(e["file"] == SCORECARD_PAGE for e in doc["chapters"]):
        from . import scorecard  # here: it draws with matplotlib, which the CLI need not import

        scorecard.write_page({ch.name: notebooks[ch.name] for ch in selected},
                             ", ".join(profiles) or "unknown", stage_dir / (SCORECARD_PAGE + ".md"))
    (stage_dir / "_toc.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    # not under `_static`: Jupyter Book adds every .js file found there to every page
    shutil.copytree(mathjax_dir(), stage_dir / "_mathjax" / "mathjax",
                    ignore=shutil.ignore_patterns("sre", "*-full*", "*speech*", "mml-*", "node-main*"))


def jupyter_book(stage_dir: Path) -> None:
    exe = Path(sys.executable).parent / "jupyter-book"
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(stage_dir), "--all",
           "-W", "-n", "--keep-going", "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not (stage_dir / "_build" / "html" / "index.html").is_file():
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
        raise RuntimeError(f"jupyter-book build failed (exit {proc.returncode}):\n{tail}")


def publish(built: Path, out: Path) -> Path:
    """Swap ``built`` into ``out/html``; the previous book is removed only after the swap."""
    html = out / "html"
    old = out / ".html-old"
    shutil.rmtree(old, ignore_errors=True)
    if html.exists():
        os.replace(html, old)
    os.replace(built, html)
    shutil.rmtree(old, ignore_errors=True)
    return html


INDEPENDENT = (5, 6)  # chapters whose runs wait for no other run


def prefetch(selected: list[Chapter], profile: str, params: dict | None = None,
             log=print) -> int:
    """Train every run the ``selected`` chapters will read (``experiments.book_runs``, under each
    chapter's knobs) that is not cached yet, all chapters together, ``workers`` at a time (the
    profile's): no worker waits at the end of one chapter while another chapter has work. Returns
    how many were trained. With the cache off, nothing: each chapter computes its own runs."""
    from . import cache, experiments, parallel

    base = get_profile(profile)
    if not cache.cache_enabled():
        return 0
    runs: dict = {}  # (kind, key) -> (name, run): a run two chapters read is trained once
    rank: dict = {}  # (kind, key) -> which runs start first (0), next (1), then the rest (2)
    for ch in selected:
        number = int(ch.number)
        if ch.name not in knobs.CHAPTERS or number not in experiments.CLAIMS:
            continue  # a page without runs, or a scratch book's chapter: it computes its own
        prof = knobs.validate(ch.name, knobs.for_chapter(ch.name, params)).apply(base)
        for name, r in experiments.book_runs(number, prof).items():
            # first what other runs wait for (the NTP runs RL starts from), then the runs of the
            # chapters whose runs wait for nothing and are long (the linear experiments, the LLM
            # runs), then the rest in the chapters' order (each lists its longest first): the
            # last runs to finish are short ones
            for i, need in enumerate(r.needs):
                key = (need.kind, need.key)
                runs.setdefault(key, (f"chapter {number}: {name}'s start" + (f" {i + 1}" if i else ""),
                                      need))
                rank[key] = 0
            runs.setdefault((r.kind, r.key), (f"chapter {number}: {name}", r))
            rank.setdefault((r.kind, r.key), 1 if number in INDEPENDENT else 2)
    order = sorted(runs, key=rank.__getitem__)  # stable: the chapters' order within a rank
    return parallel.compute(dict(runs[k] for k in order), base.workers, log=log)


def build_book(profile: str, requested: list[str] | None = None, out: Path | None = None,
               progress: bool = True, log=print, root: Path = ROOT,
               params: dict | None = None) -> Path:
    """Execute the selected chapters under ``profile`` and build the book into ``out/html``.

    ``root`` is the folder holding ``_toc.yml`` (the repository; tests pass a scratch book).
    """
    from . import cache

    get_profile(profile)  # validates name and hardware before any compute
    selected = select(requested, root)
    out = (out or root / "_build").resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        check(False, "out", str(out), f"must be a writable folder ({e.strerror})")
    notebooks_dir = out / "notebooks" / profile
    stage_dir = out / f".stage-{os.getpid()}"
    shutil.rmtree(stage_dir, ignore_errors=True)
    t_all = time.perf_counter()
    executed: dict[str, Path] = {}
    scratch = out / f".executing-{os.getpid()}"
    built_at = time.strftime("%Y-%m-%dT%H:%M:%S")
    scope = "all" if len(selected) == len(chapters(root)) else " ".join(c.number for c in selected)
    trained_total = 0
    runs: list[ChapterRun] = []
    try:
        prefetched = None
        if cache.cache_enabled():
            workers = get_profile(profile).workers
            log(f"training the runs of the chapters that are not cached, {workers} at a time ...")
            t0 = time.perf_counter()
            trained_total = prefetch(selected, profile, params, log=lambda m: log(f"  run {m}"))
            seconds = time.perf_counter() - t0
            record_timing(out, built_at, profile, RUNS_ROW, seconds, trained_total, scope)
            prefetched = f"{trained_total} in {seconds:.1f} s, {workers} at a time"
            log(f"{trained_total} runs trained in {seconds:.1f} s")
        for i, ch in enumerate(selected, 1):
            log(f"[{i}/{len(selected)}] {ch.name}: executing under profile '{profile}' ...")
            t0 = time.perf_counter()
            before = cached_runs()
            with cache_reads(scratch / f"{ch.name}.cache-reads") as found:
                executed[ch.name] = execute(ch, profile, scratch, progress=progress,
                                            params=knobs.for_chapter(ch.name, params))
                seconds = time.perf_counter() - t0
                new = cached_runs() - before
                read = len(found() - new)  # a run trained here is found again when it is read
            trained = len(new)
            trained_total += trained
            # with the cache off every run is computed and none is counted: the report says so
            counted = cache.cache_enabled()
            runs.append(chapter_run(executed[ch.name], seconds, trained if counted else None,
                                    read if counted else None))
            record_timing(out, built_at, profile, ch.name, seconds, trained, scope)
            log(f"[{i}/{len(selected)}] {ch.name}: done in {seconds:.1f} s")
        log("building the book (jupyter-book, warnings are errors) ...")
        stage(selected, executed, stage_dir, root, runs=runs,
              built_at=f"{built_at.replace('T', ' ')} {time.strftime('%Z')}", prefetched=prefetched)
        jupyter_book(stage_dir)
        html = publish(stage_dir / "_build" / "html", out)
        # keep the executed notebooks (for nbval and inspection) only once everything succeeded
        notebooks_dir.mkdir(parents=True, exist_ok=True)
        for name, path in executed.items():
            os.replace(path, notebooks_dir / f"{name}.ipynb")
    finally:
        shutil.rmtree(stage_dir, ignore_errors=True)
        if scratch.exists() and not any(scratch.iterdir()):
            scratch.rmdir()
    record_timing(out, built_at, profile, BOOK_ROW, time.perf_counter() - t_all, trained_total, scope)
    log(f"book built in {time.perf_counter() - t_all:.1f} s: {html / 'index.html'}")
    return html


# --- wall times, read by `python -m companion bench` -----------------------------------------
TIMINGS = "timings.csv"  # appended to in the output folder by every build
BOOK_ROW = "(whole book)"  # the row for all selected chapters plus the Jupyter Book build
RUNS_ROW = "(runs before the chapters)"  # the row for the runs trained before any chapter runs


def cached_runs() -> set[str]:
    """Names of the finished runs in the cache (a chapter that adds none ran entirely from it)."""
    from . import cache

    root = cache.cache_root()
    if not cache.cache_enabled() or not root.is_dir():
        return set()
    # not the converted checkpoints' folder (llm.models.models_root): a conversion is not a run
    return {p.name for p in root.iterdir()
            if not p.name.startswith(".") and p.is_dir() and p.name != "models"}


def record_timing(out: Path, built_at: str, profile: str, chapter: str, seconds: float,
                  trained: int, scope: str) -> None:
    """Append one row to ``out/timings.csv``.

    ``new_runs`` is how many runs the chapter trained and stored in the cache: 0 means it read
    every result from a warm cache, so its time is not the time to compute it. With the cache
    off (``cache`` = off) every run is computed and none is counted.
    """
    import csv

    from . import cache

    path = out / TIMINGS
    new = not path.is_file()
    with path.open("a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(["built_at", "profile", "chapter", "seconds", "new_runs", "cache", "scope"])
        w.writerow([built_at, profile, chapter, f"{seconds:.1f}", trained,
                    "on" if cache.cache_enabled() else "off", scope])


def describe_profiles() -> list[str]:
    lines = []
    for name, p in PROFILES.items():
        h = p.headline
        lines.append(f"{name:6s} {p.description}\n       headline NTP run: d={h.task.d}, p_cot={h.task.p_cot}, "
                     f"{h.model.n_layer} layers x {h.model.n_embd}, {h.train.steps} steps x "
                     f"{h.train.batch_size}{'  [needs a GPU]' if p.needs_gpu else ''}")
    return lines
