"""A results store keyed by the complete config (never by a file name).

Each finished run lives in ``<root>/<kind>-<key>/`` where ``key`` hashes the full
config and the package version, so a changed parameter recomputes and a stale
result is never reused. A run is written into a temporary folder and renamed into
place only when complete: an interrupted run leaves nothing a later run would read.

A run that is still training keeps its work in ``<root>/.partial-<kind>-<key>/`` (with
Lightning's last checkpoint), so a killed or interrupted run resumes when rerun; the
folder is renamed into place when the run completes.

The root is ``$COMPANION_CACHE_DIR`` if set, else ``~/.cache/companion``.
``COMPANION_CACHE=off`` disables reuse (runs still go to a fresh temporary folder).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from . import __version__
from .config import config_key, to_dict


def cache_root() -> Path:
    return Path(os.environ.get("COMPANION_CACHE_DIR", Path.home() / ".cache" / "companion"))


def cache_enabled() -> bool:
    return os.environ.get("COMPANION_CACHE", "on").lower() not in ("off", "0", "false", "no")


TIMING = "timing.json"  # in a finished run's folder: where its time went (`make bench` reads it)


def write_timing(folder: Path, **seconds: float) -> None:
    """Record the wall seconds of a run (``total_s``, of this attempt for a resumed run) and of
    its parts (evaluation, rollouts), measured in this process, beside its results."""
    (folder / TIMING).write_text(json.dumps({k: round(v, 3) for k, v in seconds.items()}))


def run_dir(kind: str, cfg: Any) -> Path:
    return cache_root() / f"{kind}-{config_key(cfg, __version__)}"


def partial_dir(kind: str, cfg: Any) -> Path:
    """Where an unfinished run of this config keeps its work (and resume checkpoint)."""
    return cache_root() / f".partial-{kind}-{config_key(cfg, __version__)}"


@contextlib.contextmanager
def exclusive(kind: str, cfg: Any) -> Iterator[None]:
    """Hold the lock of one run while it is looked up and computed, so that two processes asked
    for the same config never share its partial folder: the second waits, then finds it cached.

    Under DDP (``RANK`` set by torchrun) only the first process locks: the others train the same
    run with it. With the cache off there is nothing to share, so nothing is locked.
    """
    if not cache_enabled() or os.environ.get("RANK", "0") != "0":
        yield
        return
    root = cache_root()
    locks = root / ".locks"  # a folder, so that `cache clear` removes the lock files too
    try:
        locks.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OSError(f"cannot write to the cache folder {root} ({e}); set COMPANION_CACHE_DIR "
                      "to a writable folder") from e
    lock = FileLock(locks / f"{kind}-{config_key(cfg, __version__)}.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"companion: another process is computing {run_dir(kind, cfg).name}; waiting for it "
              "to finish (its result is then read from the cache)", file=sys.stderr, flush=True)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


class CacheCorrupt(RuntimeError):
    """A finished run in the cache cannot be read; the message names its folder."""


def unreadable(folder: Path, detail: str) -> CacheCorrupt:
    """The error for a cached run whose files cannot be read (nothing is changed by raising it)."""
    return CacheCorrupt(
        f"the cached run in {folder} is unreadable ({detail}). Nothing was changed: delete that "
        f"folder (rm -r '{folder}') and rerun to recompute it, or empty the whole cache with "
        "`python -m companion cache clear`.")


def lookup(kind: str, cfg: Any) -> Path | None:
    """The finished run for this exact config, or None."""
    path = run_dir(kind, cfg)
    if cache_enabled() and (path / "config.json").is_file():
        _log_read(path)
        return path
    return None


def _log_read(path: Path) -> None:
    # the book's runner sets COMPANION_CACHE_READS to count the runs each chapter read (its
    # build report); one short append per hit, so a chapter's worker processes can share the file
    log = os.environ.get("COMPANION_CACHE_READS")
    if log:
        with open(log, "a") as f:
            f.write(path.name + "\n")


class Writer:
    """Context manager: a temporary folder that becomes the cached run on success.

    >>> with Writer("ntp", cfg) as tmp:      # doctest: +SKIP
    ...     save_things(tmp)
    ... # now available at run_dir("ntp", cfg)
    """

    def __init__(self, kind: str, cfg: Any, folder: Path | None = None):
        """``folder``: publish this existing work folder (e.g. :func:`partial_dir`) instead of
        a fresh temporary one; it is left in place if the block raises."""
        self.kind, self.cfg = kind, cfg
        self.final = run_dir(kind, cfg)
        self.tmp: Path | None = folder
        self.adopted = folder is not None

    def __enter__(self) -> Path:
        if self.adopted:
            assert self.tmp is not None
            return self.tmp
        # with the cache off, runs go to the system temp folder and are never reused
        root = cache_root() if cache_enabled() else Path(tempfile.gettempdir())
        try:
            root.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{self.final.name}-", dir=root))
        except OSError as e:
            raise OSError(f"cannot write to the cache folder {root} ({e}); set COMPANION_CACHE_DIR "
                          "to a writable folder") from e
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.tmp is not None
        if exc_type is not None:
            if not self.adopted:
                shutil.rmtree(self.tmp, ignore_errors=True)
            return
        # config.json is written last: its presence marks a complete run
        (self.tmp / "config.json").write_text(json.dumps(
            {"kind": self.kind, "version": __version__, "config": to_dict(self.cfg)}, indent=2,
            default=str))
        if not cache_enabled():
            # the run stays readable in its temporary folder for this process, then goes
            atexit.register(shutil.rmtree, self.tmp, ignore_errors=True)
            return
        try:
            os.replace(self.tmp, self.final)
        except OSError:
            # another process finished the same config first: keep theirs
            shutil.rmtree(self.tmp, ignore_errors=True)
            if not (self.final / "config.json").is_file():
                raise

    @property
    def path(self) -> Path:
        """Where the finished run can be read."""
        return self.final if cache_enabled() and self.final.exists() else self.tmp  # type: ignore[return-value]


def computed(kind: str, cfg: Any, compute: Callable[[Path], None]) -> Path:
    """The folder of the finished run ``(kind, cfg)``: from the cache, or made now by
    ``compute(folder)`` in a fresh folder that is published only if it returns (a run that
    raises leaves nothing). Two processes asking for the same run compute it once."""
    with exclusive(kind, cfg):
        hit = lookup(kind, cfg)
        if hit is None:
            writer = Writer(kind, cfg)
            with writer as tmp:
                compute(tmp)
            hit = writer.path
    return hit


def list_runs() -> list[dict]:
    """Every finished run in the cache: kind, key, folder and size."""
    root = cache_root()
    rows = []
    if root.is_dir():
        for p in sorted(root.iterdir()):
            meta = p / "config.json"
            if p.name.startswith(".") or not meta.is_file():
                continue
            info = json.loads(meta.read_text())
            size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
            rows.append({"kind": info["kind"], "folder": p.name, "version": info["version"],
                         "bytes": size})
    return rows


def clear() -> int:
    """Remove every cached run (and leftover temporary folders); returns how many were removed."""
    root = cache_root()
    n = 0
    if root.is_dir():
        for p in root.iterdir():
            if p.is_dir():
                shutil.rmtree(p)
                n += 1
    return n
