"""Importing companion.llm changes nothing; the Hugging Face settings are applied on use."""

import os
import subprocess
import sys
import warnings

import pytest

from companion.llm import hf_environment


@pytest.mark.slow  # a fresh interpreter imports torch and Lightning
def test_importing_companion_llm_does_not_change_the_environment():
    # what the package's dependencies do at import (torch sets variables of its own) is theirs:
    # they are imported first, then the environment and warning filters are compared
    code = (
        "import os, warnings\n"
        "import lightning, pandas, torch\n"
        "import companion.cache, companion.mathdata, companion.objective, companion.train.rl\n"
        "env, filters = dict(os.environ), list(warnings.filters)\n"
        "import companion.llm\n"
        "assert dict(os.environ) == env, set(os.environ.items()) ^ set(env.items())\n"
        "assert warnings.filters == filters\n"
        "print('unchanged')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "unchanged"


def test_hf_environment_sets_defaults_and_keeps_the_users_values(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("TRANSFORMERS_VERBOSITY", "warning")
    with warnings.catch_warnings():
        hf_environment()
        hf_environment()  # idempotent
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_VERBOSITY"] == "warning"
    import huggingface_hub

    assert huggingface_hub.constants.is_offline_mode()
    monkeypatch.setenv("TRANSFORMERS_VERBOSITY", "error")  # the tests' own level, restored
    hf_environment()
