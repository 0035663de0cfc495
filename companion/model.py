"""A GPT-style causal transformer (plain torch, no training code) with KV-cached generation.

Pre-LayerNorm blocks, learned absolute positions, input/output embeddings tied or not
(``ModelConfig.tie_weights``): the nanoGPT recipe, small enough to read in one sitting.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import ModelConfig


class KVCache:
    """Pre-allocated keys/values for every layer: [B, H, T_max, head_dim] each."""

    def __init__(self, cfg: ModelConfig, batch: int, max_len: int, dtype: torch.dtype,
                 device: torch.device):
        hd = cfg.n_embd // cfg.n_head
        shape = (batch, cfg.n_head, max_len, hd)
        self.k = [torch.empty(shape, dtype=dtype, device=device) for _ in range(cfg.n_layer)]
        self.v = [torch.empty(shape, dtype=dtype, device=device) for _ in range(cfg.n_layer)]
        self.len = 0  # positions filled so far


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.n_head = cfg.n_head
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.dropout = cfg.dropout

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))
        if cache is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                               dropout_p=self.dropout if self.training else 0.0)
        else:
            start = cache.len
            cache.k[layer][:, :, start : start + t] = k
            cache.v[layer][:, :, start : start + t] = v
            k_all = cache.k[layer][:, :, : start + t]
            v_all = cache.v[layer][:, :, : start + t]
            # new queries see every cached position and the causal part of themselves
            mask = None
            if t > 1:
                mask = torch.ones(t, start + t, dtype=torch.bool, device=x.device).tril(diagonal=start)
            y = F.scaled_dot_product_attention(q, k_all, v_all, attn_mask=mask)
        return self.proj(y.transpose(1, 2).reshape(b, t, c))


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.n_embd)
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = nn.Sequential(nn.Linear(cfg.n_embd, 4 * cfg.n_embd), nn.GELU(),
                                 nn.Linear(4 * cfg.n_embd, cfg.n_embd))

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), cache, layer)
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, cfg: ModelConfig, vocab_size: int):
        super().__init__()
        self.cfg = cfg
        self.vocab_size = vocab_size
        self.wte = nn.Embedding(vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, vocab_size, bias=False)
        if cfg.tie_weights:
            self.head.weight = self.wte.weight  # weight tying (GPT-2)
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith("proj.weight") or name.endswith("mlp.2.weight"):
                # residual projections scaled down with depth (GPT-2)
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def forward(self, idx: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """Logits [B, T, V] for tokens idx [B, T] (appended after the cache, if given)."""
        b, t = idx.shape
        start = cache.len if cache is not None else 0
        if start + t > self.cfg.block_size:
            raise ValueError(f"sequence of length {start + t} exceeds block_size={self.cfg.block_size}")
        pos = torch.arange(start, start + t, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for i, block in enumerate(self.blocks):
            x = block(x, cache, i)
        if cache is not None:
            cache.len += t
        return self.head(self.ln_f(x))

    @torch.no_grad()
    def generate(self, prompts: torch.Tensor, max_new_tokens: int, eos_id: int, pad_id: int,
                 temperature: float = 0.0, generator: torch.Generator | None = None,
                 use_cache: bool = True) -> torch.Tensor:
        """Continue equal-length prompts [B, P]; returns the new tokens [B, <= max_new_tokens].

        temperature 0 is greedy decoding; otherwise tokens are sampled from
        softmax(logits / temperature) with ``generator``. A row stops at its first
        ``eos_id`` and is padded with ``pad_id`` after it; decoding ends when every
        row has stopped. ``use_cache=False`` recomputes the whole prefix at every
        step (slower; kept as the reference the cache is tested and benchmarked against).
        """
        was_training = self.training
        self.eval()
        b = prompts.shape[0]
        cache = None
        if use_cache:
            p = next(self.parameters())
            cache = KVCache(self.cfg, b, prompts.shape[1] + max_new_tokens, p.dtype, p.device)
        seq = prompts
        logits = self(prompts, cache)[:, -1]
        out = []
        done = torch.zeros(b, dtype=torch.bool, device=prompts.device)
        for step in range(max_new_tokens):
            if temperature == 0.0:
                nxt = logits.argmax(dim=-1)
            else:
                probs = torch.softmax(logits.float() / temperature, dim=-1)
                nxt = torch.multinomial(probs, 1, generator=generator).squeeze(1)
            nxt = torch.where(done, torch.full_like(nxt, pad_id), nxt)
            out.append(nxt)
            done = done | (nxt == eos_id)
            if bool(done.all()) or step == max_new_tokens - 1:
                break
            if use_cache:
                logits = self(nxt.unsqueeze(1), cache)[:, -1]
            else:
                seq = torch.cat([seq, nxt.unsqueeze(1)], dim=1)
                logits = self(seq)[:, -1]
        self.train(was_training)
        return torch.stack(out, dim=1)
