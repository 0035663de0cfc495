"""Training k small models in one step (stacked with ``torch.func``) against one after the other.

The book trains many runs of one architecture (seeds, sweep points). If one model's step left a
core idle, stacking k models - ``stack_module_state`` + ``vmap`` over ``functional_call``, one
batched matmul per layer for all k - could train them faster than k separate steps. Measured here
side by side, as medians over alternating repeats, on the same k models and batches: the gradient
of each model both ways (the largest difference is reported: a batched kernel may sum in another
order than k separate ones) and the seconds per step of all k.

The loss is the masked next-token loss over the full width in both arms: the book's right-sized
padding (:func:`companion.objective.ntp_loss`) groups rows by a data-dependent length, which
``vmap`` cannot batch across models. PyTorch 2.13 has no ``vmap`` batching rule for the CPU's
fused attention (forward or backward): there it loops over the models (it warns; silenced here).
Attention has no weights, so a model with a leading model dimension of its own could fold the k
models into the batch there instead; that is not what this measures.
"""

from __future__ import annotations

import copy
import statistics
import time
import warnings

import torch
import torch.nn.functional as F
from torch.func import functional_call, grad, stack_module_state, vmap

from ..config import NTPRunConfig, with_
from ..profiles import get_profile
from ..task import ParityMixture
from ..train.ntp import build_model
from .table import table_rows
from .throughput import BENCH_D


def _loss(model, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    logits = model(tokens[:, :-1])
    nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1),
                          reduction="none").view(tokens.shape[0], -1)
    m = mask[:, 1:].float()
    return (nll * m).sum() / m.sum()


def stacked_vs_sequential(cfg: NTPRunConfig, k: int, repeats: int = 3) -> dict[str, float]:
    """Median seconds of one gradient step of ``k`` models of ``cfg``: one after the other, and
    stacked; and the largest difference between their gradients."""
    if cfg.model.tie_weights:
        # functional_call over stacked state leaves the tied output layer unbound: garbage grads
        raise ValueError("invalid tie_weights=True for the stacked benchmark: must be False "
                         "(the cpu and paper models are untied)")
    task = ParityMixture(cfg.task)
    models = []
    for seed in range(k):
        torch.manual_seed(seed)
        models.append(build_model(cfg).train())
    gen = torch.Generator().manual_seed(0)
    batches = [task.sample(cfg.train.batch_size, gen) for _ in range(k)]
    tokens = torch.stack([b.tokens for b in batches])
    masks = torch.stack([b.loss_mask for b in batches])
    names = [n for n, _ in models[0].named_parameters()]

    def one_after_the_other() -> list[dict[str, torch.Tensor]]:
        out = []
        for i, m in enumerate(models):
            grads = torch.autograd.grad(_loss(m, tokens[i], masks[i]), list(m.parameters()))
            out.append(dict(zip(names, grads)))
        return out

    params, buffers = stack_module_state(models)
    skeleton = copy.deepcopy(models[0]).to("meta")
    per_model = grad(lambda p, b, t, m: _loss(lambda x: functional_call(skeleton, (p, b), (x,)), t, m))
    batched = vmap(per_model)

    def stacked() -> dict[str, torch.Tensor]:
        return batched(params, buffers, tokens, masks)

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*batching rule.*")
        seq, stk = one_after_the_other(), stacked()  # also the warm-up
        diff = max(float((seq[i][n] - stk[n][i]).detach().abs().max())
                   for i in range(k) for n in names)
        t_seq, t_stk = [], []
        for _ in range(repeats):  # alternating, so that a change of machine load hits both
            for fn, acc in ((one_after_the_other, t_seq), (stacked, t_stk)):
                t0 = time.perf_counter()
                fn()
                acc.append(time.perf_counter() - t0)
    seq_s, stk_s = statistics.median(t_seq), statistics.median(t_stk)
    return {"sequential_s": seq_s, "stacked_s": stk_s, "speedup": seq_s / stk_s,
            "max_grad_diff": diff}


def stacked_rows(ks: tuple[int, ...] = (2, 4), repeats: int = 3, profile: str = "cpu") -> list[dict]:
    """The rows of ``make bench``: the profile's headline model at ``BENCH_D``, its batch."""
    cfg = with_(get_profile(profile).headline, d=BENCH_D)
    m = cfg.model
    rows = []
    for k in ks:
        s = stacked_vs_sequential(cfg, k, repeats)
        rows += table_rows(
            f"{k} NTP gradient steps, `{profile}` model ({m.n_layer} x {m.n_embd}, d={BENCH_D}, "
            f"batch {cfg.train.batch_size}): one after the other vs stacked (torch.func vmap)", {
                "one after the other, s": s["sequential_s"],
                "stacked, s": s["stacked_s"],
                "speed-up of stacking (> 1: stacking is faster)": s["speedup"],
                "largest gradient difference (0: bitwise equal)": s["max_grad_diff"]})
    return rows
