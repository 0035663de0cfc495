"""Measure a model on fresh prompts: accuracy, long-response fraction, response length.

Greedy decoding is the paper's accuracy; temperature-1 sampling shows what the
model *could* say (and is what RL explores). Results are tidy rows, one per decoding.
"""

from __future__ import annotations

import torch

from .config import EvalConfig
from .model import GPT
from .task import EOS, ParityMixture
from .tasks import Task


def decode_metrics(task: Task, x: torch.Tensor, responses: torch.Tensor) -> dict:
    """Summary statistics of responses to prompts made of inputs ``x``."""
    parsed = task.parse(responses)
    correct = (parsed.answer == task.target(x)).float()
    long_ = parsed.is_long
    short = parsed.well_formed & ~long_
    length = parsed.length.float()
    length = torch.where(parsed.length >= 0, length, torch.full_like(length, responses.shape[1]))

    def mean_or_nan(x: torch.Tensor, m: torch.Tensor) -> float:
        return float(x[m].mean()) if bool(m.any()) else float("nan")

    return {
        "accuracy": float(correct.mean()),
        "long_frac": float(long_.float().mean()),
        "mean_len": float(length.mean()),
        "median_len": float(length.median()),
        "acc_long": mean_or_nan(correct, long_),
        "acc_short": mean_or_nan(correct, short),
        "malformed_frac": float((~parsed.well_formed).float().mean()),
    }


@torch.no_grad()
def evaluate(model: GPT, task: Task, cfg: EvalConfig,
             decodings: tuple[str, ...] = ("greedy", "sampled")) -> list[dict]:
    """One row per decoding: greedy (temperature 0) and/or sampled (cfg.temperature)."""
    gen = torch.Generator().manual_seed(cfg.seed)
    x = task.sample_inputs(cfg.n_prompts, gen)
    device = next(model.parameters()).device
    prompts = task.prompts(x).to(device)
    if device.type != "cpu":  # sampling on an accelerator needs a generator on that device
        gen = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    rows = []
    for decoding in decodings:
        temp = 0.0 if decoding == "greedy" else cfg.temperature
        resp = model.generate(prompts, task.max_response, task.eos, task.pad, temperature=temp,
                              generator=gen)
        rows.append({"decoding": decoding, **decode_metrics(task, x, resp.cpu())})
    return rows


@torch.no_grad()
def coin(model: GPT, task: ParityMixture, n_prompts: int, seed: int) -> dict:
    """Chapter 1's coin, measured: the model's next-token probabilities after the prompt and
    after the prompt plus the chain's first token c_1 (x_1, or the first kept running parity).

    ``first_c1``: P(first response token = c_1), closed form (1+p)/2 for a model that learned
    everything but x -> y. ``continue``: P(next token is not <eos> | prompt, c_1), closed form
    2p/(1+p); split by whether the answer y equals c_1 (``continue_y_same`` / ``_y_differs``):
    equal means the decision to continue does not use y. One forward pass per prompt each.
    """
    gen = torch.Generator().manual_seed(seed)
    bits = task.sample_bits(n_prompts, gen)
    device = next(model.parameters()).device
    prompts = task.prompts(bits)
    c1 = task.chain(bits)[:, :1]
    first = torch.softmax(model(prompts.to(device))[:, -1].float(), -1).cpu()
    after = torch.softmax(model(torch.cat([prompts, c1], 1).to(device))[:, -1].float(), -1).cpu()
    cont = 1 - after[:, EOS]
    same = task.parity(bits) == c1[:, 0]
    return {"first_c1": float(first.gather(1, c1).mean()), "continue": float(cont.mean()),
            "continue_y_same": float(cont[same].mean()), "continue_y_differs": float(cont[~same].mean())}
