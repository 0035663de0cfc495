"""What a reader downloads from the built book: each chapter's executed notebook (the download
button of its page), all of them as one archive (linked from the build report), and a
downloaded notebook re-runs with papermill.

Uses the tiny book in ``_build/tiny/html`` (or ``COMPANION_BOOK_HTML``).
"""

import json
import os
import re
import zipfile
from pathlib import Path

import pytest

from companion import run

BOOK = Path(os.environ.get("COMPANION_BOOK_HTML", run.ROOT / "_build" / "tiny" / "html"))
GLUE = "application/papermill.record/"  # the mime type of a value glued by myst-nb
CHEAP = "01_setup"  # the quickest chapter that glues values: closed forms, no training

pytestmark = pytest.mark.skipif(
    not (BOOK / "index.html").is_file(), reason=f"no built book at {BOOK}: run `make test` "
    "(or `python -m companion book --profile tiny --out _build/tiny`)")


def in_book() -> list[str]:
    return [c.name for c in run.chapters() if (BOOK / "book" / f"{c.name}.html").is_file()]


def download(name: str) -> Path:
    """The file behind the chapter page's download button (.ipynb)."""
    page = BOOK / "book" / f"{name}.html"
    hrefs = re.findall(r'<a href="([^"]+\.ipynb)"[^>]*\s+class="[^"]*btn-download-source-button',
                       page.read_text())
    assert len(hrefs) == 1, f"{page} has no (or several) .ipynb download buttons: {hrefs}"
    return (page.parent / hrefs[0]).resolve()


def outputs(nb: dict) -> list[dict]:
    return [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]


def glued(nb: dict) -> set[str]:
    return {o["metadata"]["scrapbook"]["name"] for o in outputs(nb)
            if any(k.startswith(GLUE) for k in o.get("data", {}))}


@pytest.mark.parametrize("name", [c.name for c in run.chapters()])
def test_each_chapter_page_offers_its_executed_notebook(name):
    if name not in in_book():
        pytest.skip(f"{name} is not in this build")
    nb_path = download(name)
    assert nb_path.is_file(), f"the download button of {name} points at a missing {nb_path}"
    nb = json.loads(nb_path.read_text())
    assert nb["metadata"]["papermill"]["parameters"]["profile"]  # papermill's executed copy
    assert outputs(nb) and not [o for o in outputs(nb) if o["output_type"] == "error"]
    executed = BOOK.parent / "notebooks" / "tiny" / f"{name}.ipynb"
    if executed.is_file():
        assert nb_path.read_bytes() == executed.read_bytes()  # exactly what the book shows


def test_the_build_report_offers_every_chapter_as_one_archive():
    report = BOOK / "book" / "build_report.html"
    assert report.is_file(), "the build report page is missing"
    html = report.read_text()
    links = re.findall(r'href="([^"]*notebooks-[\w-]+\.zip)"', html)
    assert len(links) == 1, links
    archive = (report.parent / links[0]).resolve()
    assert archive.parent == BOOK.resolve()  # at the site root: a stable address to link to
    with zipfile.ZipFile(archive) as z:
        names = sorted(Path(n).stem for n in z.namelist())
        assert names == sorted(in_book())
        for n in z.namelist():  # the same files as the download buttons
            assert z.read(n) == download(Path(n).stem).read_bytes()
    for name in in_book():  # and the report has a row for each chapter of this build
        assert f'href="{name}.html"' in html


@pytest.mark.slow  # runs the chapter again (~6 s)
def test_a_downloaded_notebook_reruns_with_papermill(tmp_path, monkeypatch):
    import papermill as pm

    if CHEAP not in in_book():
        pytest.skip(f"{CHEAP} is not in this build")
    nb = json.loads(download(CHEAP).read_text())
    values = glued(nb)
    assert values, f"{CHEAP} glues no values"
    # as a reader would: from their own folder, with their own cache
    mine = tmp_path / f"{CHEAP}.ipynb"
    mine.write_text(json.dumps(nb))
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path / "cache"))
    rerun = tmp_path / f"{CHEAP}.rerun.ipynb"
    pm.execute_notebook(mine, rerun, parameters={"profile": "tiny"}, cwd=str(tmp_path),
                        progress_bar=False, kernel_name="python3")
    again = json.loads(rerun.read_text())
    assert glued(again) == values
    assert not [o for o in outputs(again) if o["output_type"] == "error"]
    injected = [c for c in again["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1  # papermill replaced the build's injected cell, not added a second
