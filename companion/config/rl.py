"""The config of an RL run: the algorithm and its knobs, and the start it is trained from."""

from __future__ import annotations

from dataclasses import dataclass

from .core import NTPRunConfig
from .validate import check, check_float, check_int

RL_ALGORITHMS = ("grpo", "reinforce", "star")
RL_REWARDS = ("end_to_end", "cot")


@dataclass(frozen=True)
class RLConfig:
    """RL post-training of a policy: GRPO, REINFORCE or STaR (companion/objective.py).

    One step samples ``G`` responses for each of ``prompts_per_step`` fresh prompts,
    scores them, and takes one optimizer step on the objective of ``algorithm``.
    """

    algorithm: str = "grpo"  # "grpo" (group-normalised), "reinforce" (batch-mean baseline), "star"
    G: int = 8  # group size in the paper: responses sampled per prompt
    prompts_per_step: int = 32
    temperature: float = 1.0  # rollout sampling temperature (greedy rollouts never go long below 1/3)
    lr: float = 2e-4  # a higher lr (1e-3) collapsed to short answers (book/calibration.md)
    warmup_steps: int = 0
    steps: int = 60
    kl_coef: float = 0.0  # beta: weight of the k3 KL to the starting model (0 = no reference pass)
    reward: str = "end_to_end"  # "end_to_end": last token = parity; "cot": the chain must be right too
    length_penalty: float = 0.0  # a full-length chain costs this much reward (linear in length)
    round_steps: int = 1  # STaR only: the sampler is refreshed every this many updates (1 = online)
    grad_clip: float = 1.0
    eval_every: int = 5  # greedy + sampled evaluation every this many steps (it dominates tiny models)
    seed: int = 0  # seeds the prompt stream and the rollout sampler

    def __post_init__(self) -> None:
        check(self.algorithm in RL_ALGORITHMS, "algorithm", self.algorithm,
              f"must be one of {list(RL_ALGORITHMS)}")
        check(self.reward in RL_REWARDS, "reward", self.reward, f"must be one of {list(RL_REWARDS)}")
        check_int("G", self.G, 1)
        check(self.algorithm != "grpo" or self.G >= 2, "G", self.G,
              "must be >= 2 for grpo (advantages are normalised within a group)")
        check_int("prompts_per_step", self.prompts_per_step, 1)
        check_float("temperature", self.temperature, 0.0, 100.0, open_low=True)
        check_float("lr", self.lr, 0.0, 10.0, open_low=True)
        check_int("warmup_steps", self.warmup_steps, 0)
        check_int("steps", self.steps, 1)
        check_float("kl_coef", self.kl_coef, 0.0, 1e3)
        # below 1 a correct answer always earns more than a wrong one (STaR keeps reward > 0)
        check_float("length_penalty", self.length_penalty, 0.0, 0.999)
        check_int("round_steps", self.round_steps, 1)
        check(self.algorithm == "star" or self.round_steps == 1, "round_steps", self.round_steps,
              "must be 1 unless algorithm='star' (policy gradients need on-policy samples)")
        check_float("grad_clip", self.grad_clip, 0.0, 1e6)
        check_int("eval_every", self.eval_every, 1)
        check_int("seed", self.seed, 0)


@dataclass(frozen=True)
class RLRunConfig:
    """Everything that determines one RL run from an NTP model (and its cache key)."""

    rl: RLConfig
    start: NTPRunConfig  # the NTP run RL starts from
    start_step: int  # which of its checkpoints (its final step for the final model)

    def __post_init__(self) -> None:
        known = (*self.start.train.checkpoint_steps, self.start.train.steps)
        check(self.start_step in known, "step", self.start_step,
              f"must be one of the start run's checkpoints {list(known)}")
