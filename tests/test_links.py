"""Links of the built book, checked offline.

Sphinx's link-check builder runs on the tiny book, staged again from the notebooks the tiny
build executed (``_build/tiny/notebooks/tiny/``: nothing is executed here), with external
URLs ignored; then every internal ``href``/``src`` of the built HTML (``_build/tiny/html``,
or ``COMPANION_BOOK_HTML``) must name an existing file and, with a ``#fragment``, an existing
id in it.
"""

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from companion import run

BOOK = Path(os.environ.get("COMPANION_BOOK_HTML", run.ROOT / "_build" / "tiny" / "html"))
EXECUTED = BOOK.parent / "notebooks" / "tiny"

pytestmark = pytest.mark.skipif(
    not (BOOK / "index.html").is_file(), reason=f"no built book at {BOOK}: run `make test` "
    "(or `python -m companion book --profile tiny --out _build/tiny`)")


@pytest.mark.slow  # stages and reads the whole book with Sphinx (~4 s)
def test_linkcheck_finds_no_broken_local_link(tmp_path):
    picked = [c for c in run.chapters() if (EXECUTED / f"{c.name}.ipynb").is_file()]
    if not picked:
        pytest.skip(f"no executed notebooks in {EXECUTED}")
    stage_dir = tmp_path / "stage"
    run.stage(picked, {c.name: EXECUTED / f"{c.name}.ipynb" for c in picked}, stage_dir)
    config = yaml.safe_load((stage_dir / "_config.yml").read_text())
    # offline: the web is not checked, every other link is
    config["sphinx"]["config"]["linkcheck_ignore"] = [r"https?://.*", r"mailto:.*"]
    (stage_dir / "_config.yml").write_text(yaml.safe_dump(config))
    exe = Path(sys.executable).parent / "jupyter-book"
    proc = subprocess.run([str(exe), "build", str(stage_dir), "--builder", "linkcheck", "-W", "-n",
                           "--keep-going", "--quiet"], capture_output=True, text=True, timeout=300)
    out = stage_dir / "_build" / "html" / "output.json"  # Jupyter Book's folder, any builder
    assert proc.returncode == 0 and out.is_file(), (proc.stdout + proc.stderr)[-3000:]
    results = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    # (cross-references between pages are Sphinx roles, checked by the build itself: -n -W)
    broken = [r for r in results if r["status"] not in ("working", "ignored", "unchecked")]
    assert not broken, broken


class Links(HTMLParser):
    """The ids of a page and its internal links (``href``/``src`` without a scheme)."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key):
                self.ids.add(a[key])
        for key in ("href", "src"):
            url = a.get(key)
            if url and not urlsplit(url).scheme and not url.startswith("//"):
                self.links.append(url)


def parsed(page: Path, pages: dict) -> Links:
    if page not in pages:
        pages[page] = Links()
        pages[page].feed(page.read_text())
    return pages[page]


def test_every_internal_link_names_an_existing_file_and_id():
    pages: dict[Path, Links] = {}
    broken = []
    html_files = sorted(BOOK.rglob("*.html"))
    assert len(html_files) > 5
    for page in html_files:
        if "_static" in page.relative_to(BOOK).parts:  # the themes' own files
            continue
        for url in parsed(page, pages).links:
            parts = urlsplit(url)
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if not target.is_file():
                broken.append(f"{page.relative_to(BOOK)}: {url} (no such file)")
            elif parts.fragment and target.suffix == ".html" and \
                    unquote(parts.fragment) not in parsed(target, pages).ids:
                broken.append(f"{page.relative_to(BOOK)}: {url} (no such id)")
    assert not broken, "\n".join(broken[:40])


def test_every_cell_that_draws_shows_its_figure():
    # a figure drawn inside an `if` block is not the cell's value: the page would show nothing
    draws = re.compile(r"\bplots\.(?!theme\b)\w+\(")
    # the cells allowed to draw nothing under tiny, and why
    allowed = {("06_llama.ipynb", "if ex.paper is not None:"): "the paper tier runs on a GPU only",
               ("06_llama.ipynb", "if ex.gpu is not None:"): "the GPU SmolLM2 run needs a GPU"}
    blank = []
    for nb in sorted(EXECUTED.glob("*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            src = "".join(cell["source"])
            if any(nb.name == name and src.startswith(head) for name, head in allowed):
                continue
            if cell["cell_type"] == "code" and draws.search(src):
                if not any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
                    blank.append(f"{nb.name}: {src[:80]!r}")
    assert not blank, "cells that draw but show no figure:\n" + "\n".join(blank)
