"""The built book, as a reader sees it: every chapter opened offline in headless Chromium.

Uses the tiny book that ``make test`` builds into ``_build/tiny/html`` before pytest runs
(``COMPANION_BOOK_HTML`` points elsewhere). Per chapter it checks that the page loads
from ``file://`` with only local scripts and styles, shows all its figures, has its math
typeset by the local MathJax, shows no error output, and has every glued number filled
in; and, in the theme's dark mode, that every figure is displayed (and every PNG is opaque).
A screenshot of each page is kept in ``_build/screenshots/`` for a human to look at.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from companion.run import ROOT, chapters

BOOK = Path(os.environ.get("COMPANION_BOOK_HTML", ROOT / "_build" / "tiny" / "html"))
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
# flags that work on a headless CI machine without a display, a sandbox or the network
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=8000", "--window-size=1280,2000", "--hide-scrollbars"]

pytestmark = [
    pytest.mark.slow,  # opens the built book in Chromium: not the unit tier
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (`make test` installs "
                       "it: apt-get install chromium)"),
    pytest.mark.skipif(not (BOOK / "index.html").is_file(), reason=f"no built book at {BOOK}: run "
                       "`make test` (or `python -m companion book --profile tiny --out _build/tiny`)"),
]


def open_in_chromium(page: Path, screenshot: Path, dark: bool = False) -> str:
    """The page's DOM after its scripts ran (MathJax included); saves a screenshot too.

    ``dark``: as a reader whose system prefers a dark color scheme sees it
    (``--force-dark-mode``): pydata-sphinx-theme, in its default "auto" mode, then starts in its
    dark theme (``<html data-theme="dark">``).
    """
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:  # a fresh browser profile per page
        proc = subprocess.run(
            [CHROMIUM, *FLAGS, *(["--force-dark-mode"] if dark else []),
             f"--user-data-dir={profile}", f"--screenshot={screenshot}", "--dump-dom",
             page.as_uri()],
            capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


# Dark mode: every chapter at once, as frames of one page in one browser (a browser start is
# most of a page's time). A copy of each chapter reports to the frame page, once it has loaded,
# its theme and how many of its article's images are decoded and displayed (not hidden by the
# theme's CSS, e.g. only-light).
FIGURE_PROBE = """<script>
window.addEventListener("load", () => {
  const imgs = [...document.querySelectorAll("article img")];
  const shown = imgs.filter(i => i.complete && i.naturalWidth > 0 &&
    getComputedStyle(i).display !== "none" && getComputedStyle(i).visibility !== "hidden" &&
    i.getBoundingClientRect().width > 0);
  parent.postMessage({page: %r, theme: document.documentElement.dataset.theme,
                      shown: shown.length + "/" + imgs.length}, "*");
});
</script>"""
FRAMES = """<!DOCTYPE html><html><body><ul id="seen"></ul>
<script>
addEventListener("message", e => {
  const li = document.createElement("li");
  Object.assign(li.dataset, e.data);
  document.getElementById("seen").append(li);
});
</script>
%s
</body></html>"""


def probed_copy(page: Path, folder: Path) -> Path:
    """A copy of the page in ``folder`` that loads the book's files from where they are (a
    <base>), without MathJax (math is checked in the light theme), with :data:`FIGURE_PROBE`."""
    html = page.read_text()
    html = re.sub(r'<script[^>]*\ssrc="[^"]*mathjax/tex-chtml\.js"[^>]*>\s*</script>', "", html)
    html = re.sub(r"<head>", f'<head><base href="{page.parent.as_uri()}/">', html, count=1)
    html = html.replace("</body>", FIGURE_PROBE % page.stem + "</body>", 1)
    copy = folder / page.name
    copy.write_text(html)
    return copy


@pytest.fixture(scope="module")
def dark_views(tmp_path_factory) -> dict[str, dict[str, str]]:
    """Per chapter page of the book, in the dark theme: {"theme": ..., "shown": "3/3"}."""
    folder = tmp_path_factory.mktemp("dark")
    pages = [BOOK / "book" / f"{c.name}.html" for c in chapters()]
    frames = "\n".join(f'<iframe src="{probed_copy(p, folder).name}" width="1280" height="2000">'
                       "</iframe>" for p in pages if p.is_file())
    (folder / "frames.html").write_text(FRAMES % frames)
    dom = open_in_chromium(folder / "frames.html", SHOTS / "dark.png", dark=True)
    views = {}
    for li in re.findall(r"<li [^>]*>", dom):
        attrs = dict(re.findall(r'data-(\w+)="([^"]*)"', li))
        views[attrs.pop("page")] = attrs
    return views


def html_theme(dom: str) -> str | None:
    """The theme pydata-sphinx-theme applied: the ``data-theme`` of <html>."""
    m = re.search(r'<html[^>]*\sdata-theme="([^"]*)"', dom)
    return m.group(1) if m else None


def glue_references(name: str) -> int:
    """How many {glue:...} roles the chapter's markdown holds, in the notebook that was built."""
    built = sorted(BOOK.parent.glob(f"notebooks/*/{name}.ipynb"))
    if built:
        cells = json.loads(built[0].read_text())["cells"]
        text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    else:
        text = (ROOT / "book" / f"{name}.py").read_text()
    return len(re.findall(r"\{glue(?::\w+)?\}`", text))


def image_outputs(name: str) -> int | None:
    built = sorted(BOOK.parent.glob(f"notebooks/*/{name}.ipynb"))
    if not built:
        return None
    cells = json.loads(built[0].read_text())["cells"]
    return sum(any(k.startswith("image/") for k in out.get("data", {}))
               for c in cells if c["cell_type"] == "code" for out in c.get("outputs", []))


def local_target(page: Path, url: str) -> Path | None:
    """The file a relative or file:// URL points at (None for other schemes)."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme or url.startswith("//"):
        return None
    return (page.parent / unquote(parts.path)).resolve()


@pytest.mark.parametrize("name", [c.name for c in chapters()])
def test_chapter_page_renders_offline_with_figures_math_and_numbers(name, dark_views):
    page = BOOK / "book" / f"{name}.html"
    assert page.is_file(), f"chapter {name} is missing from the built book {BOOK}"
    source = page.read_text()
    dom = open_in_chromium(page, SHOTS / f"{name}.png")
    assert "<h1" in dom and len(dom) > 10_000, "the page did not load"
    assert (SHOTS / f"{name}.png").stat().st_size > 10_000  # an empty page is a few KB
    assert html_theme(dom) == "light"
    dark = dark_views.get(name)
    assert dark is not None, f"the page did not load in the dark theme ({dark_views})"
    assert dark["theme"] == "dark", "the theme's dark mode did not apply"

    # offline: every script and stylesheet the page asks for is a file of the book
    assets = re.findall(r'<script[^>]*\ssrc="([^"]+)"', source)
    assets += re.findall(r'<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"', source)
    remote = [u for u in assets if local_target(page, u) is None]
    assert not remote, f"the page loads {remote} from the network"
    missing = [u for u in assets if not local_target(page, u).is_file()]
    assert not missing, f"the page refers to missing files {missing}"

    # figures: one <img> per image output of the executed notebook, each a non-empty file
    article = dom[dom.index("<article"):dom.rindex("</article>")]
    imgs = re.findall(r'<img[^>]*\ssrc="([^"]+)"', article)
    expected = image_outputs(name)
    assert len(imgs) == expected if expected is not None else imgs, f"figures on the page: {imgs}"
    for src in imgs:
        f = local_target(page, src)
        assert f is not None and f.is_file() and f.stat().st_size > 1000, f"empty figure {src}"
    # ... and every one of them displayed in the dark theme
    assert dark["shown"] == f"{len(imgs)}/{len(imgs)}", "figures are missing from the dark theme"

    # math: the local MathJax typeset it, without errors
    assert re.search(r'src="[./]*_static/mathjax/tex-chtml\.js', source), "MathJax is not local"
    assert "<mjx-container" in article, "no math was typeset (MathJax did not run)"
    assert "<mjx-merror" not in article and "data-mjx-error" not in article

    # no error output, no traceback
    assert not re.search(r'class="[^"]*\boutput (error|traceback)\b', article)
    assert "Traceback" not in article

    # glued numbers: every {glue:...} role became a value; none shows as literal text
    text = re.sub(r"<[^>]+>", "", article)
    assert "{glue" not in text, f"a literal glue role is left: ...{text[text.index('{glue') - 80:][:160]}..."
    pasted = len(re.findall(r'class="pasted-(?:text|inline)', article))
    assert pasted == glue_references(name), "a glued value is missing from the page"


def opaque(png: Path) -> bool:
    """Every pixel of the PNG is opaque (readable on the dark theme's background too)."""
    from PIL import Image

    with Image.open(png) as im:
        if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
            return im.convert("RGBA").getchannel("A").getextrema()[0] == 255
        return True


def test_figures_are_opaque_for_the_dark_theme():
    # black text and lines on a transparent figure vanish on the dark theme's background
    pngs = sorted((BOOK / "_images").glob("*.png"))
    assert pngs, f"no figures in {BOOK / '_images'}"
    see_through = [p.name for p in pngs if not opaque(p)]
    assert not see_through, f"figures with transparent pixels: {see_through}"
