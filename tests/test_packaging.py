"""The package as a reader installs it: pyproject's ranges, the pinned set, a non-editable install.

``pyproject.toml`` declares what the package needs as ranges (plus extras ``book``, ``llm``,
``test``); ``requirements.txt`` is the pinned set the Makefile installs and the tests run on.
These tests keep the two from drifting apart and check that an installed (not editable) copy
works on its own and says where the chapters are.
"""

import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from companion.run import ROOT


def declared() -> dict[str, Requirement]:
    """Every requirement of pyproject.toml (dependencies and all extras), by canonical name."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    out = {}
    for r in map(Requirement, reqs):
        if canonicalize_name(r.name) != "companion":  # an extra that pulls in other extras
            out[canonicalize_name(r.name)] = r
    return out


def pins(name: str) -> dict[str, str]:
    out = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            pkg, version = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line).groups()
            out[canonicalize_name(pkg)] = version
    return out


def test_every_declared_dependency_is_pinned_within_its_range():
    pinned = pins("requirements.txt") | pins("requirements-nodeps.txt")
    for name, req in declared().items():
        assert name in pinned, f"{req} is declared in pyproject.toml but not pinned in requirements.txt"
        assert req.specifier.contains(pinned[name], prereleases=True), (
            f"the pin {name}=={pinned[name]} is outside pyproject.toml's range {req}")


def test_every_pin_is_declared():
    # a pin that pyproject does not declare would make `pip install .` miss a package the tests use
    missing = sorted(set(pins("requirements.txt")) - set(declared()))
    assert not missing, f"pinned in requirements.txt but not declared in pyproject.toml: {missing}"


def test_the_environment_is_the_pinned_set():
    wrong = {name: (v, metadata.version(name)) for name, v in pins("requirements.txt").items()
             if metadata.version(name).split("+")[0] != v}
    assert not wrong, f"installed versions differ from requirements.txt (pin, installed): {wrong}"


@pytest.mark.slow
def test_a_non_editable_install_runs_the_quick_example_and_says_where_the_chapters_are(tmp_path):
    # from a copy of what the package is built from: building writes build/ into its source tree
    src, site = tmp_path / "src", tmp_path / "site"
    shutil.copytree(ROOT / "companion", src / "companion",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for f in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / f, src / f)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(site), str(src)], check=True, cwd=tmp_path,
                   capture_output=True)
    assert (site / "companion" / "__init__.py").is_file()
    assert not (site / "book").exists() and not (site / "_toc.yml").exists()
    env = {**os.environ, "PYTHONPATH": str(site), "COMPANION_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("COMPANION_BOOK_DIR", None)
    quick = ("import companion\n"
             f"assert companion.__file__.startswith({str(site)!r}), companion.__file__\n"
             "cfg = companion.with_(companion.get_profile('tiny').headline, d=6, steps=4)\n"
             "res = companion.train_ntp(cfg)\n"
             "print(sorted(res.history['decoding'].unique()))\n")
    out = subprocess.run([sys.executable, "-c", quick], cwd=tmp_path, env=env, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "greedy" in out.stdout
    # outside a checkout the command line says where the chapters are expected
    out = subprocess.run([sys.executable, "-m", "companion", "list"], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 2 and "COMPANION_BOOK_DIR" in out.stderr and "_toc.yml" in out.stderr
    # ... and finds them when told
    out = subprocess.run([sys.executable, "-m", "companion", "list"], cwd=tmp_path,
                         env={**env, "COMPANION_BOOK_DIR": str(ROOT)}, capture_output=True, text=True)
    assert out.returncode == 0 and "02_ntp" in out.stdout, out.stderr[-2000:]
