"""Named presets: the one place where sizes, step counts and seeds are written.

* ``tiny``  - CI: every chapter in seconds; the numbers only show the plumbing works.
* ``cpu``   - the default: a 2-core laptop CPU, minutes per chapter; scaled analogues of the
  paper's claims (fewer samples, smaller models and sweeps; each scorecard row says its scale).
* ``paper`` - toward the paper's scale (d=50, ~10^7 NTP samples; depth 4, width 256, one of the
  sizes the paper lists): needs a GPU.

Each profile has one block per claim (``companion/config/claims.py``). Why a value is what it is
is said in one line here; the measurements behind the choices are in ``book/calibration.md``.
Chapters receive a profile *name* from papermill and call :func:`get_profile`.
"""

from __future__ import annotations

from .config import (DigitMultiplication, EvalConfig, LinearConfig, Llama, LLMConfig,
                     LLMDataConfig, ModelConfig, MultiplicationConfig, NTPRunConfig, NTPThreshold,
                     PaperLlama, PretrainConfig, Profile, RLAfterNTP, RLConfig, SweepConfig,
                     TaskConfig, TestTime, check, with_)

# --- tiny: the cpu profile shrunk (d >= 12: at d=8 NTP alone memorises all 256 inputs) ------------
_TINY_HEADLINE = NTPRunConfig(
    task=TaskConfig(d=12, p_cot=0.1),
    model=ModelConfig(n_layer=1, n_head=2, n_embd=32, block_size=26),
    train=PretrainConfig(steps=30, batch_size=64, lr=1e-3, warmup_steps=5, eval_every=10,
                         checkpoint_steps=(10, 20)),
    eval=EvalConfig(n_prompts=200),
)
_TINY_RL = RLConfig(G=4, prompts_per_step=8, steps=4, eval_every=2)

TINY = Profile(
    name="tiny", needs_gpu=False, workers=1,
    description="CI smoke scale: seconds per chapter; the numbers only show the plumbing works",
    headline=_TINY_HEADLINE,
    ntp_threshold=NTPThreshold(sweep=SweepConfig(base=_TINY_HEADLINE, p_cots=(0.1, 0.5),
                                                 near_seeds=(1,)),
                               long_run_p_cots=(0.1, 0.25), long_run_steps=30),
    rl_after_ntp=RLAfterNTP(rl=_TINY_RL, seeds=(0, 1, 2), other_seeds=(0,), ntp_seeds=(0, 1),
                            start_steps=30, early_steps=(10,), baseline_factor=2, rare_p_cot=0.01,
                            rare_steps=30, hot_temperature=1.5),
    test_time=TestTime(star_rounds=RLConfig(algorithm="star", G=4, prompts_per_step=8,
                                            round_steps=2, steps=4, eval_every=2),
                       length_penalties=(0.3, 0.7), leap_d=12, leap_steps=30, probe_prompts=200,
                       probe_biases=(0.1, 0.9)),
    linear=LinearConfig(d=8, max_iter=20, n_eval=300, seeds=(0,), threshold_n=2000,
                        threshold_p_cots=(0.2, 0.5), star_p_cots=(0.25, 0.1), star_long=200,
                        star_n_max=2000, star_rounds=4, sample_ds=(6, 8), sample_n0=100,
                        sample_rounds=4, table_ds=(6, 8), kappa_ds=(6, 8), steep_kappa_ds=(6, 8)),
    llama=Llama(
        worded=LLMConfig(hidden_size=32, n_layer=1, n_head=2, data=LLMDataConfig(d=6, n_eval=32),
                         sft_steps=20, sft_batch_size=16, sft_eval_every=10, sft_warmup_steps=2,
                         rl=RLConfig(G=4, prompts_per_step=4, steps=4, eval_every=2),
                         max_new_tokens=10),
        pretrained=LLMConfig(model="smollm2", lora_r=4, lora_mlp=True, system_prompt="",
                             gradient_checkpointing=True,
                             data=LLMDataConfig(source="running-totals", additions=2, n_train=8,
                                                n_eval=2, p_cot=0.5),
                             sft_steps=1, sft_batch_size=2, sft_lr=1e-4, sft_warmup_steps=0,
                             sft_eval_every=1,
                             rl=RLConfig(G=2, prompts_per_step=1, lr=1e-5, steps=1, eval_every=1),
                             max_new_tokens=12, eval_batch_size=2, eval_start=False),
        gsm=LLMConfig(model="smollm2", data=LLMDataConfig(source="gsm-symbolic", per_template=1,
                                                         eval_templates=3, n_eval=2),
                      max_new_tokens=12, eval_batch_size=2),
        paper=None),
    multiplication=DigitMultiplication(
        start=NTPRunConfig(task=MultiplicationConfig(n=2, p_cot=0.25),
                           model=ModelConfig(n_layer=1, n_head=2, n_embd=32, block_size=17),
                           train=PretrainConfig(steps=30, batch_size=64, lr=2e-3, warmup_steps=5,
                                                eval_every=10),
                           eval=EvalConfig(n_prompts=200)),
        rl=RLConfig(G=4, prompts_per_step=8, steps=4, eval_every=2), seeds=(0, 1, 2),
        baseline_factor=2, sweep_n=(1,), book_trains=True),
)

# --- cpu: a 2-core laptop, the paper's d=50 headline ------------------------------------------------
_CPU_HEADLINE = NTPRunConfig(
    task=TaskConfig(d=50, p_cot=0.25),  # the paper's own headline setting
    # untied embeddings: tied, d=50 was not learned within a CPU budget (book/calibration.md)
    model=ModelConfig(n_layer=2, n_head=4, n_embd=64, block_size=102, tie_weights=False),
    # 1000 steps: the chain is learned (sampled long answers right) with a margin, greedy at chance;
    # the checkpoints span the window where the chain appears (~500-625; step 250 is before it):
    # chapter 3's too-early starts
    train=PretrainConfig(steps=1000, batch_size=256, lr=1e-3, warmup_steps=50, eval_every=125,
                         checkpoint_steps=(250, 375, 500, 625)),
    eval=EvalConfig(n_prompts=1000),
)
# tier (b): SmolLM2-135M on running totals of 3 additions, LoRA (rank 16, attention and MLP)
# on a mixture with p_cot = 0.25, then GRPO (book/calibration.md: why these sizes)
_CPU_SMOLLM2 = LLMConfig(
    model="smollm2", lora_r=16, lora_mlp=True, system_prompt="", gradient_checkpointing=True,
    data=LLMDataConfig(source="running-totals", additions=3, n_train=2000, n_eval=100,
                       p_cot=0.25),
    sft_steps=20, sft_batch_size=16, sft_lr=2e-3, sft_warmup_steps=2, sft_eval_every=20,
    rl=RLConfig(G=8, prompts_per_step=8, lr=3e-4, steps=6, eval_every=6),
    max_new_tokens=44, eval_batch_size=50, eval_start=False)
# SmolLM2 untouched on GSM-Symbolic problems: how far a 135M model is from GSM8K
_CPU_GSM = LLMConfig(model="smollm2",
                     data=LLMDataConfig(source="gsm-symbolic", per_template=4, eval_templates=20,
                                        n_eval=16),
                     max_new_tokens=96, eval_batch_size=16)

CPU = Profile(
    name="cpu", needs_gpu=False,
    description="a 2-core laptop CPU: minutes per chapter; scaled analogues of the paper's claims "
                "(fewer samples, smaller models; each scorecard row says its scale)",
    # small models train fastest on one thread each: on 2 cores two runs take about the time of one
    workers=2,
    headline=_CPU_HEADLINE,
    # the sweep at d=16 shows p_cot < 1/3 in a laptop's time; one long run at the headline d
    # (a second one at p_cot=0.1 needs ~2000 steps)
    ntp_threshold=NTPThreshold(
        sweep=SweepConfig(base=with_(_CPU_HEADLINE, d=16, steps=1000),
                          p_cots=(0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5), near_seeds=(1, 2)),
        long_run_p_cots=(0.25,), long_run_steps=1000),
    # 32 prompts x G=8, lr 2e-4 with cosine decay, no KL: higher lrs corrupted the chain
    rl_after_ntp=RLAfterNTP(rl=RLConfig(G=8, prompts_per_step=32, lr=2e-4, steps=40, eval_every=10),
                            seeds=(0, 1, 2), other_seeds=(0,), ntp_seeds=(0, 1, 2),
                            start_steps=1000, early_steps=(250, 375, 500, 625), baseline_factor=2,
                            rare_p_cot=0.01, rare_steps=250, hot_temperature=1.5),
    # one STaR round = 20 updates on 5,120 samples of the frozen sampler, schedule restarted;
    # leap 2 at the sweep's d=16 (at d=50 it was not learned either, and cost 4 min)
    test_time=TestTime(star_rounds=RLConfig(algorithm="star", round_steps=20, steps=100,
                                            eval_every=20, lr=3e-4, warmup_steps=5),
                       length_penalties=(0.3, 0.7), leap_d=16, leap_steps=1000,
                       # 1,000 prompts: a fraction measured to +-0.03 (95%); bits mostly 0 (long
                       # runs of one running parity) to mostly 1 (it flips at almost every bit)
                       probe_prompts=1000, probe_biases=(0.1, 0.25, 0.75, 0.9)),
    # d=16, p_cot down to d^-2 and 2^-d: about 2 minutes
    linear=LinearConfig(d=16, max_iter=50, n_eval=2000, seeds=(0, 1, 2), threshold_n=20000,
                        threshold_p_cots=(0.2, 0.25, 0.3, 0.32, 0.34, 0.36, 0.4, 0.5),
                        star_p_cots=(0.25, 0.1, 16 ** -1, 16 ** -1.5, 16 ** -2, 2.0 ** -16),
                        star_long=1000, star_n_max=40000, star_rounds=16,
                        sample_ds=(8, 16, 32, 64), sample_n0=200, sample_rounds=6,
                        # p_cot = 1/d to d = 32: at d = 64 one seed took 6 minutes here
                        table_ds=(8, 10, 12, 14, 16), kappa=1.0, kappa_ds=(8, 16, 32),
                        steep_kappa=1.5, steep_kappa_ds=(8, 16)),
    llama=Llama(
        worded=LLMConfig(data=LLMDataConfig(d=16, p_cot=0.2, n_eval=256), sft_steps=1500,
                         sft_batch_size=64, sft_eval_every=250,
                         rl=RLConfig(G=8, prompts_per_step=16, lr=2e-4, steps=40, eval_every=5),
                         max_new_tokens=20, eval_batch_size=128),
        pretrained=_CPU_SMOLLM2, gsm=_CPU_GSM, paper=None, pretrained_seeds=(0, 1),
        pretrained_in_book=False),
    multiplication=DigitMultiplication(
        # 3 digits: a 6-digit product that the small model does not learn to write directly;
        # the chain (3 lines of 6 digits) is learned from the rare long demonstrations
        start=NTPRunConfig(task=MultiplicationConfig(n=3, p_cot=0.25),
                           model=ModelConfig(n_layer=2, n_head=4, n_embd=64, block_size=30,
                                             tie_weights=False),
                           # lr 3e-3, held (no cosine decay): the chain appears sooner, and a
                           # decayed lr stalls it (book/calibration.md); 3,000 steps: the chain is
                           # still rising steeply at 2,000 in some seeds
                           train=PretrainConfig(steps=3000, batch_size=256, lr=3e-3, lr_floor=1.0,
                                                warmup_steps=50, eval_every=250),
                           eval=EvalConfig(n_prompts=1000)),
        # 120 steps: greedy accuracy still rises after the answers have gone long (step ~40)
        rl=RLConfig(G=8, prompts_per_step=32, lr=2e-4, steps=120, eval_every=20), seeds=(0, 1, 2),
        baseline_factor=2, sweep_n=(1, 2)),
)

# --- paper: d=50, p_cot=0.25, depth 4, width 256, ~10^7 samples (40k steps x 256) ------------------
_PAPER_HEADLINE = NTPRunConfig(
    task=TaskConfig(d=50, p_cot=0.25),
    model=ModelConfig(n_layer=4, n_head=8, n_embd=256, block_size=102),
    # bf16 autocast of the training forward pass: the GPU's fast path (weights, optimizer and
    # evaluation stay float32). Several GPUs: devices=N, strategy="ddp" (README, "Scaling out")
    train=PretrainConfig(steps=40_000, batch_size=256, lr=3e-4, warmup_steps=500, eval_every=2000,
                         checkpoint_steps=(5_000, 10_000, 20_000), precision="bf16-mixed"),
    eval=EvalConfig(n_prompts=2000),
)

PAPER = Profile(
    name="paper", needs_gpu=True, workers=1,
    description="toward the paper's scale (d=50, ~10^7 NTP samples; depth 4, width 256, one of "
                "the sizes the paper lists): a GPU",
    headline=_PAPER_HEADLINE,
    ntp_threshold=NTPThreshold(
        sweep=SweepConfig(base=_PAPER_HEADLINE, p_cots=(0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5),
                          seeds=(0, 1, 2)),
        long_run_p_cots=(0.25,), long_run_steps=80_000),
    rl_after_ntp=RLAfterNTP(rl=RLConfig(G=8, prompts_per_step=64, lr=1e-4, steps=300, eval_every=10),
                            seeds=(0, 1, 2), other_seeds=(0, 1, 2), ntp_seeds=(0, 1, 2),
                            start_steps=40_000,
                            early_steps=(5_000, 10_000), baseline_factor=2, rare_p_cot=0.01,
                            rare_steps=40_000, hot_temperature=1.5),
    test_time=TestTime(star_rounds=RLConfig(algorithm="star", prompts_per_step=64, round_steps=100,
                                            steps=600, eval_every=100, lr=1e-4, warmup_steps=10),
                       length_penalties=(0.3, 0.7), leap_d=50, leap_steps=40_000,
                       probe_prompts=10_000, probe_biases=(0.1, 0.3, 0.7, 0.9)),
    linear=LinearConfig(d=32, max_iter=100, n_eval=10000, seeds=(0, 1, 2), threshold_n=100_000,
                        threshold_p_cots=(0.2, 0.25, 0.28, 0.3, 0.31, 0.32, 0.33, 0.34, 0.35,
                                          0.36, 0.38, 0.4, 0.5),
                        star_p_cots=(0.25, 0.1, 32 ** -1, 32 ** -1.5, 32 ** -2, 2.0 ** -32),
                        star_long=4000, star_n_max=400_000, star_rounds=16,
                        sample_ds=(8, 16, 32, 64, 128), sample_n0=200, sample_rounds=8,
                        table_ds=(8, 10, 12, 14, 16, 18, 20), kappa=1.0, kappa_ds=(8, 16, 32, 64),
                        steep_kappa=1.5, steep_kappa_ds=(8, 16, 32)),
    llama=Llama(
        worded=LLMConfig(hidden_size=256, n_layer=4, n_head=8,
                         data=LLMDataConfig(d=32, p_cot=0.1, n_eval=1000), sft_steps=20_000,
                         sft_batch_size=256, sft_lr=3e-4, sft_warmup_steps=500, sft_eval_every=2000,
                         rl=RLConfig(G=8, prompts_per_step=64, lr=1e-4, steps=300, eval_every=20),
                         max_new_tokens=40, eval_batch_size=500, precision="bf16-mixed"),
        # tier (b) as under cpu: SmolLM2 is small enough for any machine
        pretrained=_CPU_SMOLLM2, gsm=_CPU_GSM, pretrained_seeds=(0, 1), pretrained_in_book=True,
        # SmolLM2 on tier (b)'s problems at a GPU's budget: full fine-tuning, thousands of steps,
        # 4 additions and rarer long answers
        # (activation checkpointing: 512 responses a GRPO step would keep ~45 GB of
        # activations otherwise, counted, not measured: no GPU here)
        gpu_smollm2=LLMConfig(
            model="smollm2", system_prompt="", accelerator="gpu", precision="bf16-mixed",
            gradient_checkpointing=True,
            data=LLMDataConfig(source="running-totals", additions=4, n_train=50_000, n_eval=1000,
                               p_cot=0.1),
            sft_steps=2000, sft_batch_size=64, sft_lr=2e-5, sft_warmup_steps=100,
            sft_eval_every=500,
            rl=RLConfig(G=8, prompts_per_step=64, lr=2e-6, steps=300, eval_every=25),
            max_new_tokens=64, eval_batch_size=500),
        # Llama-3.2-3B, full fine-tuning, bf16 autocast
        paper=PaperLlama(p_cot=0.1, n_eval=500, sft_steps=2000, sft_batch_size=32, sft_lr=1e-5,
                         sft_warmup_steps=100, sft_eval_every=500,
                         rl=RLConfig(G=8, prompts_per_step=32, lr=1e-6, steps=200, eval_every=25),
                         max_new_tokens=512, eval_batch_size=64, precision="bf16-mixed")),
    # 5 digits at the paper's p_cot = 0.1 (its 7-digit case took 38 GPU-hours); not run here
    multiplication=DigitMultiplication(
        start=NTPRunConfig(task=MultiplicationConfig(n=5, p_cot=0.1),
                           model=ModelConfig(n_layer=4, n_head=8, n_embd=256, block_size=68),
                           train=PretrainConfig(steps=40_000, batch_size=256, lr=3e-4,
                                                warmup_steps=500, eval_every=2000,
                                                precision="bf16-mixed"),
                           eval=EvalConfig(n_prompts=2000)),
        rl=RLConfig(G=8, prompts_per_step=64, lr=1e-4, steps=300, eval_every=10), seeds=(0, 1, 2),
        baseline_factor=2, sweep_n=(3, 4, 6, 7)),
)

PROFILES: dict[str, Profile] = {p.name: p for p in (TINY, CPU, PAPER)}
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
