import json
import threading
import time

import pytest

from companion import cache
from companion.__main__ import main
from companion.config import TaskConfig


def test_writer_publishes_only_complete_runs(isolated_cache):
    cfg = TaskConfig(d=5)
    with cache.Writer("demo", cfg) as tmp:
        (tmp / "result.txt").write_text("42")
        assert cache.lookup("demo", cfg) is None  # not visible while being written
    hit = cache.lookup("demo", cfg)
    assert hit is not None and (hit / "result.txt").read_text() == "42"
    meta = json.loads((hit / "config.json").read_text())
    assert meta["config"] == {"d": 5, "p_cot": 0.1, "leap": 1, "chain": "running"}
    assert cache.lookup("demo", TaskConfig(d=6)) is None


def test_an_exception_inside_the_writer_leaves_no_trace(isolated_cache):
    with pytest.raises(RuntimeError):
        with cache.Writer("demo", TaskConfig(d=5)) as tmp:
            (tmp / "partial").write_text("x")
            raise RuntimeError("crash mid-run")
    assert cache.lookup("demo", TaskConfig(d=5)) is None
    assert list(isolated_cache.iterdir()) == []


def test_cache_off_never_reuses(isolated_cache, monkeypatch):
    monkeypatch.setenv("COMPANION_CACHE", "off")
    w = cache.Writer("demo", TaskConfig(d=5))
    with w as tmp:
        (tmp / "r").write_text("1")
    assert (w.path / "r").read_text() == "1"
    assert cache.lookup("demo", TaskConfig(d=5)) is None


def test_cli_lists_and_clears(isolated_cache, capsys):
    with cache.Writer("demo", TaskConfig(d=5)):
        pass
    assert main(["cache", "list"]) == 0
    assert "1 cached runs" in capsys.readouterr().out
    assert main(["cache", "clear"]) == 0
    assert cache.list_runs() == []


def test_exclusive_makes_a_second_caller_wait_and_says_so(isolated_cache, capsys):
    cfg = TaskConfig(d=5)
    order = []

    def second():
        with cache.exclusive("demo", cfg):
            order.append("second")

    with cache.exclusive("demo", cfg):
        t = threading.Thread(target=second)
        t.start()
        time.sleep(0.5)
        order.append("first done")  # the second is still waiting for the lock
    t.join(timeout=10)
    assert order == ["first done", "second"]
    err = capsys.readouterr().err
    assert f"another process is computing {cache.run_dir('demo', cfg).name}; waiting" in err


def test_exclusive_locks_nothing_with_the_cache_off_or_under_a_ddp_replica(isolated_cache,
                                                                         monkeypatch):
    cfg = TaskConfig(d=5)
    monkeypatch.setenv("COMPANION_CACHE", "off")
    with cache.exclusive("demo", cfg), cache.exclusive("demo", cfg):  # would deadlock if it locked
        pass
    assert not isolated_cache.exists()
    monkeypatch.delenv("COMPANION_CACHE")
    monkeypatch.setenv("RANK", "1")  # torchrun's other processes train along with rank 0
    with cache.exclusive("demo", cfg), cache.exclusive("demo", cfg):
        pass


def test_computed_computes_once_publishes_on_success_and_leaves_nothing_on_failure(isolated_cache):
    cfg, calls = TaskConfig(d=6), []

    def make(folder):
        calls.append(folder)
        (folder / "r").write_text("1")

    first = cache.computed("demo", cfg, make)
    again = cache.computed("demo", cfg, make)
    assert first == again == cache.run_dir("demo", cfg) and len(calls) == 1
    assert (first / "r").read_text() == "1"

    def boom(folder):
        (folder / "half").write_text("x")
        raise RuntimeError("crash mid-run")

    with pytest.raises(RuntimeError, match="crash mid-run"):
        cache.computed("demo", TaskConfig(d=7), boom)
    assert cache.lookup("demo", TaskConfig(d=7)) is None
    assert sorted(p.name for p in isolated_cache.iterdir()) == [".locks", first.name]


def test_cache_clear_also_removes_the_lock_files(isolated_cache):
    cache.computed("demo", TaskConfig(d=6), lambda folder: None)
    assert (isolated_cache / ".locks").is_dir()
    cache.clear()
    assert list(isolated_cache.iterdir()) == []
