"""companion/verdicts.py: statuses, the noise and scale helpers, outcomes as JSON."""

import json
import math

import pytest
from IPython.core.formatters import format_display_data

from companion import verdicts
from companion.verdicts import Outcome, Scale, Status


def outcome(**changed) -> Outcome:
    base = dict(claim="c", title="A claim", chapter="02_ntp", section="S", statement="(paper)",
                ours=False, status=Status.REPRODUCED, key="0.990 over 3 seeds", measured="m",
                reason="r", rule="the rule", thresholds={"SOLVED": verdicts.SOLVED},
                scale=Scale("d = 50", "d = 50", True), value=0.99, target=verdicts.SOLVED)
    return Outcome(**{**base, **changed})


def test_only_the_statuses_that_claim_something_give_credit():
    assert {s for s in Status if s.credit} == {Status.REPRODUCED, Status.SCALED, Status.PARTLY}


def test_the_standard_error_is_the_binomial_one_and_refuses_no_prompts():
    assert verdicts.se(0.5, 100) == pytest.approx(0.05)
    assert verdicts.se(0.0, 100) == 0.0
    with pytest.raises(ValueError, match="n .* must be positive"):
        verdicts.se(0.5, 0)


@pytest.mark.parametrize("before, after, n, rose", [
    (0.110, 0.135, 2560, False),  # the STaR recursion's noise: inside 3 SE
    (0.110, 0.200, 2560, True),
    (0.5, 0.5, 10_000, False),
    (0.0, 0.0, 100, False),  # no spread at all: equal is not a rise
    (0.0, 0.05, 100, False),  # 5 of 100 from none: inside 3 SE of 0.05
    (0.0, 0.1, 100, True),
    (0.0, 1.0, 2, False),  # 0 of 2 -> 2 of 2: each alone has no spread, pooled it is noise
    (0.0, 1.0, 20, True),
])
def test_a_rise_counts_beyond_three_standard_errors(before, after, n, rose):
    assert verdicts.rose(before, after, n) is rose


def test_within_uses_the_tolerance_or_the_noise_whichever_is_wider():
    assert verdicts.within(0.54, 0.5, 10_000)  # inside CALIBRATED
    assert not verdicts.within(0.56, 0.5, 10_000)
    assert verdicts.within(0.62, 0.5, 50)  # 3 SE of 50 prompts is 0.21
    assert verdicts.at_chance(0.52, 1000) and not verdicts.at_chance(0.6, 1000)


def test_a_scaled_analogue_caps_reproduced_and_leaves_the_rest():
    small = Scale("d = 16", "d = 50", met=False)
    assert verdicts.capped(Status.REPRODUCED, small) is Status.SCALED
    assert verdicts.capped(Status.PARTLY, small) is Status.PARTLY
    assert verdicts.capped(Status.REPRODUCED, Scale("", "", True)) is Status.REPRODUCED
    assert verdicts.both(True, True) is Status.REPRODUCED
    assert verdicts.both(True, False) is verdicts.both(False, True) is Status.PARTLY
    assert verdicts.both(False, False) is Status.NOT_REPRODUCED


def test_an_outcome_goes_to_json_primitives_and_back_unchanged():
    o = outcome(status=Status.SCALED, scale=Scale("d = 16", "d = 50", False))
    data = verdicts.dumps([o])
    assert json.loads(json.dumps(data)) == data
    assert data[0]["status"] == "partly (scaled analogue)"
    assert verdicts.loads(data) == [o]
    assert o.sentence == "partly (scaled analogue): r"


def test_an_outcome_with_nan_is_refused_before_it_reaches_a_notebook():
    with pytest.raises(ValueError):
        verdicts.dumps([outcome(value=float("nan"))])
    assert verdicts.number(float("nan")) is None and verdicts.number(0.5) == 0.5


def test_a_glued_record_is_json_not_a_repr_to_parse():
    bundle, _ = format_display_data(verdicts._Record({"a": 1, "b": [0.5, None]}))
    text = bundle[verdicts.JSON_MIME]
    assert isinstance(text, str)  # nbformat keeps a glued value's data only as text
    assert verdicts.record(text) == verdicts.record([text[:5], text[5:]]) == {"a": 1, "b": [0.5, None]}


def test_numbers_become_json_primitives():
    np = pytest.importorskip("numpy")
    assert verdicts.primitive(np.float64(0.25)) == 0.25 and type(verdicts.primitive(np.int64(3))) is int
    assert verdicts.primitive(float("nan")) is None
    assert verdicts.primitive((1, "a", math.inf)) == [1, "a", None]
    assert verdicts.primitive(Status.PARTLY) == "partly"


def test_a_rule_without_its_words_is_refused():
    def judge_nothing(e):
        return None

    with pytest.raises(ValueError, match="docstring"):
        verdicts.rule(judge_nothing)


def test_a_glued_record_is_a_valid_notebook_output():
    nbformat = pytest.importorskip("nbformat")
    bundle, _ = format_display_data(verdicts._Record({"outcomes": verdicts.dumps([outcome()])}))
    prefix = "application/papermill.record/"  # as myst_nb.glue(..., display=False) records it
    out = nbformat.v4.new_output("display_data", data={prefix + k: v for k, v in bundle.items()})
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[out])])
    nbformat.validate(nb)
