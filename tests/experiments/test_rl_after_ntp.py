"""companion/experiments/rl_after_ntp.py: GRPO from each NTP seed, what the chapter says of it,
and the rules that judge the chapter's claims (each status reached from synthetic evidence)."""

import dataclasses
import json
import typing
from pathlib import Path

import pandas as pd
import pytest

from companion import verdicts
from companion.experiments import rl_after_ntp
from companion.profiles import get_profile
from companion.train import RLResult, rl_run
from companion.verdicts import SOLVED, Status

CPU = get_profile("cpu")


def grpo_from(seed: int, start_acc: float, final_acc: float) -> RLResult:
    """A GRPO result from NTP seed ``seed``: greedy accuracy ``start_acc`` at step 0 (the start's)
    and ``final_acc`` after the last step."""
    cfg = rl_run(rl_after_ntp.across_ntp_config(CPU), rl_after_ntp.start_config(CPU, seed))
    rows = [{"step": s, "responses": s * 256, "decoding": "greedy", "accuracy": a, "mean_len": n}
            for s, a, n in ((0, start_acc, 1.0), (40, final_acc, 51.0))]
    return RLResult(config=cfg, folder=Path("/nonexistent"), history=pd.DataFrame(rows))


def numbers(across: dict[str, RLResult]) -> dict:
    res = rl_after_ntp.RLAfterNTPResult(CPU, *([None] * 8), across_ntp=across)
    return res._across_ntp_numbers()


def test_the_cpu_profile_trains_three_ntp_seeds_from_the_headline_one():
    seeds = CPU.rl_after_ntp.ntp_seeds
    assert len(seeds) == 3 and seeds[0] == CPU.headline.train.seed
    runs = rl_after_ntp.runs(CPU)
    for s in seeds[1:]:
        run = runs[f"NTP seed {s}"]
        assert run.key.start == dataclasses.replace(
            rl_after_ntp.start_config(CPU), train=dataclasses.replace(
                rl_after_ntp.start_config(CPU).train, seed=s))
        assert run.key.rl.algorithm == "grpo" and run.key.start_step == CPU.rl_after_ntp.start_steps


@pytest.mark.parametrize("finals,reached,says", [
    ((0.99, 0.98, 1.0), 3, "from every one: the result does not hang on one NTP run"),
    ((0.99, 0.6, 1.0), 2, "from 2 of them: the result depends on the NTP run"),
    ((0.5, 0.6, 0.49), 0, "from none of them at this budget"),
])
def test_the_verdict_across_ntp_seeds_follows_the_runs(finals, reached, says):
    out = numbers({f"NTP seed {s}": grpo_from(s, 0.5, a) for s, a in enumerate(finals)})
    assert out["n_ntp_seeds"] == 3 and out["across_n_reached"] == reached
    assert (out["across_final_min"], out["across_final_max"]) == (min(finals), max(finals))
    assert out["across_verdict"].startswith("Across the 3 NTP seeds, every start answers at chance;")
    assert says in out["across_verdict"]


def test_a_start_off_chance_is_named():
    out = numbers({"NTP seed 0": grpo_from(0, 0.5, 1.0), "NTP seed 1": grpo_from(1, 0.8, 1.0)})
    assert "1 of the 2 starts answer at chance" in out["across_verdict"]
    assert (out["ntp_seed_greedy_min"], out["ntp_seed_greedy_max"]) == (0.5, 0.8)


def test_the_baseline_compute_is_counted_against_the_rl_run_it_matches():
    def grpo(mean_len: float) -> RLResult:
        cfg = rl_run(rl_after_ntp.across_ntp_config(CPU), rl_after_ntp.start_config(CPU))
        rows = [{"step": s, "decoding": "rollout", "long_frac": float(mean_len > 1),
                 "mean_len": mean_len} for s in range(CPU.rl_after_ntp.rl.steps)]
        return RLResult(config=cfg, folder=Path("/nonexistent"), history=pd.DataFrame(rows))
    # per response two fresh sequences (three forwards each, a quarter of them long) against one
    # update and one rollout of that response: RL with long answers costs more than with short
    short, long_ = (rl_after_ntp.baseline_flop_ratio(CPU, grpo(n)) for n in (1.0, 50.0))
    assert long_ < 1.2 < short
    one = dataclasses.replace(CPU, rl_after_ntp=dataclasses.replace(CPU.rl_after_ntp, baseline_factor=1))
    assert rl_after_ntp.baseline_flop_ratio(one, grpo(50.0)) == pytest.approx(long_ / 2, rel=0.02)


def other_from(algorithm: str, seed: int, final_acc: float) -> RLResult:
    cfg = rl_run(rl_after_ntp.across_ntp_others(CPU)[algorithm], rl_after_ntp.start_config(CPU, seed))
    rows = [{"step": s, "responses": s * 256, "decoding": "greedy", "accuracy": a, "mean_len": 1.0}
            for s, a in ((0, 0.5), (40, final_acc))]
    return RLResult(config=cfg, folder=Path("/nonexistent"), history=pd.DataFrame(rows))


def test_reinforce_and_star_run_from_every_ntp_seed_and_are_counted_apart_from_grpo():
    runs = rl_after_ntp.runs(CPU)
    for a in ("reinforce", "star"):
        for s in CPU.rl_after_ntp.ntp_seeds[1:]:
            key = runs[f"{a}, NTP seed {s}"].key
            assert key.rl.algorithm == a and key.start.train.seed == s
    grpo = {f"NTP seed {s}": grpo_from(s, 0.5, 1.0) for s in range(3)}
    others = {f"reinforce, NTP seed {s}": other_from("reinforce", s, a)
              for s, a in enumerate((1.0, 0.97, 0.6))}
    others |= {f"star, NTP seed {s}": other_from("star", s, 1.0) for s in range(3)}
    res = rl_after_ntp.RLAfterNTPResult(CPU, *([None] * 8), across_ntp=grpo, across_others=others)
    out = res._across_ntp_numbers()
    assert out["across_n_reached"] == 3 and out["n_ntp_seeds"] == 3  # GRPO's alone
    assert (out["reinforce_across_min"], out["reinforce_across_reached"]) == (0.6, 2)
    assert out["star_across_reached"] == 3
    assert out["others_across_verdict"] == ("0.95 is reached by REINFORCE from 2 of them and STaR "
                                            "from every one.")
    assert list(res.across_ntp_table().algorithm) == ["grpo"] * 3 + ["reinforce"] * 3 + ["star"] * 3


# --- the claims' rules ---------------------------------------------------------------------------------
RL_RULES = [(rl_after_ntp.GRPOEvidence, rl_after_ntp.judge_rl_grpo),
            (rl_after_ntp.ReinforceEvidence, rl_after_ntp.judge_rl_reinforce),
            (rl_after_ntp.STaREvidence, rl_after_ntp.judge_rl_star)]
ALL_RULES = [rl_after_ntp.judge_rl_grpo, rl_after_ntp.judge_rl_reinforce,
             rl_after_ntp.judge_rl_star, rl_after_ntp.judge_hot_star,
             rl_after_ntp.judge_too_early, rl_after_ntp.judge_rare_long]


def evidence_of(rule) -> type:
    (kind,) = [v for k, v in typing.get_type_hints(rule).items() if k != "return"]
    return kind


def rl_good(kind: type, **changed):
    """Three NTP starts at chance, short, with their chain learned; every run solves."""
    base = kind.null()
    good = dataclasses.replace(base, start_greedy=(0.49, 0.51, 0.5), start_acc_long=(0.98,) * 3,
                               seed_final=(0.99, 1.0, 0.985), other_ntp_final=(0.99, 0.97),
                               reach=(2048.0, 4096.0, 3072.0))
    return dataclasses.replace(good, **changed)


@pytest.mark.parametrize("kind,rule", RL_RULES)
@pytest.mark.parametrize("changed,status", [
    ({}, Status.REPRODUCED),
    ({"d": 12}, Status.SCALED),  # below the paper's d = 50
    ({"start_greedy": (0.5, 0.5), "start_len": (1.0, 1.0), "start_acc_long": (0.98, 0.98),
      "start_n_long": (250, 250), "other_ntp_final": (0.99,)}, Status.SCALED),  # 2 NTP seeds
    ({"other_ntp_final": (0.99, 0.6)}, Status.PARTLY),  # one NTP seed short of SOLVED
    ({"seed_final": (0.6, 0.7, 0.5), "other_ntp_final": (0.6, 0.6)}, Status.NOT_REPRODUCED),
    # the controls: each failing alone takes all credit away, though every run solves
    ({"start_acc_long": (0.98, 0.85, 0.98)}, Status.NOT_REPRODUCED),  # a chain not learned
    ({"start_acc_long": (1.0, 1.0, 1.0), "start_n_long": (5, 5, 5)}, Status.NOT_REPRODUCED),
    ({"start_greedy": (0.5, 0.6, 0.5)}, Status.NOT_REPRODUCED),  # off chance beyond 3 SE
    ({"start_len": (1.0, 51.0, 1.0)}, Status.NOT_REPRODUCED),  # greedy answers already long
    ({"p_cot": 0.4}, Status.NOT_REPRODUCED),  # above 1/3: NTP alone would do
])
def test_the_rl_rules_give_credit_only_from_a_clean_start(kind, rule, changed, status):
    o = rule(rl_good(kind, **changed))
    assert o.status is status, o.reason
    assert not o.ours and o.chapter == "03_rl" and o.target == SOLVED
    assert {"SOLVED", "CHANCE", "KNOWN", "SHORT", "Z", "THRESHOLD"} <= set(o.thresholds)


def test_an_rl_start_at_chance_is_judged_against_the_noise_of_its_prompts():
    # 0.57 is outside CHANCE, but inside 3 SE of 1/2 on 200 prompts (0.106): at chance there
    assert rl_after_ntp.judge_rl_grpo(rl_good(
        rl_after_ntp.GRPOEvidence, start_greedy=(0.5, 0.57, 0.5), n_prompts=200)).status \
        is Status.REPRODUCED
    assert rl_after_ntp.judge_rl_grpo(rl_good(
        rl_after_ntp.GRPOEvidence, start_greedy=(0.5, 0.57, 0.5))).status is Status.NOT_REPRODUCED


def test_the_rl_key_gives_the_spread_over_every_run():
    o = rl_after_ntp.judge_rl_grpo(rl_good(rl_after_ntp.GRPOEvidence))
    assert o.key == "GRPO final greedy 0.970-1.000 over 5 runs (3 RL seeds from the headline " \
                    "start, 3 NTP seeds)"
    assert o.value == 0.97 and o.scale.met


def hot(**changed):
    base = dict(d=50, n_prompts=1000, temperature=1.0, hot_temperature=1.5, hot_e2e=0.55,
                hot_cot=0.99, cool_e2e=0.99, n_seeds=3)
    return rl_after_ntp.HotStarEvidence(**{**base, **changed})


@pytest.mark.parametrize("changed,status", [
    ({}, Status.REPRODUCED),
    ({"n_seeds": 1}, Status.SCALED),
    ({"d": 12}, Status.SCALED),
    ({"hot_cot": 0.6}, Status.PARTLY),  # the reward is not shown to be the cause
    ({"hot_e2e": 0.99}, Status.NOT_REPRODUCED),  # hot STaR does not fail
    ({"hot_e2e": 0.94}, Status.NOT_REPRODUCED),  # 0.01 under SOLVED: inside 3 SE, not a failure
    ({"cool_e2e": 0.6}, Status.NOT_REPRODUCED),  # STaR fails at T = 1 too: no control
    ({"cool_e2e": 0.6, "hot_cot": 0.6}, Status.NOT_REPRODUCED),  # everything fails
])
def test_hot_star_needs_both_controls(changed, status):
    o = rl_after_ntp.judge_hot_star(hot(**changed))
    assert o.status is status, o.reason


def early(**changed):
    """GRPO from four checkpoints: the first lengthens at chance, the third on solve."""
    base = dict(d=50, n_prompts=1000, steps=(250, 375, 500, 1000),
                acc_long=(0.5, 0.7, 0.97, 0.99), n_long=(250,) * 4,
                long_before=(0.0, 0.0, 0.0, 0.0), long_after=(0.6, 0.0, 1.0, 1.0),
                final=(0.5, 0.52, 0.99, 1.0))
    return rl_after_ntp.TooEarlyEvidence(**{**base, **changed})


@pytest.mark.parametrize("changed,status", [
    ({}, Status.REPRODUCED),
    ({"d": 12}, Status.SCALED),
    ({"final": (0.7, 0.52, 0.99, 1.0)}, Status.PARTLY),  # longer, accuracy off chance
    # RL succeeds from no checkpoint: no control, whatever the early ones did
    ({"final": (0.5, 0.52, 0.6, 0.7)}, Status.NOT_REPRODUCED),
    ({"final": (0.99, 0.99, 0.99, 1.0)}, Status.NOT_REPRODUCED),  # none is too early
    ({"long_after": (0.004, 0.0, 1.0, 1.0)}, Status.NOT_REPRODUCED),  # a rise inside 3 SE
    ({"long_after": (0.0, 0.0, 1.0, 1.0)}, Status.NOT_REPRODUCED),  # nothing lengthens
])
def test_too_early_needs_a_later_checkpoint_that_succeeds_and_a_rise_beyond_noise(changed, status):
    o = rl_after_ntp.judge_too_early(early(**changed))
    assert o.status is status, o.reason


def test_the_middle_ground_is_read_from_typed_runs():
    r = rl_after_ntp.EarlyReading.of(early())
    assert (r.control, r.early, r.middle, r.partway) == (2, (0, 1), (0,), ())
    r = rl_after_ntp.EarlyReading.of(early(final=(0.5, 0.52, 0.6, 0.7)))
    assert r.control is None and r.early == (0, 1, 2, 3)


def rare(**changed):
    base = dict(d=50, p_cot=0.01, n_prompts=1000, long_seen=20_000, chain_long=40_000,
                acc_long=(0.97,), n_long=(100,), long_before=(0.01,), long_after=(0.2,),
                malformed_before=(0.0,), malformed_after=(0.0,), final=(0.5,))
    return rl_after_ntp.RareLongEvidence(**{**base, **changed})


TWO = dict(acc_long=(0.97, 0.97), n_long=(100, 100), long_before=(0.01, 0.01),
           long_after=(0.2, 0.3), malformed_before=(0.0, 0.0), malformed_after=(0.0, 0.0),
           final=(0.5, 0.5))


@pytest.mark.parametrize("changed,status", [
    ({}, Status.PARTLY),  # one checkpoint: the paper says almost every one
    (TWO, Status.REPRODUCED),
    ({**TWO, "d": 12}, Status.SCALED),
    ({**TWO, "long_after": (0.2, 0.01)}, Status.PARTLY),  # one of two lengthens
    ({"long_after": (0.015,)}, Status.NOT_REPRODUCED),  # 0.010 -> 0.015: inside 3 SE
    # malformed answers are not long ones: more of them is no lengthening
    ({"long_after": (0.01,), "malformed_after": (0.5,)}, Status.NOT_REPRODUCED),
    ({"acc_long": (0.5,)}, Status.NOT_REPRODUCED),  # the chain is not learned
    ({"acc_long": (1.0,), "n_long": (5,)}, Status.NOT_REPRODUCED),  # 5 lucky long answers
    ({"acc_long": (None,), "n_long": (0,)}, Status.NOT_REPRODUCED),  # no long answer sampled
])
def test_rare_long_data_needs_the_regime_and_a_rise_beyond_noise(changed, status):
    o = rl_after_ntp.judge_rare_long(rare(**changed))
    assert o.status is status, o.reason
    assert "n/a" in o.measured or "nan" not in o.measured


def test_rare_data_without_the_chain_says_the_regime_was_not_reached():
    o = rl_after_ntp.judge_rare_long(rare(acc_long=(0.5,), long_after=(0.5,)))
    assert o.status is Status.NOT_REPRODUCED and "regime is not reached" in o.reason


@pytest.mark.parametrize("rule", ALL_RULES)
def test_a_build_that_learned_nothing_gets_no_credit(rule):
    o = rule(evidence_of(rule).null())
    assert not o.status.credit, o.reason
    assert o.rule == verdicts.doc(rule) and o.scale.ours and o.scale.paper
    assert "nan" not in f"{o.key} {o.measured} {o.reason}".lower()
    assert json.loads(json.dumps(verdicts.dumps([o]))) == verdicts.dumps([o])


def test_every_rule_is_registered_with_its_own_evidence():
    names = {f"companion.experiments.rl_after_ntp.{r.__name__}" for r in ALL_RULES}
    assert names <= set(verdicts.RULES)
    kinds = [evidence_of(r) for r in ALL_RULES]
    assert len(set(kinds)) == len(kinds)
    assert {o.claim for o in (r(evidence_of(r).null()) for r in ALL_RULES)} == {
        "rl_grpo", "rl_reinforce", "rl_star", "hot_star", "too_early", "rare_long"}


def run_of(algorithm: str, seed: int, ntp_seed: int, start_acc: float, final_acc: float,
           acc_long: float = 0.98) -> RLResult:
    """An RL result with greedy and sampled evaluations at step 0 (its NTP start) and at its end."""
    rl = dataclasses.replace(CPU.rl_after_ntp.rl, algorithm=algorithm, seed=seed)
    cfg = rl_run(rl, rl_after_ntp.start_config(CPU, ntp_seed))
    rows = []
    for step, acc, long_ in ((0, start_acc, 0.0), (40, final_acc, 1.0)):
        rows += [{"step": step, "responses": step * 256, "decoding": "greedy", "accuracy": acc,
                  "long_frac": long_, "mean_len": 1.0, "median_len": 1.0, "malformed_frac": 0.0},
                 {"step": step, "responses": step * 256, "decoding": "sampled", "accuracy": 0.6,
                  "long_frac": 0.25, "mean_len": 13.5, "median_len": 1.0, "acc_long": acc_long,
                  "malformed_frac": 0.0}]
    return RLResult(config=cfg, folder=Path("/nonexistent"), history=pd.DataFrame(rows))


def test_the_rl_evidence_counts_each_run_once_and_each_start_from_its_own_seed():
    r = CPU.rl_after_ntp
    algorithms = {f"grpo seed {s}": run_of("grpo", s, 0, 0.5, f)
                  for s, f in zip(r.seeds, (0.99, 0.98, 0.97))}
    algorithms |= {f"{a} seed {s}": run_of(a, s, 0, 0.5, 0.96)
                   for a in ("reinforce", "star") for s in r.other_seeds}
    across = {"NTP seed 0": algorithms["grpo seed 0"]}
    across |= {f"NTP seed {s}": run_of("grpo", 0, s, 0.52, 0.6, acc_long=0.8)
               for s in r.ntp_seeds[1:]}
    others = {f"{a}, NTP seed {s}": run_of(a, 0, s, 0.48, 0.99)
              for a in ("reinforce", "star") for s in r.ntp_seeds[1:]}
    res = rl_after_ntp.RLAfterNTPResult(CPU, None, algorithms, *([None] * 6), across_ntp=across,
                                        across_others=others)
    e = res.rl_evidence(rl_after_ntp.GRPOEvidence, "grpo")
    assert isinstance(e, rl_after_ntp.GRPOEvidence)
    assert e.seed_final == (0.99, 0.98, 0.97) and e.other_ntp_final == (0.6, 0.6)
    assert e.start_greedy == (0.5, 0.52, 0.52) and e.start_acc_long == (0.98, 0.8, 0.8)
    assert e.start_n_long == (250,) * 3 and e.n_prompts == 1000 and e.d == 50
    assert rl_after_ntp.judge_rl_grpo(e).status is Status.NOT_REPRODUCED  # two chains unlearned
    e = res.rl_evidence(rl_after_ntp.STaREvidence, "star")
    assert e.seed_final == (0.96,) and e.other_ntp_final == (0.99, 0.99)
    assert e.start_greedy == (0.5, 0.48, 0.48)
    assert rl_after_ntp.judge_rl_star(e).status is Status.REPRODUCED
