"""The GitHub Actions workflows, checked offline: schema, zizmor, and what they run.

``check-jsonschema`` validates each workflow against its vendored GitHub-workflow schema and
``zizmor --offline`` audits it (a finding it should not report is silenced in the workflow
with a ``# zizmor: ignore[...]`` comment that says why). The book workflow must run exactly
the README's book command, pin every action to a commit, and hand the book that command
builds to Pages.
"""

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from companion.profiles import DEFAULT_PROFILE, PROFILES
from companion.run import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
BOOK_WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"
VENV_BIN = ROOT / ".venv" / "bin"


def tool(name: str) -> str | None:
    """The venv's copy first (the pinned one), else one on PATH."""
    exe = VENV_BIN / name
    return str(exe) if exe.is_file() else shutil.which(name)


def load(path: Path) -> dict:
    wf = yaml.safe_load(path.read_text())
    if True in wf:  # YAML 1.1 reads the key `on` as the boolean true
        wf["on"] = wf.pop(True)
    return wf


def steps(wf: dict):
    for job_id, job in wf["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


def test_there_is_a_book_workflow():
    assert BOOK_WORKFLOW in WORKFLOWS


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_the_github_workflow_schema(path):
    exe = tool("check-jsonschema")
    if exe is None:
        pytest.skip("check-jsonschema is not installed (pip install -r requirements.txt)")
    proc = subprocess.run([exe, "--builtin-schema", "vendor.github-workflows", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor_finds_nothing():
    exe = tool("zizmor")
    if exe is None:
        pytest.skip("zizmor is not installed (pip install -r requirements.txt)")
    proc = subprocess.run([exe, "--offline", "--no-progress", *map(str, WORKFLOWS)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "No findings to report" in proc.stdout, \
        proc.stdout + proc.stderr


def readme_commands(section: str) -> list[str]:
    """The shell commands of the first code block under the README heading ``section``."""
    text = (ROOT / "README.md").read_text()
    body = text.split(f"\n{section}\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```[a-z]*\n(.*?)```", body, re.S).group(1)
    lines = (line.split("#", 1)[0].strip() for line in block.splitlines())
    return [line for line in lines if line]


def make_invocations(script: str) -> list[list[str]]:
    """Every `make ...` command of a run: script, as words (comments and continuations joined)."""
    script = script.replace("\\\n", " ")
    commands = []
    for line in script.splitlines():
        for part in re.split(r"&&|\|\||;", line.split("#", 1)[0]):
            words = shlex.split(part)
            if words and words[0] == "make":
                commands.append(words)
    return commands


def test_the_workflow_runs_exactly_the_readme_book_command():
    book = [c for c in readme_commands("## The two commands") if c.startswith("make book")]
    assert book == ["make book"], f"the README's book command changed: {book}"
    # ... after the README's command that trains the multiplication page's runs for it
    mult = readme_commands("### The multiplication page")
    assert mult == ["make multiplication"], f"the README's multiplication command changed: {mult}"
    # ... and the one that trains chapter 6's pretrained tier
    pre = readme_commands("### Chapter 6's pretrained tier")
    assert pre == ["make pretrained"], f"the README's pretrained-tier command changed: {pre}"
    wf = load(BOOK_WORKFLOW)
    runs = [make_invocations(step["run"]) for _, step in steps(wf) if "run" in step]
    assert [c for run in runs for c in run] == [shlex.split(c) for c in (mult[0], pre[0], book[0])]
    # the profile comes from the environment (Make's `PROFILE ?= cpu`); a push builds the default
    build = wf["jobs"]["build"]
    assert re.fullmatch(rf"\$\{{\{{ inputs\.profile \|\| '{DEFAULT_PROFILE}' \}}\}}",
                        build["env"]["PROFILE"]), build["env"]["PROFILE"]


def test_the_dispatch_offers_every_profile_and_paper_runs_on_the_gpu_runner():
    wf = load(BOOK_WORKFLOW)
    assert wf["on"]["push"]["branches"] == ["main"]
    profile = wf["on"]["workflow_dispatch"]["inputs"]["profile"]
    assert profile["type"] == "choice" and sorted(profile["options"]) == sorted(PROFILES)
    assert profile["default"] == DEFAULT_PROFILE
    runs_on = wf["jobs"]["build"]["runs-on"]
    assert "inputs.profile == 'paper'" in runs_on and '["self-hosted", "gpu"]' in runs_on
    assert runs_on.rstrip("} ").endswith("'ubuntu-latest'")


def test_every_action_is_pinned_to_a_commit_with_its_version():
    # zizmor's default policy lets actions/* go unpinned (a tag); this repository pins them all
    text = BOOK_WORKFLOW.read_text()
    uses = re.findall(r"^\s*(?:-\s*)?uses:\s*(.*)$", text, re.M)
    assert uses
    for use in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+", use), use


def test_checkout_does_not_persist_credentials():
    for _, step in steps(load(BOOK_WORKFLOW)):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


def test_permissions_are_granted_per_job_and_deploy_needs_a_successful_build():
    wf = load(BOOK_WORKFLOW)
    assert wf["permissions"] == {}
    assert wf["jobs"]["build"]["permissions"] == {"contents": "read"}
    deploy = wf["jobs"]["deploy"]
    assert deploy["needs"] == "build" and "if" not in deploy  # a failed build deploys nothing
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert wf["concurrency"]["group"] == "pages"


def test_the_run_cache_and_the_book_are_where_make_book_puts_them():
    wf = load(BOOK_WORKFLOW)
    build = wf["jobs"]["build"]
    assert build["env"]["COMPANION_CACHE_DIR"] == "${{ github.workspace }}/_build/cache"
    by_action = {step["uses"].split("@")[0]: step for _, step in steps(wf) if "uses" in step}
    restore, save = by_action["actions/cache/restore"], by_action["actions/cache/save"]
    assert restore["with"]["path"] == save["with"]["path"] == "_build/cache"
    key = restore["with"]["key"]
    code = "hashFiles('companion/**/*.py', 'requirements.txt', 'constraints.txt')"
    assert "env.PROFILE" in key and code in key
    # the restore prefix stops after the code hash: a run computed by other code is never reused
    # (the cache's own key holds the config and the package version, not the code)
    prefix = restore["with"]["restore-keys"].strip()
    assert key.startswith(prefix) and prefix.endswith(code + " }}-")
    assert save["with"]["key"] == "${{ steps.cache.outputs.cache-primary-key }}"
    # a half-built book still hands on its runs; the GPU runner keeps its cache on its own disk
    assert save["if"] == "${{ !cancelled() && env.PROFILE != 'paper' }}"
    assert restore["if"] == "env.PROFILE != 'paper'"
    assert by_action["actions/checkout"]["with"]["clean"] is False
    # `python -m companion book` publishes into <out>/html with out = _build
    assert by_action["actions/upload-pages-artifact"]["with"]["path"] == "_build/html"
