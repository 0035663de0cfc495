"""Compute, counted in FLOPs: a training step of next-token prediction, a rollout, an RL update.

Counted, not measured: 2 FLOPs per multiply-add of every matrix product the model runs (the
weights of attention, MLP and output head; embeddings are lookups), plus the attention scores and
their weighted sum over the causal context. A backward pass costs twice the forward. LayerNorm,
softmax and the optimizer are left out (a few percent at these sizes). Generation with the KV
cache runs one forward token per new token, attending to everything before it.
"""

from __future__ import annotations

from .config import ModelConfig


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
