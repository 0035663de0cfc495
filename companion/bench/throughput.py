"""NTP training throughput, bare PyTorch vs Lightning, MFU, and KV-cached rollouts.

* :func:`step_tokens_and_flops` - the one count of the tokens and FLOPs of NTP steps (the MFU
  here and the paper-cost fit of :mod:`companion.bench.scale` both use it);
* :func:`bare_loop` - the one bare NTP step timer (plain PyTorch: forward, backward, clip, AdamW),
  against :func:`lightning_loop`, the same training through Lightning's Trainer;
* :func:`matmul_peak` - this machine's fp32 matmul FLOP/s, the denominator of the MFU;
* :func:`ntp_rows` and :func:`rollout_rows` - the benchmark rows.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from dataclasses import dataclass

import lightning as L
import torch

from ..config import NTPRunConfig, with_
from ..flops import train_flops
from ..objective import ntp_loss
from ..profiles import get_profile
from ..task import PAD, VOCAB_SIZE, ParityMixture
from ..train.data import TaskDataModule
from ..train.ntp import NTPModule, build_model
from .table import table_rows

BENCH_D = 20  # the overhead and MFU benchmarks' d, whatever the profile's headline d (50 on cpu)


@dataclass
class Timing:
    seconds: list[float]  # one per repeat
    work: float  # units of work per repeat (tokens, responses)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rate(self) -> float:
        return self.work / self.median


def time_it(fn, repeats: int) -> list[float]:
    """Wall seconds of each of ``repeats`` calls of ``fn()``."""
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def matmul_peak(n: int = 512, repeats: int = 5) -> float:
    """FLOP/s of a float32 n x n matmul on the current thread setting (median of repeats)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    inner = 20
    secs = time_it(lambda: [a @ b for _ in range(inner)], repeats)
    return 2 * n ** 3 * inner / statistics.median(secs)


def step_tokens_and_flops(cfg: NTPRunConfig, steps: int, seed: int = 0) -> tuple[float, float]:
    """Tokens actually computed (right-sized padding) and training FLOPs for ``steps`` batches
    drawn from a generator seeded with ``seed`` (totals: divide by ``steps`` for one step).

    FLOPs: :func:`companion.flops.train_flops` of each sequence up to its last response token
    (the weights' products and causal attention, forward and backward).
    """
    task = ParityMixture(cfg.task)
    gen = torch.Generator().manual_seed(seed)
    tokens = flops = 0.0
    for _ in range(steps):
        b = task.sample(cfg.train.batch_size, gen)
        lens = (b.loss_mask[:, 1:] * torch.arange(1, b.tokens.shape[1])).amax(dim=1).float()
        tokens += float(lens.sum())
        flops += float(train_flops(cfg.model, VOCAB_SIZE, 1, lens).sum())
    return tokens, flops


def bare_update(model: torch.nn.Module, opt: torch.optim.Optimizer, loss: torch.Tensor,
                grad_clip: float) -> None:
    """One optimizer step on ``loss``: backward, gradient-norm clip, AdamW (NTP and RL alike)."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()


def bare_loop(cfg: NTPRunConfig, steps: int, warmup: int = 0) -> list[float]:
    """NTP training of a fresh model in plain PyTorch on the run's data stream; returns the wall
    seconds of each of ``steps`` steps after ``warmup`` untimed ones."""
    task = ParityMixture(cfg.task)
    model = build_model(cfg).train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(cfg.train.seed + 1)
    out = []
    for _ in range(warmup + steps):
        t0 = time.perf_counter()
        b = task.sample(cfg.train.batch_size, gen)
        bare_update(model, opt, ntp_loss(model, b.tokens, b.loss_mask), cfg.train.grad_clip)
        out.append(time.perf_counter() - t0)
    return out[warmup:]


def lightning_loop(cfg: NTPRunConfig, steps: int) -> None:
    """The same training through Lightning's Trainer (the book's :class:`NTPModule`), on the CPU."""
    train = dataclasses.replace(cfg.train, steps=steps, checkpoint_steps=())
    module = NTPModule(build_model(cfg), train)
    trainer = L.Trainer(max_steps=steps, accelerator="cpu", devices=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, gradient_clip_val=cfg.train.grad_clip)
    trainer.fit(module, datamodule=TaskDataModule(ParityMixture(cfg.task), cfg.train.batch_size,
                                                    cfg.train.seed + 1))


def ntp_rows(steps: int, repeats: int, peak: float) -> list[dict]:
    """Bare loop vs Lightning (tokens/s, overhead) and MFU against ``peak`` FLOP/s, for the cpu
    profile's model and a larger one, at d=BENCH_D."""
    cpu = with_(get_profile("cpu").headline, d=BENCH_D)
    m = cpu.model
    larger = dataclasses.replace(cpu, model=dataclasses.replace(m, n_layer=4, n_embd=128))
    rows = []
    # the cpu model's steps take ~0.1 s: it runs 4x the steps, so that one fit's fixed set-up
    # (and the machine's noise) weighs about as much as in the larger model's ~0.6 s steps
    for label, cfg, n in ((f"cpu profile model (d={BENCH_D}, {m.n_layer}x{m.n_embd})", cpu, 4 * steps),
                          (f"larger (d={BENCH_D}, 4x128)", larger, steps)):
        tokens, flops = step_tokens_and_flops(cfg, n, cfg.train.seed + 1)  # the loops' batches
        # warm both paths up, then alternate them so that load changes hit both alike
        bare_loop(cfg, 3)
        lightning_loop(cfg, 3)
        t_bare, t_light = [], []
        for _ in range(repeats):
            t_bare += time_it(lambda: bare_loop(cfg, n), 1)
            t_light += time_it(lambda: lightning_loop(cfg, n), 1)
        bare, light = Timing(t_bare, tokens), Timing(t_light, tokens)
        rows += table_rows(f"NTP training, {label}", {
            "bare PyTorch loop, tokens/s": bare.rate,
            "Lightning Trainer, tokens/s": light.rate,
            "Lightning overhead (time ratio - 1)": light.median / bare.median - 1,
            "MFU (Lightning FLOP/s / matmul peak)": flops / light.median / peak,
        })
    return rows


def rollout_rows(repeats: int, prompts: int = 256, ds: tuple[int, ...] = (BENCH_D, 32)) -> list[dict]:
    """Sampled responses/s with the KV cache vs recomputing the prefix, every row full length."""
    rows = []
    for d in ds:
        cfg = with_(get_profile("cpu").headline, d=d)
        task = ParityMixture(cfg.task)
        model = build_model(cfg).eval()
        x = task.prompts(task.sample_bits(prompts, torch.Generator().manual_seed(0)))

        def gen(use_cache: bool) -> None:
            # an <eos> id that never occurs: every row runs to the full chain length, so both
            # methods do the same work (a long RL rollout); sampled at T=1 as in RL
            model.generate(x, task.max_response, -1, PAD, temperature=1.0,
                           generator=torch.Generator().manual_seed(0), use_cache=use_cache)

        cached = Timing(time_it(lambda: gen(True), repeats), prompts)
        full = Timing(time_it(lambda: gen(False), repeats), prompts)
        rows += table_rows(f"rollouts, d={d}, {prompts} prompts", {
            "KV cache, responses/s": cached.rate,
            "recompute, responses/s": full.rate,
            "KV-cache speed-up (x)": full.median / cached.median,
        })
    return rows
