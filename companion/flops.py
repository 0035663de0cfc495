"""Compute, counted in FLOPs: a training step of next-token prediction, a rollout, an RL update.

Counted, not measured: 2 FLOPs per multiply-add of every matrix product the model runs (the
weights of attention, MLP and output head; embeddings are lookups), plus the attention scores and
their weighted sum over the causal context. A backward pass costs twice the forward. LayerNorm,
softmax and the optimizer are left out (a few percent at these sizes). Generation with the KV
cache runs one forward token per new token, attending to everything before it. Training runs
each sequence only up to its last target (right-sized padding, ``objective.ntp_loss``): a
response of ``n`` tokens and ``<eos>`` after a prompt of ``P`` tokens costs ``P + n`` positions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .config import ModelConfig, NTPRunConfig, RLRunConfig
from .tasks import Task, make_task

if TYPE_CHECKING:
    import pandas as pd


def matmul_params(cfg: ModelConfig, vocab_size: int) -> int:
    """Weights that take part in a matrix product per token: per block the q, k, v and output
    projections (4 e^2) and the MLP (8 e^2), then the output head (e V)."""
    e = cfg.n_embd
    return cfg.n_layer * 12 * e * e + e * vocab_size


def forward_flops(cfg: ModelConfig, vocab_size: int, tokens: int, context_before: int = 0) -> float:
    """One forward pass over ``tokens`` new positions that follow ``context_before`` cached ones:
    the weight products, and scores plus weighted values (2 x 2 e FLOPs per attended position
    per layer) over the causal context of each new position."""
    weights = 2 * matmul_params(cfg, vocab_size) * tokens
    # position i (0-based among the new ones) attends to context_before + i + 1 positions
    attended = tokens * context_before + tokens * (tokens + 1) / 2
    return weights + 4 * cfg.n_layer * cfg.n_embd * attended


def train_flops(cfg: ModelConfig, vocab_size: int, sequences: int, seq_len):
    """Forward and backward (twice the forward) over ``sequences`` padded sequences of
    ``seq_len`` tokens (a number, or a tensor of lengths: one count per element)."""
    return 3 * sequences * forward_flops(cfg, vocab_size, seq_len)


def generate_flops(cfg: ModelConfig, vocab_size: int, sequences: int, prompt_len: int,
                   steps: int) -> float:
    """KV-cached generation of ``steps`` tokens per sequence (a batch decodes until its longest
    row ends, every row included): the prompt's forward pass gives the first token, each later
    token a one-position forward pass over the cache."""
    fed = steps - 1  # the last token is never fed back
    attended = fed * prompt_len + fed * (fed + 1) / 2
    one = 2 * matmul_params(cfg, vocab_size) * fed + 4 * cfg.n_layer * cfg.n_embd * attended
    return sequences * (forward_flops(cfg, vocab_size, prompt_len) + one)


def mixture_train_flops(cfg: ModelConfig, vocab_size: int, sequences: float, prompt_len: int,
                        chain_len: int, p_cot: float, short_len: int = 1) -> float:
    """Training on ``sequences`` draws of the short/long mixture, in expectation: a short
    answer runs ``prompt_len + short_len`` positions, a long one ``prompt_len + chain_len``."""
    short = train_flops(cfg, vocab_size, 1, prompt_len + short_len)
    long_ = train_flops(cfg, vocab_size, 1, prompt_len + chain_len)
    return sequences * ((1 - p_cot) * short + p_cot * long_)


# --- whole runs of a GPT task, from their config and history ------------------------------------
def decode_steps(task: Task, long_frac: float, malformed_frac: float = 0.0) -> int:
    """Decoding steps of a batch: the chain's length if any answer was long (or had no <eos>),
    else the short answer and <eos>."""
    return task.short_len + 1 if long_frac == 0 and malformed_frac == 0 else task.max_response


def ntp_flops(cfg: NTPRunConfig, steps: int) -> float:
    """``steps`` NTP training steps of ``cfg`` (its batch, its mixture), in expectation."""
    task = make_task(cfg.task)
    return mixture_train_flops(cfg.model, task.vocab_size, steps * cfg.train.batch_size,
                               task.prompt_len, task.chain_len, cfg.task.p_cot, task.short_len)


def evaluation_flops(cfg: NTPRunConfig, history: "pd.DataFrame") -> float:
    """Every greedy and sampled evaluation in ``history`` (``cfg.eval.n_prompts`` prompts each)."""
    task = make_task(cfg.task)
    rows = history[history.decoding.isin(["greedy", "sampled"])]
    return sum(generate_flops(cfg.model, task.vocab_size, cfg.eval.n_prompts, task.prompt_len,
                              decode_steps(task, r.long_frac, getattr(r, "malformed_frac", 0.0)))
               for r in rows.itertuples())


def rl_flops(run: RLRunConfig, history: "pd.DataFrame") -> dict[str, float]:
    """An RL run's rollouts and updates, step by step from its rollout rows: each step's
    responses decoded as :func:`decode_steps` says, its update right-sized to the step's mean
    response length (STaR fits only the kept responses)."""
    task, m = make_task(run.start.task), run.start.model
    vocab = task.vocab_size
    n = run.rl.prompts_per_step * run.rl.G
    rollouts = updates = 0.0
    for r in history[history.decoding == "rollout"].itertuples():
        rollouts += generate_flops(m, vocab, n, task.prompt_len,
                                   decode_steps(task, r.long_frac, getattr(r, "malformed_frac", 0.0)))
        trained = getattr(r, "kept", n) if run.rl.algorithm == "star" else n
        updates += train_flops(m, vocab, trained, task.prompt_len + r.mean_len)
    return {"rollouts": rollouts, "updates": updates}
