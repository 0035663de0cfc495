"""The chapters' prose states no number that no code computed.

``book/intro.md`` promises that every unattributed number in the book was measured when it was
built. This lint keeps the promise for chapters 1-7: in their markdown cells, a digit may stand
only inside a glue role (a computed value), in math (a definition or a closed form), in inline
code, in the paper's column of a "paper beside ours" table, in a sentence that attributes it to
the paper, or in one of the names and references listed in ``ALLOWED`` (each with its reason).
A verdict sentence typed by hand ("a constant 1-3 above the closed form") fails it. In the book's
own columns of a "paper beside ours" table math is no shelter: a threshold or a setting typed
there as ``$\\geq 0.95$`` is a number of this build, and must be glued.
"""

import re

import jupytext
import pytest

from companion.run import ROOT

CHAPTERS = sorted((ROOT / "book").glob("0[1-7]_*.py"))

# stripped before looking for digits: what a digit may legitimately stand in
STRIP = [
    r"\{glue(?::\w+)?\}`[^`]*`",      # a computed value
    r"\{(?:cite|cite:p|cite:t|doc|ref|numref|eq)\}`[^`]*`",  # references
    r"\$\$.*?\$\$",                    # display math: definitions and closed forms
    r"`[^`]*`",                       # inline code: names of functions, flags, files
    r"\]\([^)]*\)",                   # link targets
    r"<[^>]*>",                       # html
]
MATH = r"\$[^$]*\$"  # inline math: definitions and closed forms, except in the book's columns
# names and references that contain digits; each is a name, a pointer or a definition, not a
# measurement
ALLOWED = [
    r"\b[Cc]hapters? \d(?:-\d)?(?:,? (?:and )?\d)*",  # pointers to other chapters
    r"\b(?:Fig|Figs|Figure|Theorem|Section|Sec|Eq|Table|Appendix)\.? ?\(?[A-Z]?\d+(?:\.\d+)*\)?",
    r"\bGSM8K\b", r"\bSmolLM2(?:-135M(?:-Instruct)?)?", r"\bLlama-\d(?:\.\d)?(?:-\d+B)?",
    r"\bGPT-2\b", r"\b135M\b", r"\b\d+-core\b", r"\bCC-BY-NC-ND-4\.0\b", r"\bbf16\b", r"\bfloat32\b",
    r"\bleap-2\b", r"\bdegree-2\b", r"\b0-based\b", r"\bk3\b",
    r"\btemperature[- ]1\b",          # the sampling the paper's calibration is defined at
    r"\b1/3\b", r"\b1/2\b",           # the threshold and chance, the closed form's constants
    r"\breward(?:s a response with)? 1\b", r"\(0 otherwise", r"\b95%",  # definitions
    r"\bfrom 1 to\b", r"\b1 -> 50\b", r"\bresponse length 1\b",  # a short answer is one token
    r"\bthe odds grow by less than 2\b", r"\bdouble\b",
    r"\b2\^d\b",                      # the closed form's feature count, not a measurement
]
# a sentence that says the number is the paper's, or reconstructs the paper
ATTRIBUTED = re.compile(r"\b(?:[Tt]he paper|[Pp]aper's|reports?|\*\*\(reconstructed)")


def strip_math(text: str) -> str:
    return re.sub(MATH, " ", text)


def prose(source: str) -> list[tuple[str, str]]:
    """(sentence, digits-carrying remainder) for every sentence of the markdown cells."""
    nb = jupytext.read(source)
    out = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        text = cell.source
        for pat in STRIP:
            text = re.sub(pat, " ", text, flags=re.S)
        paper_col, paragraph = None, []
        units = []  # table rows one by one, other lines joined into paragraphs
        for line in text.splitlines() + [""]:
            stripped = line.strip()
            if stripped.startswith("|"):
                cells = [c.strip() for c in stripped.strip("|").split("|")]
                if paper_col is None and len(cells) > 1 and "paper" in cells[1].lower():
                    paper_col = 1  # the header of a "paper beside ours" table
                    continue
                if paper_col is not None and len(cells) > paper_col:
                    cells[paper_col] = ""  # the paper's column
                    cells[0] = strip_math(cells[0])  # the row's label
                else:
                    cells = [strip_math(c) for c in cells]
                units.append(" | ".join(cells))
                continue
            paper_col = None
            if stripped and not stripped.startswith("#"):  # headings: number and title
                paragraph.append(strip_math(stripped))
            elif paragraph:
                units.append(" ".join(paragraph))
                paragraph = []
        for unit in units:
            if re.match(r"\*\*(?:The paper's claim|\(reconstructed)", unit):
                continue  # a paragraph that states the paper's claim, or reconstructs it
            for sentence in re.split(r"(?<=[.;:!?])\s+(?=[A-Z*(])", unit):
                if ATTRIBUTED.search(sentence):
                    continue
                rest = sentence
                for pat in ALLOWED:
                    rest = re.sub(pat, " ", rest)
                if re.search(r"\d", rest):
                    out.append((sentence.strip(), rest))
    return out


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_no_number_in_the_prose_that_no_code_computed(source):
    found = prose(source)
    assert not found, (f"{source.name}: numbers typed into the prose (glue a computed value, put "
                       "it in math, attribute it to the paper, or list the name in ALLOWED):\n"
                       + "\n".join(f"  - {s}" for s, _ in found))


def test_the_lint_catches_a_typed_number(tmp_path):
    chapter = tmp_path / "02_x.py"
    chapter.write_text("# %% [markdown]\n# The measured rounds run a constant 1-3 above the closed "
                       "form. Chapter 3 shows it; GSM8K too; $p = 0.25$ and {glue:text}`n:,` are "
                       "fine.\n")
    found = prose(chapter)
    assert [s for s, _ in found] == ["The measured rounds run a constant 1-3 above the closed form."]


def test_math_in_the_books_column_of_a_paper_table_is_no_shelter(tmp_path):
    chapter = tmp_path / "03_x.py"
    chapter.write_text("# %% [markdown]\n# | | paper | this book |\n# |---|---|---|\n"
                       "# | final greedy $\\geq 0.9$ | $\\approx 1$ (Fig. 3) | $\\geq 0.95$ |\n"
                       "# | start | chance below $1/3$ | {glue:text}`acc:.3f` at $p =$ {glue:text}`p` |\n")
    assert [" ".join(s.split()) for s, _ in prose(chapter)] == ["final greedy | | $\\geq 0.95$"]
