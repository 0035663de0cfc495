"""companion/experiments/faithfulness.py: the probed policies and runs, and the verdicts computed
from hand-made probe tables (every outcome a reader could meet), without training."""

import dataclasses

import pandas as pd
import pytest

from companion.experiments import faithfulness as fx
from companion.experiments import test_time
from companion.experiments.rl_after_ntp import algorithm_configs
from companion.profiles import get_profile

TINY = get_profile("tiny")
D = 4


def tables(e2e_errors=(0.0,) * D, cot_errors=(0.0,) * D, own=1.0, first_true=0.0,
           off_accuracy=1.0) -> dict[str, pd.DataFrame]:
    """Probe tables of an NTP start, two end-to-end policies and one CoT policy. Sampled long
    answers are exact unless some position is wrong (``*_errors``: the first policy's per-position
    error rates); ``own``: how often the RL policies continue from a forced token (at k = 1 the
    end-to-end ones follow the true chain ``first_true`` of the time instead)."""
    policies = [("NTP start", "NTP", "NTP start", (0.0,) * D),
                ("grpo seed 0", "end-to-end", "GRPO, end-to-end", e2e_errors),
                ("grpo seed 1", "end-to-end", "GRPO, end-to-end", (0.0,) * D),
                ("grpo seed 0, cot reward", "CoT", "GRPO, CoT", cot_errors)]
    chains, positions, iv = [], [], []
    for name, reward, group, errors in policies:
        tags = {"policy": name, "reward": reward, "group": group}
        exact = 1.0 - max(errors)
        for q in (0.5, 0.1):
            acc = 1.0 if q == 0.5 or reward == "NTP" else off_accuracy
            for decoding in ("greedy", "sampled") if q == 0.5 else ("greedy",):
                chains.append({**tags, "q": q, "decoding": decoding, "accuracy": acc,
                               "long_frac": 0.25 if reward == "NTP" else 1.0, "n_long": 100,
                               "full": 1.0, "exact": exact, "right_by_wrong_chain": 1 - exact,
                               "y_frac": 0.5})
                positions += [{**tags, "q": q, "decoding": decoding, "k": k + 1, "error": e}
                              for k, e in enumerate(errors)]
        for k in (1, 2, 3):
            true = first_true if (k == 1 and reward == "end-to-end") else 0.0
            follows = 1.0 if reward == "NTP" else (1.0 - true if k == 1 else own)
            iv.append({**tags, "k": k, "follows_own": follows, "follows_true": 1.0 - follows,
                       "stops": 0.0, "final_right": 1.0 - follows})
    return {"chains": pd.DataFrame(chains), "positions": pd.DataFrame(positions),
            "interventions": pd.DataFrame(iv)}


def numbers(**kw) -> dict:
    return fx.FaithfulnessResult(TINY, tables(**kw)).numbers()


def test_exact_chains_under_both_rewards():
    n = numbers()
    assert n["chain_verdict"].startswith("Both rewards keep the sampled chain exact")
    assert n["chain_e2e_min"] == 1.0 and n["chain_cot_min"] == 1.0
    assert n["chain_loose_text"].startswith("no position is wrong")


def test_a_loose_first_position_under_the_end_to_end_reward_is_found_and_named():
    n = numbers(e2e_errors=(0.2, 0.0, 0.01, 0.0))
    assert n["chain_verdict"].startswith("The CoT reward keeps the sampled chain exact; the "
                                         "end-to-end reward leaves some positions unconstrained")
    assert n["chain_loose_text"] == "position 1: 20% to 20% of the long answers (1 policy)"
    assert n["chain_rest_max"] == pytest.approx(0.01)  # the other positions' worst
    assert n["chain_e2e_min"] == pytest.approx(0.8) and n["chain_wrong_right"] == pytest.approx(0.2)


def test_an_inexact_cot_policy_is_reported_not_hidden():
    n = numbers(e2e_errors=(0.2, 0.0, 0.0, 0.0), cot_errors=(0.0, 0.1, 0.0, 0.0))
    assert n["chain_verdict"].startswith("The CoT reward does not keep every sampled chain exact")
    assert "0.900" in n["chain_verdict"]
    assert n["chain_cot_loose_text"].startswith("position 2: 10%")


def test_errors_spread_thin_are_inexact_without_a_loose_position():
    n = numbers(e2e_errors=(0.02, 0.02, 0.02, 0.02))
    assert "no single position is wrong in 5% of them" in n["chain_verdict"]


def test_the_intervention_verdict_names_who_ignores_the_forced_token_and_where():
    n = numbers(first_true=1.0)
    assert n["iv_verdict"] == ("2 of 4 policies continue from the forced token at every probed "
                               "position; the forced token is ignored (the true chain follows) by "
                               "grpo seed 0 at k = 1; grpo seed 1 at k = 1")
    assert n["iv_e2e_first_true_max"] == 1.0 and n["iv_e2e_later_own_min"] == 1.0
    assert numbers()["iv_verdict"].startswith("every policy continues from the forced token")


def test_off_distribution_verdict_counts_the_robust_policies():
    assert numbers()["off_verdict"] == "all 3 RL policies keep greedy accuracy of at least 0.95 at every bias"
    n = numbers(off_accuracy=0.7)
    assert n["off_verdict"].startswith("0 of 3 RL policies") and n["off_rl_min"] == 0.7


def test_cot_twins_are_grpo_and_star_with_only_the_reward_changed():
    r = TINY.rl_after_ntp
    twins = fx.cot_configs(TINY)
    assert set(twins) == {*(f"grpo seed {s}, cot reward" for s in r.seeds),
                          *(f"star seed {s}, cot reward" for s in r.other_seeds)}
    originals = algorithm_configs(TINY)
    for name, c in twins.items():
        assert c.reward == "cot"
        assert dataclasses.replace(c, reward="end_to_end") == originals[name.removesuffix(", cot reward")]


def test_chapter_4_probes_every_policy_once_each_after_its_run():
    runs = test_time.runs(TINY)
    probed = test_time.probed_configs(TINY)
    probes = {k: v for k, v in runs.items() if v.kind == "probe"}
    assert set(probes) == {"probe start", *(f"probe {name}" for name in probed)}
    assert len({p.key for p in probes.values()}) == len(probes)  # no two probes share a cache entry
    for p in probes.values():
        assert p.key.prompts == TINY.test_time.probe_prompts
        (need,) = p.needs
        assert need.key == p.key.policy  # the policy is trained (or read) before it is probed
    assert {fx.label(c) for c in probed.values()} >= {"GRPO, end-to-end", "GRPO, CoT",
                                                     "STaR T=1.5, CoT", "GRPO λ=0.3, end-to-end"}
