"""A profile: the size of every claim's experiment, one typed block per claim.

Each block names the knobs of one experiment module (``companion/experiments/``) with explicit
values; ``Profile`` checks that the blocks fit together (e.g. RL starts from checkpoints the NTP
run keeps) before any compute.
"""

from __future__ import annotations

from dataclasses import dataclass

from .core import MultiplicationConfig, NTPRunConfig, SweepConfig, with_
from .linear import LinearConfig
from .llm import LLMConfig, LLMDataConfig
from .rl import RLConfig
from .validate import check, check_float, check_int, check_tuple


@dataclass(frozen=True)
class NTPThreshold:
    """Chapter 2 (experiments/ntp_threshold.py): next-token prediction alone across p_cot."""

    sweep: SweepConfig  # the p_cot sweep (its d may be smaller than the headline's)
    long_run_p_cots: tuple[float, ...]  # runs at the headline d, evaluated along training
    long_run_steps: int  # ... for this many steps (the headline's: the run is shared with RL)

    def __post_init__(self) -> None:
        check_tuple("long_run_p_cots", self.long_run_p_cots)
        for p in self.long_run_p_cots:
            check_float("long_run_p_cots[i]", p, 0.0, 1.0)
        check_int("long_run_steps", self.long_run_steps, 1)

    def long_runs(self, headline: NTPRunConfig) -> list[NTPRunConfig]:
        return [with_(headline, p_cot=p, steps=self.long_run_steps) for p in self.long_run_p_cots]


@dataclass(frozen=True)
class RLAfterNTP:
    """Chapter 3 (experiments/rl_after_ntp.py): RL from the headline NTP run and its failure cases."""

    rl: RLConfig  # the headline RL run (GRPO); the variants replace fields of it
    seeds: tuple[int, ...]  # GRPO seeds, all from one NTP start
    other_seeds: tuple[int, ...]  # REINFORCE and STaR seeds
    ntp_seeds: tuple[int, ...]  # NTP seeds of the start (the headline's first); GRPO from each
    start_steps: int  # NTP steps of the run RL starts from
    early_steps: tuple[int, ...]  # earlier checkpoints of that run to start from (too early)
    baseline_factor: int  # matched compute: NTP gets this many sequences per RL response
    rare_p_cot: float  # the paper's rarest long data
    rare_steps: int  # NTP steps of the rare-data start run
    hot_temperature: float  # STaR's failure case: a high rollout temperature

    def __post_init__(self) -> None:
        for name in ("seeds", "other_seeds", "ntp_seeds"):
            check_tuple(name, getattr(self, name))
            for s in getattr(self, name):
                check_int(f"{name}[i]", s, 0)
        check(len(set(self.ntp_seeds)) == len(self.ntp_seeds), "ntp_seeds", self.ntp_seeds,
              "must not repeat a seed")
        check_int("start_steps", self.start_steps, 1)
        check_tuple("early_steps", self.early_steps, nonempty=False)
        for k in self.early_steps:
            check_int("early_steps[i]", k, 1, self.start_steps - 1)
        check_int("baseline_factor", self.baseline_factor, 1)
        check_float("rare_p_cot", self.rare_p_cot, 0.0, 1.0, open_low=True)
        check_int("rare_steps", self.rare_steps, 1)
        check_float("hot_temperature", self.hot_temperature, 0.0, 100.0, open_low=True)


@dataclass(frozen=True)
class TestTime:
    """Chapter 4 (experiments/test_time.py): length during RL, STaR rounds, leap 2, a length
    penalty; and (experiments/faithfulness.py) which chain RL learns."""

    __test__ = False  # not a pytest test class, despite its name

    star_rounds: RLConfig  # STaR in rounds: the sampler frozen for ``round_steps`` updates
    length_penalties: tuple[float, ...]  # GRPO with each of these (and without)
    leap_d: int  # the leap-2 NTP run's d ...
    leap_steps: int  # ... and its steps
    probe_prompts: int  # prompts per chain probe (each policy, decoding, position and bias)
    probe_biases: tuple[float, ...]  # off-distribution prompts: each bit 1 with these probabilities

    def __post_init__(self) -> None:
        check(self.star_rounds.algorithm == "star" and self.star_rounds.round_steps > 1,
              "star_rounds", self.star_rounds, "must be a STaR config with round_steps > 1")
        check_tuple("length_penalties", self.length_penalties)
        for lp in self.length_penalties:
            check_float("length_penalties[i]", lp, 0.0, 0.999, open_low=True)
        check_int("leap_d", self.leap_d, 2, 512)
        check_int("leap_steps", self.leap_steps, 1)
        check_int("probe_prompts", self.probe_prompts, 1)
        check_tuple("probe_biases", self.probe_biases)
        for q in self.probe_biases:
            check_float("probe_biases[i]", q, 0.0, 1.0, open_low=True, open_high=True)


@dataclass(frozen=True)
class DigitMultiplication:
    """The multiplication page (experiments/multiplication.py): next-token prediction on n-digit
    multiplication with rare worked chains, then GRPO from it."""

    start: NTPRunConfig  # the NTP run at the page's n (its task a MultiplicationConfig)
    rl: RLConfig  # GRPO from each NTP seed's run (its seed: the NTP seed's)
    seeds: tuple[int, ...]  # NTP seeds, each with GRPO from it
    baseline_factor: int  # matched compute: NTP gets this many sequences per RL response
    sweep_n: tuple[int, ...]  # more digit counts, NTP and GRPO from the first seed: the boundary
    # whether `make book` trains these runs; False: `make multiplication` does (they take longer
    # than the book's budget) and the page reads them from the cache, or says they are missing
    book_trains: bool = False

    def __post_init__(self) -> None:
        check(isinstance(self.start.task, MultiplicationConfig), "start.task", self.start.task,
              "must be a MultiplicationConfig")
        check(self.rl.algorithm == "grpo", "rl.algorithm", self.rl.algorithm, "must be 'grpo'")
        check_tuple("seeds", self.seeds)
        for s in self.seeds:
            check_int("seeds[i]", s, 0)
        check(len(set(self.seeds)) == len(self.seeds), "seeds", self.seeds, "must not repeat a seed")
        check_int("baseline_factor", self.baseline_factor, 1)
        check_tuple("sweep_n", self.sweep_n, nonempty=False)
        for n in self.sweep_n:
            check_int("sweep_n[i]", n, 1, 9)
        check(self.start.task.n not in self.sweep_n, "sweep_n", self.sweep_n,
              f"must not repeat the page's n={self.start.task.n}")


@dataclass(frozen=True)
class PaperLlama:
    """Tier (c) of chapter 6: the paper's recipe on a local Llama checkpoint and local GSM8K/MATH
    files. Both exist only on the reader's machine, so they are given when the chapter runs
    (``COMPANION_LLAMA_DIR``, ``COMPANION_LLM_DATA``) and :meth:`config` builds the run's config."""

    p_cot: float
    n_eval: int
    sft_steps: int
    sft_batch_size: int
    sft_lr: float
    sft_warmup_steps: int
    sft_eval_every: int
    rl: RLConfig
    max_new_tokens: int
    eval_batch_size: int
    precision: str

    def __post_init__(self) -> None:  # validated by building a config on placeholder inputs
        self.config("a local checkpoint directory", ("GSM8K/MATH JSON-lines files",))

    def config(self, model_dir: str, files: tuple[str, ...]) -> LLMConfig:
        return LLMConfig(model=model_dir, data=LLMDataConfig(source="files", files=tuple(files),
                                                             p_cot=self.p_cot, n_eval=self.n_eval),
                         sft_steps=self.sft_steps, sft_batch_size=self.sft_batch_size,
                         sft_lr=self.sft_lr, sft_warmup_steps=self.sft_warmup_steps,
                         sft_eval_every=self.sft_eval_every, rl=self.rl,
                         max_new_tokens=self.max_new_tokens, eval_batch_size=self.eval_batch_size,
                         precision=self.precision)


@dataclass(frozen=True)
class Llama:
    """Chapter 6 (experiments/llama.py): SFT on short/long word-problem mixtures, then RL."""

    worded: LLMConfig  # (a) a small Llama from scratch on worded parity
    pretrained: LLMConfig  # (b) SmolLM2-135M (shipped with a package) on running totals
    gsm: LLMConfig  # SmolLM2-135M asked GSM-Symbolic problems, untouched: a measured row only
    paper: PaperLlama | None  # (c) a local Llama checkpoint on GSM8K/MATH (a GPU), or not run
    pretrained_seeds: tuple[int, ...] = (0,)  # tier (b): LoRA init, SFT stream and RL sampling
    # False: tier (b) takes longer than the book's budget; `make pretrained` trains it into the
    # cache and `make book` only reads it (the chapter says what to run when it is missing)
    pretrained_in_book: bool = True
    # the paper tier's no-download variant: SmolLM2 fully fine-tuned on a GPU for thousands of
    # steps on tier (b)'s problems (accelerator="gpu": refused without one), or not run
    gpu_smollm2: LLMConfig | None = None

    def __post_init__(self) -> None:
        check(self.worded.model == "tiny" and self.worded.data.source == "worded-parity", "worded",
              self.worded.model, "must be the 'tiny' model on 'worded-parity' data")
        for name, c in (("pretrained", self.pretrained), ("gsm", self.gsm),
                        ("gpu_smollm2", self.gpu_smollm2 or self.pretrained)):
            check(c.model == "smollm2", name, c.model,
                  "must be 'smollm2' (the pretrained model a package ships)")
        check(self.gsm.data.source == "gsm-symbolic", "gsm", self.gsm.data.source,
              "must be 'gsm-symbolic' data")
        check(isinstance(self.pretrained_seeds, tuple) and len(self.pretrained_seeds) > 0
              and len(set(self.pretrained_seeds)) == len(self.pretrained_seeds)
              and all(isinstance(x, int) and x >= 0 for x in self.pretrained_seeds),
              "pretrained_seeds", self.pretrained_seeds, "must be distinct integers >= 0")
        check(isinstance(self.pretrained_in_book, bool), "pretrained_in_book",
              self.pretrained_in_book, "must be True or False")


@dataclass(frozen=True)
class Profile:
    """Named sizes for every claim: ``tiny`` (CI), ``cpu`` (a laptop), ``paper`` (a GPU)."""

    name: str
    description: str
    needs_gpu: bool
    workers: int  # independent runs trained at once, one process and torch thread each
    headline: NTPRunConfig  # the NTP run that RL starts from (chapters 2-4)
    ntp_threshold: NTPThreshold
    rl_after_ntp: RLAfterNTP
    test_time: TestTime
    linear: LinearConfig  # chapter 5: the autoregressive linear model
    llama: Llama
    multiplication: DigitMultiplication  # the multiplication page

    def __post_init__(self) -> None:
        check_int("workers", self.workers, 1, 64)
        r = self.rl_after_ntp
        start = with_(self.headline, steps=r.start_steps)
        check(r.ntp_seeds[0] == self.headline.train.seed, "rl_after_ntp.ntp_seeds", r.ntp_seeds,
              f"must start with the headline run's seed {self.headline.train.seed}: the "
              "chapter's other results start from that run")
        for k in r.early_steps:
            check(k in start.train.checkpoint_steps, "rl_after_ntp.early_steps", r.early_steps,
                  f"must be checkpoints the start run keeps {list(start.train.checkpoint_steps)}")
