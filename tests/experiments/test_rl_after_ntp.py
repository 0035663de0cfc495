"""companion/experiments/rl_after_ntp.py: GRPO from each NTP seed, and what the chapter says of it."""

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from companion.experiments import rl_after_ntp
from companion.profiles import get_profile
from companion.train import RLResult, rl_run

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
