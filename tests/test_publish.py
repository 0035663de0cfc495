"""`make publish`: the built book goes to the gh-pages branch of a remote, and nothing else moves.

A scratch repository (one commit, an uncommitted edit and an untracked file) has a local bare
repository as its remote; `make publish` runs there with this checkout's Makefile, pushing the
tiny book that ``make test`` builds into ``_build/tiny/html`` (``COMPANION_BOOK_HTML`` points
elsewhere). The gh-pages branch is then cloned back: it must hold exactly the built book plus
``.nojekyll``, and its pages, opened from that clone in headless Chromium in light and dark
mode, must show their figures and typeset math.
"""

import filecmp
import os
import re
import subprocess
from pathlib import Path

import pytest

import test_browser
from companion.run import ROOT, chapters
from test_browser import CHROMIUM, open_in_chromium

BOOK = Path(os.environ.get("COMPANION_BOOK_HTML", ROOT / "_build" / "tiny" / "html"))
MAKEFILE = ROOT / "Makefile"
VENV = ROOT / ".venv"
SHOTS = ROOT / "_build" / "screenshots" / "published"
CHAPTER = "02_ntp"  # a chapter with figures and math


@pytest.fixture
def git_env(tmp_path, monkeypatch):
    """Git that ignores the user's and the system's configuration (signing, hooks, templates)."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Publish Test\n\temail = publish@example.invalid\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def scratch(tmp_path, git_env):
    """A checkout on branch main with a local change, and a bare repository as its remote."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "notes.txt").write_text("committed\n")
    git(repo, "add", "notes.txt")
    git(repo, "commit", "-q", "-m", "first")
    git(repo, "remote", "add", "origin", str(remote))
    (repo / "notes.txt").write_text("committed\nedited, not committed\n")
    (repo / "untracked.txt").write_text("untracked\n")
    return repo, remote


def make_publish(repo: Path, **variables: str) -> subprocess.CompletedProcess:
    """This checkout's Makefile run in ``repo``; VENV points at this checkout's venv, and the
    publish target does not depend on its install stamp, so nothing is (re)installed."""
    args = [f"{k}={v}" for k, v in {"VENV": str(VENV), **variables}.items()]
    # under `make test` the outer make's flags and command-line variables would leak in
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(["make", "--no-print-directory", "-C", str(repo), "-f", str(MAKEFILE),
                           "publish", *args], capture_output=True, text=True, timeout=300, env=env)


def state(repo: Path) -> dict:
    """What publishing must leave alone: the current branch and commit, the index and the files."""
    files = {p.relative_to(repo).as_posix(): p.read_bytes()
             for p in repo.rglob("*") if p.is_file() and ".git" not in p.relative_to(repo).parts}
    return {"branch": git(repo, "symbolic-ref", "HEAD"), "head": git(repo, "rev-parse", "HEAD"),
            "status": git(repo, "status", "--porcelain"), "files": files}


def tree(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(folder).parts}


def test_publish_refuses_without_a_built_book_and_builds_nothing(scratch, tmp_path):
    repo, remote = scratch
    before = state(repo)
    empty = tmp_path / "no-book"
    empty.mkdir()
    proc = make_publish(repo, BOOK_HTML=str(empty), PUBLISH_REMOTE=str(remote))
    assert proc.returncode != 0
    assert f"no built book at BOOK_HTML={empty}" in proc.stderr and "make book" in proc.stderr
    assert "ghp-import" not in proc.stdout  # refused before pushing anything
    assert git(remote, "for-each-ref") == "", "the remote got a branch"
    assert state(repo) == before
    assert not (repo / "_build").exists() and not (repo / ".venv").exists()


def test_publish_refuses_without_ghp_import(scratch, tmp_path):
    repo, remote = scratch
    book = tmp_path / "book"
    book.mkdir()
    (book / "index.html").write_text("<html></html>")
    proc = make_publish(repo, BOOK_HTML=str(book), PUBLISH_REMOTE=str(remote),
                        GHP_IMPORT=str(tmp_path / "missing" / "ghp-import"))
    assert proc.returncode != 0
    assert "ghp-import not found at GHP_IMPORT=" in proc.stderr and "make install" in proc.stderr
    assert git(remote, "for-each-ref") == ""


@pytest.mark.slow  # pushes the whole tiny book and opens pages in Chromium
@pytest.mark.skipif(not (BOOK / "index.html").is_file(), reason=f"no built book at {BOOK}: run "
                    "`make test` (or `python -m companion book --profile tiny --out _build/tiny`)")
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (`make test` installs "
                    "it: apt-get install chromium)")
def test_publish_pushes_the_built_book_to_gh_pages_and_leaves_the_checkout_alone(scratch, tmp_path):
    repo, remote = scratch
    before = state(repo)
    proc = make_publish(repo, BOOK_HTML=str(BOOK), PUBLISH_REMOTE=str(remote))
    assert proc.returncode == 0, proc.stdout + proc.stderr

    # the working tree, the index, the current branch and its commit are as they were
    assert state(repo) == before
    assert git(remote, "for-each-ref", "--format=%(refname)") == "refs/heads/gh-pages"
    message = git(remote, "log", "-1", "--format=%s", "gh-pages")
    assert message == f"book published from commit {before['head'][:12]} with uncommitted changes"

    site = tmp_path / "site"
    git(tmp_path, "clone", "-q", "--branch", "gh-pages", "--single-branch", str(remote), str(site))
    assert (site / ".nojekyll").is_file()
    assert tree(site) == tree(BOOK) | {".nojekyll"}
    _, mismatch, errors = filecmp.cmpfiles(BOOK, site, sorted(tree(BOOK)), shallow=False)
    assert not mismatch and not errors, f"published files differ from the book: {mismatch + errors}"
    assert (site / "index.html").is_file()
    for ch in chapters():
        assert (site / "book" / f"{ch.name}.html").is_file(), f"chapter {ch.name} was not published"

    # publishing again, to the default remote (origin), adds a commit on top: the history stays
    proc = make_publish(repo, BOOK_HTML=str(BOOK))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert git(remote, "rev-list", "--count", "gh-pages") == "2"
    assert state(repo) == before

    # the published copy works on its own: the front page and a chapter, light and dark
    for dark in (False, True):
        theme = "dark" if dark else "light"
        front = open_in_chromium(site / "index.html", SHOTS / f"index-{theme}.png", dark=dark)
        # index.html redirects to the first page of the book
        assert re.search(rf'<html[^>]*\sdata-theme="{theme}"', front), f"the front is not {theme}"
        assert "<h1" in front and "<mjx-container" in front
        page = site / "book" / f"{CHAPTER}.html"
        dom = open_in_chromium(page, SHOTS / f"{CHAPTER}-{theme}.png", dark=dark)
        assert re.search(rf'<html[^>]*\sdata-theme="{theme}"', dom), f"the page is not {theme}"
        article = dom[dom.index("<article"):dom.rindex("</article>")]
        imgs = re.findall(r'<img[^>]*\ssrc="([^"]+)"', article)
        expected = test_browser.image_outputs(CHAPTER)
        assert imgs and (expected is None or len(imgs) == expected), f"figures on the page: {imgs}"
        for src in imgs:
            f = test_browser.local_target(page, src)
            assert f is not None and f.is_relative_to(site.resolve()), f"{src} is not published"
            assert f.stat().st_size > 1000, f"empty figure {src}"
        assert "<mjx-container" in article, "no math was typeset (MathJax did not run)"
        assert "<mjx-merror" not in article and "data-mjx-error" not in article
        assert (SHOTS / f"{CHAPTER}-{theme}.png").stat().st_size > 10_000
