"""A build in which nothing was learned earns no credit: every rule of every experiment module,
fed what such a build measures (its evidence's ``null()``: greedy at chance, answers short, the
chain unlearned), gives a status without credit; and the page built from those outcomes says
0 reproduced and 0 partly in both tallies."""

import re
import typing

import pytest

from companion import experiments, scorecard, verdicts

for _chapter in experiments.CLAIMS:  # importing the modules registers their rules
    experiments.claim(_chapter)

RULES = dict(sorted(verdicts.RULES.items()))


def evidence_type(rule) -> type:
    (name, kind), = [(k, v) for k, v in typing.get_type_hints(rule).items() if k != "return"]
    return kind


def null_outcome(rule) -> verdicts.Outcome:
    return rule(evidence_type(rule).null())


def test_every_claim_module_registers_its_rules():
    modules = {name.rsplit(".", 1)[0] for name in RULES}
    assert modules == {f"companion.experiments.{m}" for m in experiments.CLAIMS.values()}


@pytest.mark.parametrize("name", RULES)
def test_a_rule_gives_no_credit_to_a_build_that_learned_nothing(name):
    o = null_outcome(RULES[name])
    assert isinstance(o, verdicts.Outcome)
    assert not o.status.credit, f"{name} gives {o.status.value!r} to a null build: {o.reason}"


@pytest.mark.parametrize("name", RULES)
def test_a_rule_prints_every_threshold_it_used_and_its_scale(name):
    o = null_outcome(RULES[name])
    assert o.rule == verdicts.doc(RULES[name])
    assert o.scale.ours and o.scale.paper, f"{name}: its scale is not said"
    assert o.key and o.reason and o.statement
    assert "nan" not in f"{o.key} {o.measured} {o.reason}".lower().replace("nano", "")
    for k, v in o.thresholds.items():
        assert isinstance(v, (int, float)), (name, k)


def test_the_page_of_a_null_build_shows_no_credit_in_either_tally():
    built: dict[str, list] = {}
    for rule in RULES.values():
        o = null_outcome(rule)
        built.setdefault(o.chapter, []).append(o)
    head = scorecard.scorecard_page(built, {}, "null").split("## The paper's claims")[0]
    tallies = [line for line in head.splitlines() if line.startswith(("**Under", "Checks of"))]
    assert len(tallies) == 2
    for line in tallies:
        assert not re.search(r"\d+ (reproduced|partly)", line), line
