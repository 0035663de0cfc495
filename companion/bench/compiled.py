"""One NTP gradient step of a small model as written (eager) against ``torch.compile``.

The book's runs are FLOP-bound at a fraction of the matmul peak (:mod:`.book`); the rest is the
small model's elementwise work (layer norms, GELU, softmax, the optimizer) that a compiler could
fuse. Measured here side by side, as medians over alternating repeats, on the same model and
batch: the seconds of a step both ways, what compiling cost (the first compiled call minus an
eager one), and the largest difference between the two gradients (a fused kernel may sum in
another order, so a compiled run would not give bitwise the numbers of an eager one).
"""

from __future__ import annotations

import statistics
import time

import torch

from ..config import NTPRunConfig, with_
from ..profiles import get_profile
from ..task import ParityMixture
from ..train.ntp import build_model
from .stacked import _loss
from .table import table_rows
from .throughput import BENCH_D


def compiled_vs_eager(cfg: NTPRunConfig, repeats: int = 3) -> dict[str, float]:
    """Median seconds of one gradient step of ``cfg``'s model, eager and compiled; the compile
    time; the largest gradient difference."""
    model = build_model(cfg).train()
    compiled = torch.compile(model)
    batch = ParityMixture(cfg.task).sample(cfg.train.batch_size, torch.Generator().manual_seed(0))
    params = list(model.parameters())

    def step(fn) -> list[torch.Tensor]:
        return list(torch.autograd.grad(_loss(fn, batch.tokens, batch.loss_mask), params))

    t0 = time.perf_counter()
    eager_grads = step(model)
    eager_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    compiled_grads = step(compiled)
    compile_s = time.perf_counter() - t0 - eager_first
    diff = max(float((a - b).abs().max()) for a, b in zip(eager_grads, compiled_grads))
    times: dict[str, list[float]] = {"eager": [], "compiled": []}
    for _ in range(repeats):  # alternating, so that a change of machine load hits both
        for name, fn in (("eager", model), ("compiled", compiled)):
            t0 = time.perf_counter()
            step(fn)
            times[name].append(time.perf_counter() - t0)
    eager_s, compiled_s = (statistics.median(times[k]) for k in ("eager", "compiled"))
    return {"eager_s": eager_s, "compiled_s": compiled_s, "speedup": eager_s / compiled_s,
            "compile_s": compile_s, "max_grad_diff": diff}


def compiled_rows(repeats: int = 3, profile: str = "cpu") -> list[dict]:
    """The rows of ``make bench``: the profile's headline model at ``BENCH_D``, its batch."""
    cfg = with_(get_profile(profile).headline, d=BENCH_D)
    m, s = cfg.model, compiled_vs_eager(cfg, repeats)
    return table_rows(
        f"NTP gradient step, `{profile}` model ({m.n_layer} x {m.n_embd}, d={BENCH_D}, batch "
        f"{cfg.train.batch_size}): eager vs torch.compile", {
            "eager, s": s["eager_s"], "compiled, s": s["compiled_s"],
            "speed-up of compiling (> 1: compiled is faster)": s["speedup"],
            "compiling, once per process and shape, s": s["compile_s"],
            "largest gradient difference (0: bitwise equal)": s["max_grad_diff"]})
