"""Named presets: the one place where sizes, step counts and seeds are written.

* ``tiny``  - CI: every chapter in seconds; the numbers only show the plumbing works.
* ``cpu``   - the default: a 2-core laptop CPU, minutes per chapter; reproduces the phenomena.
* ``paper`` - the paper's scale (d=50, depth 4, width 256, ~10^7 samples): needs a GPU.

Chapters receive a profile *name* from papermill and call :func:`get_profile`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .config import (EvalConfig, LinearConfig, LLMConfig, LLMDataConfig, ModelConfig, NTPRunConfig,
                     PretrainConfig, RLConfig, TaskConfig, check)


@dataclass(frozen=True)
class SweepConfig:
    """NTP-only runs across p_cot (chapter 2): one base run, p_cot and seed varied."""

    base: NTPRunConfig
    p_cots: tuple[float, ...]
    seeds: tuple[int, ...] = (0,)

    def runs(self) -> list[NTPRunConfig]:
        return [with_(self.base, p_cot=p, seed=s) for p in self.p_cots for s in self.seeds]


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    needs_gpu: bool
    headline: NTPRunConfig  # the NTP run that RL starts from (chapters 2-4)
    sweep: SweepConfig  # chapter 2's p_cot sweep (may use a smaller d than the headline)
    long_run_p_cots: tuple[float, ...] = ()  # chapter 2: NTP at the headline d for p_cot < 1/3
    long_run_steps: int = 0  # ... for this many steps (= headline steps: the runs are shared, cached)

    def long_runs(self) -> list[NTPRunConfig]:
        return [with_(self.headline, p_cot=p, steps=self.long_run_steps) for p in self.long_run_p_cots]
    extra: dict = field(default_factory=dict)  # free-form notes shown in the book
    # independent runs trained at once (companion/plan.py), one process and torch thread each:
    # on 2 cores two small-model runs take about the time of one
    workers: int = 1
    # chapters 3-4: RL after next-token prediction (companion/rl.py)
    rl: RLConfig = field(default_factory=RLConfig)  # the headline RL run (GRPO); variants replace fields
    rl_seeds: tuple[int, ...] = field(default_factory=lambda: (0,))  # GRPO seeds, all from one NTP start
    rl_other_seeds: tuple[int, ...] = field(default_factory=lambda: (0,))  # REINFORCE and STaR seeds
    rl_start_steps: int = 0  # NTP steps of the run RL starts from (0 = the headline run itself)
    rl_early_steps: tuple[int, ...] = field(default_factory=tuple)  # earlier checkpoints to start from
    rl_baseline_factor: int = 2  # matched compute: NTP gets this many sequences per RL response
    rl_rare_p_cot: float = 0.01  # the paper's rarest long data
    rl_rare_steps: int = 0  # NTP steps of the rare-data start run (0 = rl_start_steps)
    rl_hot_temperature: float = 1.5  # STaR's failure case: a high rollout temperature
    # chapter 4: STaR in rounds (sampler frozen for round_steps updates), vs p -> 2p/(1+p)
    rl_star_rounds: RLConfig = field(default_factory=lambda: RLConfig(
        algorithm="star", round_steps=20, steps=100, eval_every=20, lr=3e-4, warmup_steps=5))
    rl_length_penalties: tuple[float, ...] = field(default_factory=lambda: (0.3, 0.7))
    rl_leap_steps: int = 0  # chapter 4: NTP steps of the leap-2 run (0 = the headline's)
    rl_leap_d: int = 0  # ... and its d (0 = the headline's)
    linear: LinearConfig = field(default_factory=LinearConfig)  # chapter 5: the linear model
    # chapter 6 (companion/llm.py): (a) a small Llama trained from scratch on worded parity;
    # (b) a pretrained Llama-family model on GSM-style problems (set in _LLM below)
    llm_worded: LLMConfig = field(default_factory=LLMConfig)
    llm_pretrained: LLMConfig = field(default_factory=lambda: LLMConfig(model="smollm2"))


def with_(cfg: NTPRunConfig, *, d: int | None = None, p_cot: float | None = None,
          seed: int | None = None, steps: int | None = None, leap: int | None = None) -> NTPRunConfig:
    """A copy of ``cfg`` with task/training fields replaced (block_size follows d)."""
    task = dataclasses.replace(cfg.task, **{k: v for k, v in
                                            {"d": d, "p_cot": p_cot, "leap": leap}.items()
                                            if v is not None})
    model = cfg.model
    if d is not None:
        model = dataclasses.replace(model, block_size=max(model.block_size, 2 * task.d + 2))
    changes = {k: v for k, v in {"seed": seed, "steps": steps}.items() if v is not None}
    if steps is not None:  # keep only the checkpoints that still fall inside the run
        changes["checkpoint_steps"] = tuple(s for s in cfg.train.checkpoint_steps if s < steps)
    train = dataclasses.replace(cfg.train, **changes)
    return NTPRunConfig(task=task, model=model, train=train, eval=cfg.eval)


# ---------------------------------------------------------------------------------------------
# cpu: measured on a 2-core machine (see README for the times)
_CPU_HEADLINE = NTPRunConfig(
    task=TaskConfig(d=50, p_cot=0.25),  # the paper's own headline setting
    # untied embeddings: with the GPT-2 tying the chain was learned about twice as late (ModelConfig)
    # and d=50 was out of reach in a CPU budget (tied, seed 0: sampled long answers 50% right at
    # step 1000; untied, the same run: 98% from step 625)
    model=ModelConfig(n_layer=2, n_head=4, n_embd=64, block_size=102, tie_weights=False),
    # measured, seeds 0, 1, 2: sampled long answers >= 90% right from step 625, 625, 500 (step 250:
    # ~50%, chance) and 99% at step 1000, where greedy is 0.494-0.499 with 1-token answers (while the
    # chain appears greedy briefly touches 0.59-0.62); ~4.7 min each. At p_cot=0.1 the same recipe
    # learned the chain by step 750 in 3 of 3 seeds, but with margin (2000 steps) it took ~8 min
    # and GRPO then needed 20-60 RL steps
    train=PretrainConfig(steps=1000, batch_size=256, lr=1e-3, warmup_steps=50, eval_every=125,
                         checkpoint_steps=(250,)),
    eval=EvalConfig(n_prompts=1000),
)
# measured (seed 0): sampled long answers >= 90% right from step 375 at p_cot >= 0.2, from step
# 750 at 0.1, not within 1000 steps at 0.05; at 0.3 greedy touched 0.74 at step 500, then chance
_CPU_SWEEP_BASE = with_(_CPU_HEADLINE, d=16, steps=1000)

# tiny: the cpu profile shrunk (d >= 12: at d=8 NTP alone memorises all 256 inputs)
_TINY_HEADLINE = NTPRunConfig(
    task=TaskConfig(d=12, p_cot=0.1),
    model=ModelConfig(n_layer=1, n_head=2, n_embd=32, block_size=26),
    train=PretrainConfig(steps=30, batch_size=64, lr=1e-3, warmup_steps=5, eval_every=10,
                         checkpoint_steps=(10, 20)),
    eval=EvalConfig(n_prompts=200),
)

# paper: d=50, p_cot=0.25, depth 4, width 256, ~10^7 samples (40k steps x 256)
_PAPER_HEADLINE = NTPRunConfig(
    task=TaskConfig(d=50, p_cot=0.25),
    model=ModelConfig(n_layer=4, n_head=8, n_embd=256, block_size=102),
    # bf16 autocast of the training forward pass: the GPU's fast path (weights, optimizer and
    # evaluation stay float32). Several GPUs: devices=N, strategy="ddp" (README, Performance)
    train=PretrainConfig(steps=40_000, batch_size=256, lr=3e-4, warmup_steps=500, eval_every=2000,
                         checkpoint_steps=(5_000, 10_000, 20_000), precision="bf16-mixed"),
    eval=EvalConfig(n_prompts=2000),
)

PROFILES: dict[str, Profile] = {
    "tiny": Profile(
        name="tiny", needs_gpu=False,
        description="CI smoke scale: seconds per chapter; the numbers only show the plumbing works",
        headline=_TINY_HEADLINE,
        sweep=SweepConfig(base=_TINY_HEADLINE, p_cots=(0.1, 0.5)),
        long_run_p_cots=(0.1, 0.25), long_run_steps=30,
        rl=RLConfig(G=4, prompts_per_step=8, steps=4, eval_every=2), rl_seeds=(0, 1, 2),
        rl_early_steps=(10,),
        rl_star_rounds=RLConfig(algorithm="star", G=4, prompts_per_step=8, round_steps=2, steps=4,
                                eval_every=2),
        linear=LinearConfig(d=8, max_iter=20, n_eval=300, seeds=(0,), threshold_n=2000,
                            threshold_p_cots=(0.2, 0.5), star_p_cots=(0.25, 0.1), star_long=200,
                            star_n_max=2000, star_rounds=4, sample_ds=(6, 8), sample_n0=100,
                            sample_rounds=4, table_ds=(6, 8)),
    ),
    "cpu": Profile(
        name="cpu", needs_gpu=False,
        description="a 2-core laptop CPU: minutes per chapter; reproduces the paper's phenomena",
        headline=_CPU_HEADLINE,
        sweep=SweepConfig(base=_CPU_SWEEP_BASE, p_cots=(0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5)),
        workers=2,
        # p=0.25 is the headline run itself. A second run at p=0.1 did not learn the chain in 1000
        # steps (it needs ~2000) and cost one core ~6 min: the sweep shows p_cot < 1/3 at d=16
        long_run_p_cots=(0.25,), long_run_steps=1000,
        # PAPER.md section 5: 32 prompts x G=8, lr ~2e-4 with cosine decay, no KL
        # (at d=20: 5e-4 destroyed the chain; 3e-4 left it ~9% wrong; 2e-4 reached >= 0.97 in 3/3
        # seeds). At d=50, p_cot=0.25 GRPO was >= 0.997 greedy at length 50 after 10 steps from each
        # of NTP seeds 0, 1, 2, and ended at 0.983-1.000 after 40 steps (~45 s each)
        rl=RLConfig(G=8, prompts_per_step=32, lr=2e-4, steps=40, eval_every=10), rl_seeds=(0, 1, 2),
        # step 250: sampled long answers ~50% right (chance), RL has nothing to amplify
        rl_start_steps=0, rl_early_steps=(250,), rl_rare_steps=250, rl_leap_steps=0, rl_leap_d=16,
        # one round = 20 updates on 5,120 samples of the frozen sampler, schedule restarted
        rl_star_rounds=RLConfig(algorithm="star", round_steps=20, steps=100, eval_every=20,
                                lr=3e-4, warmup_steps=5),
        # chapter 5: ~2 min on 2 busy cores; d=16, p_cot down to d^-2 and 2^-d
        linear=LinearConfig(d=16, max_iter=50, n_eval=2000, seeds=(0,), threshold_n=20000,
                            threshold_p_cots=(0.2, 0.25, 0.3, 0.32, 0.34, 0.36, 0.4, 0.5),
                            star_p_cots=(0.25, 0.1, 16 ** -1, 16 ** -1.5, 16 ** -2, 2.0 ** -16),
                            star_long=1000, star_n_max=40000, star_rounds=16,
                            sample_ds=(8, 16, 32, 64), sample_n0=200, sample_rounds=6,
                            table_ds=(8, 10, 12, 14, 16)),
    ),
    "paper": Profile(
        name="paper", needs_gpu=True,
        description="the paper's scale (d=50, depth 4, width 256, ~10^7 samples): a GPU",
        headline=_PAPER_HEADLINE,
        sweep=SweepConfig(base=_PAPER_HEADLINE, p_cots=(0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5),
                          seeds=(0, 1, 2)),
        long_run_p_cots=(0.25,), long_run_steps=80_000,
        rl=RLConfig(G=8, prompts_per_step=64, lr=1e-4, steps=300, eval_every=10), rl_seeds=(0, 1, 2),
        rl_early_steps=(5_000, 10_000), rl_other_seeds=(0, 1, 2),
        rl_star_rounds=RLConfig(algorithm="star", prompts_per_step=64, round_steps=100, steps=600,
                                eval_every=100, lr=1e-4, warmup_steps=10),
        linear=LinearConfig(d=32, max_iter=100, n_eval=10000, seeds=(0, 1, 2), threshold_n=100_000,
                            threshold_p_cots=(0.2, 0.25, 0.28, 0.3, 0.31, 0.32, 0.33, 0.34, 0.35,
                                              0.36, 0.38, 0.4, 0.5),
                            star_p_cots=(0.25, 0.1, 32 ** -1, 32 ** -1.5, 32 ** -2, 2.0 ** -32),
                            star_long=4000, star_n_max=400_000, star_rounds=16,
                            sample_ds=(8, 16, 32, 64, 128), sample_n0=200, sample_rounds=8,
                            table_ds=(8, 10, 12, 14, 16, 18, 20)),
    ),
}

# chapter 6, per profile: (worded parity from scratch, pretrained model on GSM-style problems).
# cpu: measured on 2 cores (see the chapter); smollm2 steps are ~10-50 s each here, so its SFT and
# RL are a few steps of LoRA: enough to show what moves, not to train the model.
_LLM = {
    "tiny": (
        LLMConfig(hidden_size=32, n_layer=1, n_head=2, data=LLMDataConfig(d=6, n_eval=32),
                  sft_steps=20, sft_batch_size=16, sft_eval_every=10, sft_warmup_steps=2,
                  rl=RLConfig(G=4, prompts_per_step=4, steps=4, eval_every=2), max_new_tokens=10),
        LLMConfig(model="smollm2", lora_r=4,
                  data=LLMDataConfig(source="gsm-symbolic", per_template=1, eval_templates=3,
                                     train_templates=4, n_eval=2, p_cot=0.5),
                  sft_steps=1, sft_batch_size=2, sft_lr=1e-4, sft_warmup_steps=0, sft_eval_every=1,
                  rl=RLConfig(G=2, prompts_per_step=1, lr=1e-5, steps=1, eval_every=1),
                  max_new_tokens=12, eval_batch_size=2, eval_sampled=False),
    ),
    "cpu": (
        LLMConfig(data=LLMDataConfig(d=16, p_cot=0.2, n_eval=256), sft_steps=1500,
                  sft_batch_size=64, sft_eval_every=250,
                  # measured: greedy 0.49 at length 2 after SFT; GRPO reached 1.000 at length 18
                  # by step 10 (170 s in all on 2 busy cores)
                  rl=RLConfig(G=8, prompts_per_step=16, lr=2e-4, steps=40, eval_every=5),
                  max_new_tokens=20, eval_batch_size=128),
        LLMConfig(model="smollm2", lora_r=8,
                  data=LLMDataConfig(source="gsm-symbolic", per_template=4, eval_templates=20,
                                     train_templates=30, n_eval=16, p_cot=0.25),
                  sft_steps=8, sft_batch_size=4, sft_lr=1e-3, sft_warmup_steps=1, sft_eval_every=8,
                  # measured: SFT took greedy responses from 96 to 45.5 tokens on average (3 of
                  # 16 short); accuracy 0 of 16 before and after, so RL has no reward to learn
                  # from: 2 steps
                  rl=RLConfig(G=4, prompts_per_step=2, lr=2e-5, steps=2, eval_every=2),
                  max_new_tokens=96, eval_batch_size=16, eval_sampled=False),
    ),
    "paper": (
        LLMConfig(hidden_size=256, n_layer=4, n_head=8, data=LLMDataConfig(d=32, p_cot=0.1, n_eval=1000),
                  sft_steps=20_000, sft_batch_size=256, sft_lr=3e-4, sft_warmup_steps=500,
                  sft_eval_every=2000, rl=RLConfig(G=8, prompts_per_step=64, lr=1e-4, steps=300,
                                                   eval_every=20),
                  max_new_tokens=40, eval_batch_size=500, precision="bf16-mixed"),
        # the model directory and the GSM8K/MATH files are given when the chapter runs
        # (llm.paper_config): Llama-3.2-3B, full fine-tuning, bf16 autocast, on a GPU
        LLMConfig(model="<COMPANION_LLAMA_DIR>",
                  data=LLMDataConfig(source="files", files=("<COMPANION_LLM_DATA>",), p_cot=0.1,
                                     n_eval=500),
                  sft_steps=2000, sft_batch_size=32, sft_lr=1e-5, sft_warmup_steps=100,
                  sft_eval_every=500, rl=RLConfig(G=8, prompts_per_step=32, lr=1e-6, steps=200,
                                                  eval_every=25),
                  max_new_tokens=512, eval_batch_size=64, precision="bf16-mixed"),
    ),
}
PROFILES = {name: dataclasses.replace(p, llm_worded=_LLM[name][0], llm_pretrained=_LLM[name][1])
            for name, p in PROFILES.items()}

DEFAULT_PROFILE = "cpu"


def get_profile(name: str) -> Profile:
    """The named profile; an unknown name or ``paper`` without a GPU is refused."""
    check(name in PROFILES, "profile", name, f"must be one of {sorted(PROFILES)}")
    prof = PROFILES[name]
    if prof.needs_gpu:
        import torch

        check(torch.cuda.is_available(), "profile", name,
              "needs a CUDA GPU and none is visible here; use profile='cpu' on a CPU")
    return prof
