"""The configs of one next-token-prediction run: task, model, training, evaluation.

Frozen dataclasses that validate themselves in ``__post_init__``; a run's cache key is a hash
of its complete config (:func:`config_key`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from .validate import check, check_float, check_int

CHAINS = ("running", "blocks")  # TaskConfig.chain


@dataclass(frozen=True)
class TaskConfig:
    """The parity mixture D(p_cot) of the paper (chapter 1 states it)."""

    d: int = 20  # number of input bits; the target is their parity
    p_cot: float = 0.1  # probability that a training sequence carries the long chain
    leap: int = 1  # chain granularity: 1 = full chain b_1..b_d; k = running parity every k bits
    # what the chain writes every `leap` bits: the running parity so far ("running": our reading
    # of the paper's leap-k chain), or the parity of those `leap` bits alone, then y ("blocks":
    # another reading of it)
    chain: str = "running"

    def __post_init__(self) -> None:
        check_int("d", self.d, 2, 512)
        check_float("p_cot", self.p_cot, 0.0, 1.0)
        check_int("leap", self.leap, 1, self.d)
        check(self.chain in CHAINS, "chain", self.chain, f"must be one of {list(CHAINS)}")
        check(self.chain == "running" or self.leap > 1, "chain", self.chain,
              "needs leap >= 2 (with leap = 1 its blocks are the input bits themselves)")

    @property
    def min_block_size(self) -> int:
        return 2 * self.d + 2  # prompt d bits + '=' + longest response + '<eos>'


@dataclass(frozen=True)
class MultiplicationConfig:
    """n-digit times n-digit multiplication with a short/long mixture (companion/multiplication.py)."""

    n: int = 3  # digits of each factor
    p_cot: float = 0.25  # probability that a training sequence carries the worked chain

    def __post_init__(self) -> None:
        check_int("n", self.n, 1, 9)  # products below 10**18 fit an int64
        check_float("p_cot", self.p_cot, 0.0, 1.0)

    @property
    def min_block_size(self) -> int:
        # prompt (a 'x' b '='), n lines of 2n digits each opened by ';', '<eos>'
        return 2 * self.n + 2 + 2 * self.n * self.n + self.n + 1


@dataclass(frozen=True)
class ModelConfig:
    """A GPT-style causal transformer (nanoGPT vocabulary)."""

    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    block_size: int = 64  # longest sequence (prompt + response) the positions cover
    dropout: float = 0.0  # online data never repeats, so no regularisation is needed
    # share the input embedding with the output layer (GPT-2); untied, the cpu model learned the
    # chain sooner (book/calibration.md)
    tie_weights: bool = True

    def __post_init__(self) -> None:
        check_int("n_layer", self.n_layer, 1, 128)
        check_int("n_head", self.n_head, 1, 128)
        check_int("n_embd", self.n_embd, 1, 16384)
        check_int("block_size", self.block_size, 2)
        check_float("dropout", self.dropout, 0.0, 1.0)
        check(isinstance(self.tie_weights, bool), "tie_weights", self.tie_weights, "must be True or False")
        check(self.n_embd % self.n_head == 0, "n_embd", self.n_embd,
              f"must be divisible by n_head={self.n_head}")


@dataclass(frozen=True)
class EvalConfig:
    """How a model is measured (greedy and temperature-1 decoding on fresh prompts)."""

    n_prompts: int = 1000  # fresh prompts per evaluation
    temperature: float = 1.0  # for the sampled metrics
    seed: int = 1234  # evaluation prompts are drawn from their own generator

    def __post_init__(self) -> None:
        check_int("n_prompts", self.n_prompts, 1)
        check_float("temperature", self.temperature, 0.0, 100.0, open_low=True)
        check_int("seed", self.seed, 0)


PRECISIONS = ("32-true", "bf16-mixed")  # Lightning's names; bf16 only when a profile asks for it
STRATEGIES = ("auto", "ddp")


@dataclass(frozen=True)
class PretrainConfig:
    """Next-token prediction on fresh samples of D(p_cot) (online: no data set)."""

    steps: int = 1500
    batch_size: int = 256
    lr: float = 1e-3
    warmup_steps: int = 50
    lr_floor: float = 0.1  # the cosine schedule decays the lr to lr * lr_floor (1.0 = constant)
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    seed: int = 0  # seeds the model initialisation and the data stream
    eval_every: int = 250  # evaluate (greedy + sampled) every this many steps, and at the end
    checkpoint_steps: tuple[int, ...] = ()  # also keep the weights at these steps (RL starts from them)
    # Scale-out (README, "Scaling out"). precision: "bf16-mixed" autocasts the training forward
    # pass to bfloat16 (a GPU's fast path; the paper profile); evaluation and the stored weights
    # stay float32. devices > 1 trains data-parallel through Lightning's DDP ``strategy``:
    # batch_size is the *global* batch, split evenly across the devices, so a run sees the same
    # samples and (up to float rounding) takes the same steps on 1 or N devices.
    precision: str = "32-true"
    devices: int = 1
    strategy: str = "auto"  # "auto" (one device) or "ddp" (one process per device, e.g. torchrun)

    def __post_init__(self) -> None:
        check_int("steps", self.steps, 1)
        check_int("batch_size", self.batch_size, 1)
        check(self.precision in PRECISIONS, "precision", self.precision,
              f"must be one of {list(PRECISIONS)}")
        check_int("devices", self.devices, 1, 1024)
        check(self.strategy in STRATEGIES, "strategy", self.strategy,
              f"must be one of {list(STRATEGIES)}")
        check(self.devices == 1 or self.strategy == "ddp", "strategy", self.strategy,
              f"must be 'ddp' when devices={self.devices} > 1")
        check(self.batch_size % self.devices == 0, "batch_size", self.batch_size,
              f"must be divisible by devices={self.devices} (it is the global batch, split evenly)")
        check_float("lr", self.lr, 0.0, 10.0, open_low=True)
        check_int("warmup_steps", self.warmup_steps, 0)
        check_float("lr_floor", self.lr_floor, 0.0, 1.0)
        check_float("weight_decay", self.weight_decay, 0.0, 10.0)
        check_float("grad_clip", self.grad_clip, 0.0, 1e6)
        check_int("seed", self.seed, 0)
        check_int("eval_every", self.eval_every, 1)
        check(isinstance(self.checkpoint_steps, tuple), "checkpoint_steps", self.checkpoint_steps,
              "must be a tuple of step numbers")
        for s in self.checkpoint_steps:
            check_int("checkpoint_steps[i]", s, 1, self.steps)


@dataclass(frozen=True)
class NTPRunConfig:
    """Everything that determines one next-token-prediction run (and its cache key)."""

    task: TaskConfig | MultiplicationConfig = field(default_factory=TaskConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: PretrainConfig = field(default_factory=PretrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def __post_init__(self) -> None:
        need = self.task.min_block_size
        what = (f"2*d+2 = {need} to hold prompt and long response for d={self.task.d}"
                if isinstance(self.task, TaskConfig) else
                f"2n^2+3n+3 = {need} to hold prompt and long response for n={self.task.n}")
        check(self.model.block_size >= need, "block_size", self.model.block_size, f"must be >= {what}")


def to_dict(cfg: Any) -> dict:
    return dataclasses.asdict(cfg)


def config_key(cfg: Any, *extra: str) -> str:
    """A short stable hash of the *complete* config (plus e.g. the package version)."""
    blob = json.dumps({"type": type(cfg).__name__, "cfg": to_dict(cfg), "extra": extra},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]




@dataclass(frozen=True)
class ContinueNTPConfig:
    """More next-token prediction from a checkpoint of a finished run (its cache key)."""

    start: NTPRunConfig
    start_step: int  # which checkpoint of ``start`` (its final step for the final model)
    steps: int  # further NTP steps on fresh samples of D(p_cot)

    def __post_init__(self) -> None:
        check_int("steps", self.steps, 1)
        known = (*self.start.train.checkpoint_steps, self.start.train.steps)
        check(self.start_step in known, "step", self.start_step,
              f"must be one of the start run's checkpoints {list(known)}")

    @property
    def run(self) -> NTPRunConfig:
        """The continuation as a run of its own: the start's recipe for ``steps`` steps, a fresh
        warm-up/cosine schedule, one device, no intermediate checkpoints."""
        t = self.start.train
        train = dataclasses.replace(t, steps=self.steps, checkpoint_steps=(), devices=1,
                                    strategy="auto", eval_every=max(1, min(t.eval_every, self.steps)))
        return dataclasses.replace(self.start, train=train)


@dataclass(frozen=True)
class SweepConfig:
    """NTP-only runs across p_cot (chapter 2): one base run, p_cot and seed varied."""

    base: NTPRunConfig
    p_cots: tuple[float, ...]
    seeds: tuple[int, ...] = (0,)
    # more seeds at the two points nearest the threshold 1/3 (one on each side), where a finite
    # run can land on either side of it
    near_seeds: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for p in self.p_cots:
            check_float("p_cots[i]", p, 0.0, 1.0)
        for name in ("seeds", "near_seeds"):
            for s in getattr(self, name):
                check_int(f"{name}[i]", s, 0)

    def near(self) -> tuple[float, ...]:
        """The sweep points nearest 1/3: the largest below it and the smallest above it."""
        below = [p for p in self.p_cots if p < 1 / 3]
        above = [p for p in self.p_cots if p > 1 / 3]
        return tuple(([max(below)] if below else []) + ([min(above)] if above else []))

    def seeds_at(self, p: float) -> tuple[int, ...]:
        extra = self.near_seeds if p in self.near() else ()
        return tuple(dict.fromkeys((*self.seeds, *extra)))

    def runs(self) -> list[NTPRunConfig]:
        return [with_(self.base, p_cot=p, seed=s) for p in self.p_cots for s in self.seeds_at(p)]


def with_(cfg: NTPRunConfig, *, d: int | None = None, p_cot: float | None = None,
          seed: int | None = None, steps: int | None = None, leap: int | None = None,
          chain: str | None = None) -> NTPRunConfig:
    """A copy of ``cfg`` with task/training fields replaced (block_size follows d)."""
    task = dataclasses.replace(cfg.task, **{k: v for k, v in
                                            {"d": d, "p_cot": p_cot, "leap": leap,
                                             "chain": chain}.items()
                                            if v is not None})
    model = cfg.model
    if d is not None:
        model = dataclasses.replace(model, block_size=max(model.block_size, 2 * task.d + 2))
    changes = {k: v for k, v in {"seed": seed, "steps": steps}.items() if v is not None}
    if steps is not None:  # keep only the checkpoints that still fall inside the run
        changes["checkpoint_steps"] = tuple(s for s in cfg.train.checkpoint_steps if s < steps)
    train = dataclasses.replace(cfg.train, **changes)
    return NTPRunConfig(task=task, model=model, train=train, eval=cfg.eval)
