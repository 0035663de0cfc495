"""Word problems: mixtures, answer extraction, the worded parity and the data loaders."""

import json
import random

import pytest

from companion import mathdata
from companion.config import ConfigError
from companion.mathdata import Record, build_mixture, extract_answer, is_correct, is_long


def _records(n):
    return [Record(f"q{i}", f"step one\nstep two\n#### {i}", str(i)) for i in range(n)]


@pytest.mark.parametrize("p_cot", [0.0, 0.05, 0.1, 1 / 3, 0.5, 1.0])
def test_mixture_has_exactly_the_long_fraction_asked(p_cot):
    mix = build_mixture(_records(1000), p_cot, seed=3)
    assert abs(sum(e.is_long for e in mix) / 1000 - p_cot) <= 0.5 / 1000


def test_short_targets_are_the_answer_only_and_long_ones_the_whole_solution():
    recs = _records(200)
    mix = build_mixture(recs, 0.3, seed=0)
    for r, e in zip(recs, mix):
        assert e.answer == r.answer and e.question == r.question
        if e.is_long:
            assert e.target == r.solution
        else:
            assert e.target == f"#### {r.answer}"
            assert not is_long(e.target)
    # a different seed picks different long examples, the same seed the same ones
    again = build_mixture(recs, 0.3, seed=0)
    other = build_mixture(recs, 0.3, seed=1)
    assert [e.is_long for e in again] == [e.is_long for e in mix]
    assert [e.is_long for e in other] != [e.is_long for e in mix]


def test_mixture_rejects_a_fraction_outside_0_1():
    with pytest.raises(ConfigError, match=r"invalid p_cot=1\.5: must be in \[0, 1\]\."):
        build_mixture(_records(3), 1.5, 0)


@pytest.mark.parametrize("text, answer", [
    ("#### 42", "42"),
    ("Half of 10 is 5.\nSo 5 + 3 = 8.\n#### 8", "8"),
    ("#### 1,234", "1234"),
    ("#### $18.00", "18"),
    ("#### 2.50", "2.5"),
    ("#### -3", "-3"),
    ("#### 44 years", "44"),
    ("odd even odd #### odd", "odd"),
    ("#### Even.", "even"),
    ("first #### 3 then #### 4", "4"),  # the last mark counts
    ("The answer is \\boxed{\\frac{1}{2}}.", "\\frac{1}{2}"),
    ("so we get \\boxed{17} dollars", "17"),
    ("She pays 12 dollars, then 30 in total", "30"),  # lenient: the last number
    ("#### \\frac{3}{4}", "\\frac{3}{4}"),
])
def test_extract_answer(text, answer):
    assert extract_answer(text) == answer


@pytest.mark.parametrize("text", ["", "####", "#### \n", "no numbers here", "\\boxed{12"])
def test_malformed_responses_have_no_answer(text):
    assert extract_answer(text) is None
    assert not is_correct(text, "12")


def test_is_correct_normalises_both_sides_and_is_long_looks_before_the_answer():
    assert is_correct("#### 1,000", "1000.0")
    assert not is_correct("#### 1001", "1000")
    assert is_long("a step\n#### 3") and not is_long("  #### 3") and is_long("just words")


@pytest.mark.parametrize("response, gold, right", [
    ("#### 0.5", "\\frac{1}{2}", True),  # MATH's answers: the same number written otherwise
    ("\\boxed{\\frac{\\sqrt{2}}{2}}", "\\frac{1}{\\sqrt{2}}", True),
    ("#### \\frac{2}{3}", "\\frac{1}{2}", False),
    ("#### dod", "odd", False),  # words stay strings: to sympy "dod" is o*d*d
    ("#### 13", "12", False),
])
def test_maths_answers_are_compared_as_mathematical_objects(response, gold, right):
    assert is_correct(response, gold) == right


def test_worded_parity_solution_is_the_running_parity():
    for rec in mathdata.worded_parity(200, 9, random.Random(0)):
        words = rec.question.split(" : ")[1].split(" . ")[0].split()
        counted = rec.question.split("number of ")[1].split()[0]
        assert len(words) == 9
        running, parity = [], 0
        for w in words:
            parity ^= int(w == counted)
            running.append("odd" if parity else "even")
        assert rec.solution == " ".join(running) + f" #### {running[-1]}"
        assert rec.answer == running[-1] and extract_answer(rec.solution) == rec.answer
    answers = [r.answer for r in mathdata.worded_parity(2000, 9, random.Random(1))]
    assert 0.45 < answers.count("odd") / len(answers) < 0.55


def test_running_totals_solution_adds_one_number_per_sentence():
    recs = mathdata.running_totals(200, 3, random.Random(0))
    for r in recs:
        steps = r.solution.split("\n")[0].split(". ")
        assert len(steps) == 3
        start = int(steps[0].split(" + ")[0])
        total = start
        for s in steps:
            a, rest = s.rstrip(".").split(" + ")
            k, out = map(int, rest.split(" = "))
            assert int(a) == total and 1 <= k <= 9 and out == total + k
            assert f"{k} more" in r.question
            total = out
        assert r.answer == str(total) and r.solution.endswith(f"#### {total}")
        assert is_long(r.solution) and extract_answer(r.solution) == r.answer
    assert recs == mathdata.running_totals(200, 3, random.Random(0))  # seeded


def test_running_totals_hold_out_stories_and_items():
    def words(split):
        return {w for r in mathdata.running_totals(500, 2, random.Random(1), split)
                for w in r.question.rstrip("?").split()}

    train, held_out = words("train"), words("eval")
    assert {"shells", "cards", "collects"} <= held_out - train
    assert {"apples", "buys"} <= train - held_out
    with pytest.raises(ConfigError, match="invalid split='test'"):
        mathdata.running_totals(1, 2, random.Random(0), "test")
    with pytest.raises(ConfigError, match="invalid additions=0"):
        mathdata.running_totals(1, 0, random.Random(0))


def test_worded_parity_rejects_bad_d():
    with pytest.raises(ConfigError, match=r"invalid d=1: must be an integer in \[2, 256\]\."):
        mathdata.worded_parity(1, 1, random.Random(0))


@pytest.mark.slow  # generating from the templates takes seconds
def test_gsm_symbolic_problems_are_generated_offline_with_worked_solutions():
    templates = mathdata.gsm_templates()
    assert len(templates) == 100
    recs = mathdata.gsm_symbolic(templates[:6], per_template=2, seed=0, timeout=2.0)
    assert len(recs) >= 4  # a template may time out, most don't
    for r in recs:
        assert "<<" not in r.solution  # calculator annotations removed
        assert r.solution.endswith(f"#### {r.answer}")
        assert is_long(r.solution) and extract_answer(r.solution) == r.answer
    # seeded: the same seed gives the same problems
    assert mathdata.gsm_symbolic(templates[:2], 2, seed=0) == mathdata.gsm_symbolic(templates[:2], 2, seed=0)


def test_time_limit_stops_a_hanging_generator():
    import time

    def hang():
        time.sleep(5)

    t0 = time.perf_counter()
    with pytest.raises(mathdata._TimeOut):
        mathdata._with_timeout(hang, 0.2)
    assert time.perf_counter() - t0 < 3


def test_time_limit_is_not_swallowed_by_the_code_it_stops():
    """A generator that catches every Exception (and one alarm lost on the way) is still
    stopped: the time-out is not an Exception, and the alarm repeats until cleared."""
    import signal
    import time

    def stubborn():
        t = time.perf_counter()
        while time.perf_counter() - t < 5:
            try:
                time.sleep(0.01)
            except Exception:  # noqa: BLE001 - what a template's own code might do
                pass

    before = signal.getsignal(signal.SIGALRM)
    t0 = time.perf_counter()
    with pytest.raises(mathdata._TimeOut):
        mathdata._with_timeout(stubborn, 0.2)
    assert time.perf_counter() - t0 < 2
    assert signal.getsignal(signal.SIGALRM) == before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_load_records_reads_gsm8k_and_math_lines(tmp_path):
    f = tmp_path / "mix.jsonl"
    f.write_text("\n".join([
        json.dumps({"question": "How many? ", "answer": "2+2=<<2+2=4>>4\n#### 4"}),
        json.dumps({"problem": "Half of one?", "solution": "It is $\\boxed{\\frac{1}{2}}$."}),
        json.dumps({"problem": "No answer", "solution": "unfinished"}),  # skipped: no \boxed{}
        "",
    ]))
    recs = mathdata.load_records(f)
    assert recs == [Record("How many?", "2+2=4\n#### 4", "4"),
                    Record("Half of one?", "It is $\\boxed{\\frac{1}{2}}$.\n#### \\frac{1}{2}",
                           "\\frac{1}{2}")]
    assert all(extract_answer(r.solution) == r.answer for r in recs)


def test_load_records_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="invalid data file=.*missing.jsonl.*existing JSON-lines"):
        mathdata.load_records(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "?"}) + "\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:1: expected GSM8K fields"):
        mathdata.load_records(bad)
