"""companion/flops.py: the counts on configs small enough to add up by hand."""

import pytest
import torch

from companion.config import ModelConfig
from companion.flops import (forward_flops, generate_flops, matmul_params, mixture_train_flops,
                             train_flops)
from companion.model import GPT

CFG = ModelConfig(n_layer=2, n_head=2, n_embd=4, block_size=16, tie_weights=False)
V = 5


def test_matmul_params_are_the_model_weights_that_multiply_activations():
    model = GPT(CFG, V)
    weights = sum(m.weight.numel() for m in model.modules()
                  if isinstance(m, torch.nn.Linear))  # qkv, proj, the MLP's two layers, head
    assert matmul_params(CFG, V) == weights == 2 * 12 * 16 + 4 * 5


def test_forward_counts_weights_and_causal_attention_by_hand():
    # 3 tokens: 2 * 404 weights each; they attend to 1 + 2 + 3 positions, 4 * n_layer * e each
    assert forward_flops(CFG, V, 3) == 2 * 404 * 3 + 4 * 2 * 4 * 6
    # after 5 cached positions the same 3 tokens attend to 6 + 7 + 8
    assert forward_flops(CFG, V, 3, context_before=5) == 2 * 404 * 3 + 4 * 2 * 4 * 21


def test_training_is_three_forwards_and_generation_feeds_back_all_but_the_last_token():
    assert train_flops(CFG, V, sequences=10, seq_len=3) == 30 * forward_flops(CFG, V, 3)
    # one step: only the prompt's pass; k steps: the prompt, then k - 1 one-token passes
    assert generate_flops(CFG, V, 1, prompt_len=4, steps=1) == forward_flops(CFG, V, 4)
    three = forward_flops(CFG, V, 4) + forward_flops(CFG, V, 1, 4) + forward_flops(CFG, V, 1, 5)
    assert generate_flops(CFG, V, 7, prompt_len=4, steps=3) == pytest.approx(7 * three)


def test_the_mixture_costs_short_and_long_sequences_in_proportion():
    short, long_ = train_flops(CFG, V, 1, 5), train_flops(CFG, V, 1, 8)  # prompt 4, chain 4
    assert mixture_train_flops(CFG, V, 10, prompt_len=4, chain_len=4, p_cot=0.25) == pytest.approx(
        10 * (0.75 * short + 0.25 * long_))
    assert mixture_train_flops(CFG, V, 10, 4, 4, 0.0) == 10 * short
