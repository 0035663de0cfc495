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
