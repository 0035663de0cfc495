"""Benchmarks: ratios measured side by side in one run, medians over repeats.

``python -m companion bench`` prints a markdown table and writes ``bench.csv``:

* NTP training throughput through Lightning's Trainer vs a bare PyTorch loop (same model,
  same data, same optimiser): the Lightning overhead;
* model FLOP utilisation: achieved FLOP/s of NTP training vs this machine's measured matmul
  peak (a float32 torch matmul on the same number of threads);
* rollout throughput (sampled responses/s) with the KV cache vs recomputing the prefix.

Speed is measured here, never asserted in tests: numbers depend on the machine and its load.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import lightning as L
import pandas as pd
import torch

from .config import NTPRunConfig
from .pretrain import NTPModule, ParityDataModule, build_model, ntp_loss
from .profiles import get_profile, with_
from .runtime import quiet_lightning, set_threads
from .task import PAD, ParityMixture


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


def _rows(benchmark: str, measures: dict[str, float]) -> list[dict]:
    return [{"benchmark": benchmark, "measure": m, "value": v} for m, v in measures.items()]


def step_tokens_and_flops(cfg: NTPRunConfig, steps: int, seed: int = 0) -> tuple[float, float]:
    """Tokens actually computed (right-sized padding) and training FLOPs for ``steps`` batches.

    FLOPs: 6 N per token for the weights (forward + backward) plus 12 L C T per token for
    attention scores (the PaLM appendix estimate), N the non-embedding parameters.
    """
    task = ParityMixture(cfg.task)
    gen = torch.Generator().manual_seed(seed)
    m = cfg.model
    n_params = 12 * m.n_layer * m.n_embd ** 2
    tokens = flops = 0.0
    for _ in range(steps):
        b = task.sample(cfg.train.batch_size, gen)
        lens = (b.loss_mask[:, 1:] * torch.arange(1, b.tokens.shape[1])).amax(dim=1).float()
        tokens += float(lens.sum())
        flops += float((6 * n_params * lens + 12 * m.n_layer * m.n_embd * lens ** 2).sum())
    return tokens, flops


def bare_loop(cfg: NTPRunConfig, steps: int) -> None:
    task = ParityMixture(cfg.task)
    model = build_model(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(cfg.train.seed + 1)
    for _ in range(steps):
        b = task.sample(cfg.train.batch_size, gen)
        loss = ntp_loss(model, b.tokens, b.loss_mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
        opt.step()


def lightning_loop(cfg: NTPRunConfig, steps: int) -> None:
    train = cfg.train.__class__(**{**cfg.train.__dict__, "steps": steps, "checkpoint_steps": ()})
    module = NTPModule(build_model(cfg), train)
    trainer = L.Trainer(max_steps=steps, accelerator="cpu", devices=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, gradient_clip_val=cfg.train.grad_clip)
    trainer.fit(module, datamodule=ParityDataModule(ParityMixture(cfg.task), cfg.train.batch_size,
                                                    cfg.train.seed + 1))


def time_it(fn, repeats: int) -> list[float]:
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


def run(steps: int = 60, repeats: int = 3, rollout_prompts: int = 256) -> pd.DataFrame:
    set_threads()
    quiet_lightning()
    rows = []
    peak = matmul_peak()
    cpu = get_profile("cpu").headline
    for label, cfg in (("cpu profile (d=20, 2x64)", cpu),
                       ("larger (d=20, 4x128)", NTPRunConfig(
                           task=cpu.task, model=cpu.model.__class__(n_layer=4, n_head=4, n_embd=128,
                                                                    block_size=42),
                           train=cpu.train, eval=cpu.eval))):
        tokens, flops = step_tokens_and_flops(cfg, steps, cfg.train.seed + 1)
        # warm both paths up, then alternate them so that load changes hit both alike
        bare_loop(cfg, 3)
        lightning_loop(cfg, 3)
        t_bare, t_light = [], []
        for _ in range(repeats):
            t_bare += time_it(lambda: bare_loop(cfg, steps), 1)
            t_light += time_it(lambda: lightning_loop(cfg, steps), 1)
        bare, light = Timing(t_bare, tokens), Timing(t_light, tokens)
        rows += _rows(f"NTP training, {label}", {
            "bare PyTorch loop, tokens/s": bare.rate,
            "Lightning Trainer, tokens/s": light.rate,
            "Lightning overhead (time ratio - 1)": light.median / bare.median - 1,
            "MFU (Lightning FLOP/s / matmul peak)": flops / light.median / peak,
        })
    rows += _rows("matmul peak (fp32, 512x512)", {"GFLOP/s": peak / 1e9})
    for d in (20, 32):
        cfg = with_(cpu, d=d)
        task = ParityMixture(cfg.task)
        model = build_model(cfg).eval()
        bits = task.sample_bits(rollout_prompts, torch.Generator().manual_seed(0))
        prompts = task.prompts(bits)

        def gen(use_cache: bool) -> None:
            # an <eos> id that never occurs: every row runs to the full chain length, so both
            # methods do the same work (a long RL rollout); sampled at T=1 as in RL
            model.generate(prompts, task.max_response, -1, PAD, temperature=1.0,
                           generator=torch.Generator().manual_seed(0), use_cache=use_cache)

        cached = Timing(time_it(lambda: gen(True), repeats), rollout_prompts)
        full = Timing(time_it(lambda: gen(False), repeats), rollout_prompts)
        rows += _rows(f"rollouts, d={d}, {rollout_prompts} prompts", {
            "KV cache, responses/s": cached.rate,
            "recompute, responses/s": full.rate,
            "KV-cache speed-up (x)": full.median / cached.median,
        })
    return pd.DataFrame(rows)


def markdown(df: pd.DataFrame) -> str:
    lines = ["| benchmark | measure | value |", "|---|---|---|"]
    for r in df.itertuples():
        lines.append(f"| {r.benchmark} | {r.measure} | {r.value:,.3g} |")
    return "\n".join(lines)
