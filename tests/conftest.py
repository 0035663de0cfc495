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


@pytest.fixture
def task4():
    """A parity task small enough to check by hand (d=4)."""
    from companion.config import TaskConfig
    from companion.task import ParityMixture

    return ParityMixture(TaskConfig(d=4, p_cot=0.1))


@pytest.fixture
def gpt4():
    """A one-layer GPT for d=4 prompts, initialised from seed 0 (the global RNG is seeded)."""
    from companion.config import ModelConfig
    from companion.model import GPT
    from companion.task import VOCAB_SIZE

    torch.manual_seed(0)
    return GPT(ModelConfig(n_layer=1, n_head=2, n_embd=16, block_size=10), VOCAB_SIZE)
