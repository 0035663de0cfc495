"""Shared fixtures: tests never touch the user's cache, and run with one torch thread."""

import os

import pytest
import torch

from companion.runtime import quiet_lightning

os.environ.setdefault("COMPANION_THREADS", "1")
torch.set_num_threads(1)
quiet_lightning()


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("COMPANION_CACHE", raising=False)
    return tmp_path / "cache"


@pytest.fixture(autouse=True)
def sigint_handler_restored():
    """A test (or a library it drives) that leaves SIGINT ignored or replaced would make Ctrl-C
    stop working for every later test (and for the user's session): fail the test that did it."""
    import signal

    before = signal.getsignal(signal.SIGINT)
    yield
    after = signal.getsignal(signal.SIGINT)
    assert after == before, f"SIGINT handler changed from {before!r} to {after!r}"
