"""The parity mixture D(p_cot): encoding, online sampling, loss mask, correctness.

A sequence is ``x_1 .. x_d = response <eos>`` padded to a fixed length ``2d + 2``.
Two responses encode the same answer ``y = x_1 xor ... xor x_d``:

* short: ``y <eos>`` (response length 1);
* long (chain of thought): the running parities ``b_1 .. b_d <eos>`` with
  ``b_k = x_1 xor ... xor x_k``, so ``b_1 = x_1`` and ``b_d = y`` (length d).

Worked example, d = 4, x = 1 0 1 1 (y = 1):

    short   1 0 1 1 = 1 <eos> <pad> <pad> <pad>
    long    1 0 1 1 = 1 1 0 1 <eos>

With ``leap=k`` the chain keeps only every k-th running parity (and always the
last one): for d = 4, leap = 2 the long response is ``b_2 b_4 = 1 1 <eos>``. With
``chain="blocks"`` it writes instead the parity of each block of k bits alone, then y:
``x_1^x_2  x_3^x_4  y = 1 0 1 <eos>``.

Token ids: ``0``->0, ``1``->1, ``=``->2, ``<eos>``->3, ``<pad>``->4. The loss is on
response tokens only (including ``<eos>``); a response is correct when its last
token before ``<eos>`` equals y. "Length" counts response tokens before ``<eos>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from .config import TaskConfig
from .reward import outcome_reward

ZERO, ONE, SEP, EOS, PAD = 0, 1, 2, 3, 4
VOCAB = ("0", "1", "=", "<eos>", "<pad>")
VOCAB_SIZE = len(VOCAB)

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class Batch:
    tokens: torch.Tensor  # [B, 2d+2] long: prompt, '=', response, '<eos>', padding
    loss_mask: torch.Tensor  # [B, 2d+2] bool: True where a token is a response token to predict
    is_long: torch.Tensor  # [B] bool: this sequence carries the chain
    y: torch.Tensor  # [B] long: the parity


@dataclass
class Parsed:
    length: torch.Tensor  # [B] long: tokens before the first <eos> (-1 if there is none)
    answer: torch.Tensor  # [B] long: last token before <eos>, or -1 if malformed
    well_formed: torch.Tensor  # [B] bool: an <eos>, at least one token before it, all bits

    @property
    def is_long(self) -> torch.Tensor:
        return self.well_formed & (self.length > 1)


class ParityMixture:
    """Samples and scores sequences of D(p_cot) for a :class:`TaskConfig`."""

    vocab_size, eos, pad = VOCAB_SIZE, EOS, PAD

    def __init__(self, cfg: TaskConfig):
        self.cfg = cfg
        self.d = cfg.d
        self.prompt_len = cfg.d + 1  # bits and '='
        # positions (1-based k) of the running parities kept in the chain
        ks = list(range(cfg.leap, cfg.d + 1, cfg.leap))
        if ks[-1] != cfg.d:
            ks.append(cfg.d)
        self.chain_idx = torch.tensor([k - 1 for k in ks])
        self.chain_len = len(ks) + (cfg.chain == "blocks")  # blocks: and then y
        self.short_len = 1  # response tokens of a short answer (before <eos>)
        self.max_response = self.chain_len + 1  # chain and <eos>
        self.seq_len = self.prompt_len + self.max_response

    # -- prompts ---------------------------------------------------------------
    def sample_bits(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randint(0, 2, (n, self.d), generator=generator)

    sample_inputs = sample_bits  # the name companion.tasks.Task gives it

    def prompts(self, bits: torch.Tensor) -> torch.Tensor:
        sep = torch.full((bits.shape[0], 1), SEP, dtype=torch.long)
        return torch.cat([bits.long(), sep], dim=1)

    @staticmethod
    def parity(bits: torch.Tensor) -> torch.Tensor:
        return bits.long().sum(dim=1) % 2

    target = parity  # the name companion.tasks.Task gives it

    def chain(self, bits: torch.Tensor) -> torch.Tensor:
        """The long response without <eos>: running parities at the kept positions, or (blocks)
        the parity of each block between them, then y."""
        running = (bits.long().cumsum(dim=1) % 2)[:, self.chain_idx]
        if self.cfg.chain == "running":
            return running
        before = torch.cat([torch.zeros_like(running[:, :1]), running[:, :-1]], dim=1)
        return torch.cat([running ^ before, running[:, -1:]], dim=1)

    # -- whole sequences ---------------------------------------------------------
    def encode(self, bits: torch.Tensor, is_long: torch.Tensor) -> Batch:
        """Encode given bits, long or short per row. Deterministic: used by tests and sampling."""
        n = bits.shape[0]
        y = self.parity(bits)
        tokens = torch.full((n, self.seq_len), PAD, dtype=torch.long)
        tokens[:, : self.prompt_len] = self.prompts(bits)
        p = self.prompt_len
        # short rows: y <eos>
        tokens[:, p] = y
        tokens[:, p + 1] = EOS
        # long rows: chain <eos>
        long_rows = is_long.nonzero(as_tuple=True)[0]
        if len(long_rows):
            tokens[long_rows, p : p + self.chain_len] = self.chain(bits[long_rows])
            tokens[long_rows, p + self.chain_len] = EOS
        pos = torch.arange(self.seq_len)
        loss_mask = (pos >= p) & (tokens != PAD)
        return Batch(tokens=tokens, loss_mask=loss_mask, is_long=is_long.bool(), y=y)

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        """n fresh sequences of D(p_cot): each long with probability p_cot."""
        bits = self.sample_bits(n, generator)
        is_long = torch.rand(n, generator=generator) < self.cfg.p_cot
        return self.encode(bits, is_long)

    # -- scoring -------------------------------------------------------------------
    @staticmethod
    def parse(responses: torch.Tensor) -> Parsed:
        """Parse generated responses [B, R] (tokens after '=')."""
        b, r = responses.shape
        is_eos = responses == EOS
        has_eos = is_eos.any(dim=1)
        first_eos = torch.where(has_eos, is_eos.float().argmax(dim=1), torch.full((b,), r))
        pos = torch.arange(r).unsqueeze(0)
        before = pos < first_eos.unsqueeze(1)
        all_bits = ((responses <= ONE) | ~before).all(dim=1)
        well_formed = has_eos & (first_eos >= 1) & all_bits
        last = responses.gather(1, (first_eos - 1).clamp(min=0).unsqueeze(1)).squeeze(1)
        answer = torch.where(well_formed, last, torch.full_like(last, -1))
        length = torch.where(has_eos, first_eos, torch.full_like(first_eos, -1))
        return Parsed(length=length, answer=answer, well_formed=well_formed)

    def is_correct(self, bits: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
        """1 where the last token before <eos> equals the parity of ``bits`` (malformed -> 0)."""
        return self.parse(responses).answer == self.parity(bits)

    def reward(self, bits: torch.Tensor, responses: torch.Tensor, kind: str = "end_to_end",
               length_penalty: float = 0.0) -> torch.Tensor:
        return rewards(self, bits, responses, kind, length_penalty)


# the RL reward of the parity task (companion/train/rl.py)
def rewards(task: ParityMixture, bits: torch.Tensor, responses: torch.Tensor,
            kind: str = "end_to_end", length_penalty: float = 0.0) -> torch.Tensor:
    """Reward per response [N] (float), by :func:`companion.reward.outcome_reward`: the answer
    is the last token before <eos>, a short answer is that token alone."""
    parsed = task.parse(responses)
    return outcome_reward(parsed.answer == task.parity(bits), responses, parsed.length,
                          parsed.length == 1, task.chain(bits), kind, length_penalty)


def render(tokens: torch.Tensor | list[int], drop_pad: bool = True) -> str:
    """Human-readable tokens, e.g. ``1 0 1 1 = 1 <eos>``."""
    ids = tokens.tolist() if isinstance(tokens, torch.Tensor) else list(tokens)
    return " ".join(VOCAB[i] for i in ids if not (drop_pad and i == PAD))


def examples(cfg: TaskConfig, n: int, seed: int = 0) -> "pd.DataFrame":
    """A table of ``n`` prompts with their short and long encodings, for reading."""
    import pandas as pd

    task = ParityMixture(cfg)
    bits = task.sample_bits(n, torch.Generator().manual_seed(seed))
    short = task.encode(bits, torch.zeros(n, dtype=torch.bool)).tokens
    long_ = task.encode(bits, torch.ones(n, dtype=torch.bool)).tokens
    p = task.prompt_len
    return pd.DataFrame({
        "prompt x": [render(r[: p - 1]) for r in bits],
        "y": task.parity(bits).tolist(),
        "short response": [render(r[p:]) for r in short],
        "long response (chain)": [render(r[p:]) for r in long_],
    })
