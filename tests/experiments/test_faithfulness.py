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


def tables(e2e_first=(0.0,) * D, cot_first=(0.0,) * D, ntp_first=(0.0,) * D, own=1.0,
           first_true=0.5, off_accuracy=(1.0, 1.0)) -> dict[str, pd.DataFrame]:
    """Probe tables of an NTP start, two end-to-end policies, one CoT policy and one that did not
    learn parity. ``*_first``: where the first policy of that kind first goes wrong (rates per
    position); ``own``: how often the RL policies continue from a forced token past k = 1 (at
    k = 1 the end-to-end ones follow the true chain ``first_true`` of the time, the others stop);
    ``off_accuracy``: greedy accuracy at q = 0.1 of the end-to-end and the CoT policies."""
    policies = [("NTP start", "NTP", "NTP start", ntp_first),
                ("grpo seed 0", "end-to-end", "GRPO, end-to-end", e2e_first),
                ("grpo seed 1", "end-to-end", "GRPO, end-to-end", (0.0,) * D),
                ("grpo seed 0, cot reward", "CoT", "GRPO, CoT", cot_first),
                ("T=1.5, end_to_end reward", "end-to-end", "STaR T=1.5, end-to-end", (0.5,) * D)]
    chains, positions, iv = [], [], []
    for name, reward, group, first in policies:
        tags = {"policy": name, "reward": reward, "group": group}
        failed = name.startswith("T=1.5")
        exact = 1.0 - sum(first)
        for q in (0.5, 0.1):
            acc = (0.5 if failed or reward == "NTP" else 1.0 if q == 0.5
                   else off_accuracy[reward == "CoT"])
            for decoding in ("greedy", "sampled") if q == 0.5 else ("greedy",):
                chains.append({**tags, "q": q, "decoding": decoding, "accuracy": acc,
                               "long_frac": 0.25 if reward == "NTP" else 1.0, "n_long": 100,
                               "full": 1.0, "exact": exact, "right_by_wrong_chain": 1 - exact,
                               "y_frac": 0.5})
                positions += [{**tags, "q": q, "decoding": decoding, "k": k + 1, "error": e}
                              for k, e in enumerate(first)]
        for k in (1, 2, 3):
            if k == 1:
                true = first_true if reward == "end-to-end" else 0.0
                row = {"follows_own": 0.0, "follows_true": true, "stops": 1.0 - true}
            else:
                follows = 1.0 if reward == "NTP" else 0.5 if failed else own
                row = {"follows_own": follows, "follows_true": 1.0 - follows, "stops": 0.0}
            iv.append({**tags, "k": k, **row, "final_right": row["follows_true"]})
    return {"chains": pd.DataFrame(chains), "positions": pd.DataFrame(positions),
            "interventions": pd.DataFrame(iv)}


def result(**kw) -> fx.FaithfulnessResult:
    return fx.FaithfulnessResult(TINY, tables(**kw))


def numbers(**kw) -> dict:
    return result(**kw).numbers()


def test_a_policy_that_did_not_learn_parity_is_shown_but_not_summarised():
    r = result()
    assert r.learned() == ["grpo seed 0", "grpo seed 1", "grpo seed 0, cot reward"]
    n = r.numbers()
    assert n["n_learned"] == 3 and n["not_learned"] == "T=1.5, end_to_end reward"
    assert n["chain_e2e_min"] == 1.0  # the failed policy's inexact chain is not in the summary
    learned = r.exactness_table()["learned parity"]
    assert learned["T=1.5, end_to_end reward"] == "no" and learned["grpo seed 1"] == "yes"
    assert learned["NTP start"] == "start"


def test_exact_chains_under_both_rewards():
    n = numbers()
    assert n["chain_verdict"].startswith("Both rewards keep the sampled chain exact")
    assert n["chain_loose_text"].startswith("the chain first goes wrong at no position")


def test_a_loose_first_position_under_the_end_to_end_reward_is_found_and_named():
    n = numbers(e2e_first=(0.2, 0.0, 0.01, 0.0))
    assert n["chain_verdict"].startswith("The CoT reward keeps the sampled chain exact; the "
                                         "end-to-end reward leaves position 1 unconstrained")
    assert n["chain_loose_text"] == "at position 1 in 0.0% to 20.0% of the long answers (over the policies)"
    assert n["chain_first1_e2e_max"] == pytest.approx(0.2) and n["chain_first1_ntp"] == 0.0
    assert n["chain_e2e_min"] == pytest.approx(0.79) and n["chain_wrong_right"] == pytest.approx(0.21)


def test_a_position_the_ntp_start_already_gets_wrong_is_not_blamed_on_rl():
    n = numbers(e2e_first=(0.2, 0.0, 0.0, 0.0), ntp_first=(0.1, 0.0, 0.0, 0.0))
    assert "no position" in n["chain_loose_text"]


def test_an_inexact_cot_policy_is_reported_not_hidden():
    n = numbers(e2e_first=(0.2, 0.0, 0.0, 0.0), cot_first=(0.0, 0.1, 0.0, 0.0))
    assert n["chain_verdict"].startswith("The CoT reward does not keep every sampled chain exact")
    assert "0.900" in n["chain_verdict"] and "leaves position 1 unconstrained" in n["chain_verdict"]
    assert n["chain_cot_loose_text"].startswith("at position 2 in 10.0%")


def test_errors_spread_thin_are_inexact_without_a_loose_position():
    n = numbers(e2e_first=(0.02, 0.02, 0.02, 0.02))
    assert "at no single position in 5% of them" in n["chain_verdict"]


def test_the_intervention_verdict_separates_position_one_from_the_rest():
    n = numbers(first_true=0.6)
    assert n["iv_verdict"] == (
        "from position 2 on, the NTP start and every policy that learned parity continue from the "
        "forced token: each chain token is computed from the one before it, and the final answer "
        "follows the forced error; at position 1, 2 of 2 end-to-end policies go on with the true "
        "chain after a wrong first token, ignoring it, for at least 10% of the prompts, while the "
        "NTP start and the CoT-reward policies stop there: to them a wrong first token is a short "
        "answer")
    assert n["iv_k1_true_e2e_max"] == 0.6 and n["iv_k1_stop_ntp"] == 1.0
    low = numbers(own=0.5)["iv_verdict"]
    assert low.startswith("from position 2 on, not every policy continues from the forced token: "
                          "grpo seed 0 as rarely as 0.50")


def test_off_distribution_verdicts_count_the_robust_policies_and_compare_the_rewards():
    n = numbers()
    assert n["off_verdict"].startswith("3 of 3 policies that learned parity keep greedy accuracy")
    assert n["off_reward_verdict"].startswith("the two rewards keep about the same")
    n = numbers(off_accuracy=(0.6, 0.9))
    assert n["off_verdict"] == ("0 of 3 policies that learned parity keep greedy accuracy of at "
                                "least 0.95 at every bias; the lowest falls to 0.600")
    assert n["off_reward_verdict"] == "the CoT-reward policies keep more of their accuracy"
    assert n["off_e2e_mean"] == pytest.approx(0.6) and n["off_cot_mean"] == pytest.approx(0.9)


def test_a_build_where_no_policy_learned_parity_claims_nothing_about_them():
    t = tables()
    t["chains"].loc[t["chains"].reward != "NTP", "accuracy"] = 0.5  # no RL policy learned parity
    n = fx.FaithfulnessResult(TINY, t).numbers()
    assert n["n_learned"] == 0
    assert n["chain_verdict"] == ("The reward's role is not measured in this build: no policy "
                                  "learned parity under the end-to-end or the CoT reward.")
    assert n["off_verdict"] == ("no policy learned parity, so none is measured off the training "
                                "distribution")
    assert n["off_reward_verdict"].startswith("the rewards are not compared")
    assert n["iv_verdict"].endswith("at position 1 no end-to-end policy that learned parity is "
                                    "probed, while the NTP start stops there: to them a wrong "
                                    "first token is a short answer")


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


@pytest.mark.slow
def test_a_probe_is_computed_once_then_read_from_the_cache_by_its_full_config(monkeypatch):
    start = test_time.start_config(TINY)
    cfg = fx.probe_config(TINY, start)
    first = fx.probe_policy(cfg)
    assert set(first["chains"].q) == {0.5, *TINY.test_time.probe_biases}
    assert list(first["interventions"].k) == list(fx.probe.positions(start.task.d))
    assert len(first["positions"]) == 3 * start.task.d + start.task.d  # greedy per q, sampled at 0.5
    with monkeypatch.context() as m:
        m.setattr(fx, "_probe", lambda *a: pytest.fail("a cached probe was computed again"))
        again = fx.probe_policy(cfg)
    for name in first:
        pd.testing.assert_frame_equal(first[name], again[name])
    # another prompt count is another cache entry, and other numbers
    other = fx.probe_policy(dataclasses.replace(cfg, prompts=cfg.prompts // 2))
    assert not other["chains"].equals(first["chains"])
