"""The paper's second setting: n-digit multiplication with a short/long mixture.

Same interface as the parity mixture (:class:`companion.task.ParityMixture`): sample inputs
with an explicit generator, encode them short or long, a loss mask, parse a response, score
it. The paper's long format is not known to us; this one is **(reconstructed)**, chosen so that
every chain token is a small function of a few tokens a small transformer can attend to:

* numbers are written **least significant digit first** (reversed), so a digit's carry comes
  from digits already written;
* the long response is the running products ``S_j = a * (b mod 10^j)`` for j = 1..n - each
  line adds one partial product ``a * b_j * 10^(j-1)`` to the line before -, every line
  ``2n`` digits wide and opened by ``;``. The last line ``S_n = a * b`` is the answer;
* the short response is the answer alone.

The two responses part at their first token (``;`` or the product's last digit), as the
parity mixture's part at ``<eos>`` or the chain's second token: which one greedy decoding takes
is one token's choice. Without the opening ``;`` the two would agree on their first digit and part
later, at a digit that the chain predicts and the unlearned product does not, so greedy decoding
would follow the chain at any p_cot (book/calibration.md has what was measured when choosing).

Worked example, n = 2, a = 12, b = 34 (a * b = 408; a * 4 = 48):

    prompt  2 1 x 4 3 =
    short   8 0 4 0 <eos>
    long    ; 8 4 0 0 ; 8 0 4 0 <eos>

Inputs are uniform n-digit strings (leading zeros allowed: 07 x 30 is a 2-digit problem).
Token ids: digits ``0``-``9`` -> 0-9, ``x`` -> 10, ``=`` -> 11, ``;`` -> 12, ``<eos>`` -> 13,
``<pad>`` -> 14. The loss is on response tokens (including ``<eos>``); a response is right
when its last line, read as a number, is a * b (the end-to-end reward). "Length" counts
response tokens before ``<eos>``: 2n for a short answer, 2n^2 + n for the chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from .config import MultiplicationConfig
from .reward import outcome_reward

if TYPE_CHECKING:
    import pandas as pd

TIMES, SEP, LINE, EOS, PAD = 10, 11, 12, 13, 14
VOCAB = (*"0123456789", "x", "=", ";", "<eos>", "<pad>")
VOCAB_SIZE = len(VOCAB)


@dataclass
class Batch:
    tokens: torch.Tensor  # [B, seq_len] long: prompt, response, '<eos>', padding
    loss_mask: torch.Tensor  # [B, seq_len] bool: response tokens to predict
    is_long: torch.Tensor  # [B] bool: this sequence carries the chain
    y: torch.Tensor  # [B] long: the product a * b


@dataclass
class Parsed:
    length: torch.Tensor  # [B] long: tokens before the first <eos> (-1 if there is none)
    answer: torch.Tensor  # [B] long: the last line read as a number, -1 if malformed
    well_formed: torch.Tensor  # [B] bool: <eos>, digits and ';' only, a last line of 2n digits
    is_long: torch.Tensor  # [B] bool: well formed and longer than the answer alone


class Multiplication:
    """Samples and scores sequences of the multiplication mixture for a :class:`MultiplicationConfig`."""

    vocab_size, eos, pad = VOCAB_SIZE, EOS, PAD

    def __init__(self, cfg: MultiplicationConfig):
        self.cfg = cfg
        self.n = cfg.n
        self.width = 2 * cfg.n  # digits of every line (a product of two n-digit numbers)
        self.prompt_len = 2 * cfg.n + 2  # a 'x' b '='
        self.chain_len = cfg.n * (self.width + 1)  # n lines, each opened by ';'
        self.short_len = self.width  # the product alone
        self.max_response = self.chain_len + 1
        self.seq_len = self.prompt_len + self.max_response
        self._place = 10 ** torch.arange(self.width)  # the value of each reversed digit

    # -- numbers -----------------------------------------------------------------
    def digits(self, v: torch.Tensor, width: int) -> torch.Tensor:
        """[B] numbers -> [B, width] digits, least significant first."""
        return (v.unsqueeze(1) // self._place[:width]) % 10

    def sample_inputs(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """[n, 2] long: the factors a and b, uniform over n-digit strings."""
        return torch.randint(0, 10 ** self.n, (n, 2), generator=generator)

    def prompts(self, ab: torch.Tensor) -> torch.Tensor:
        col = lambda t: torch.full((ab.shape[0], 1), t, dtype=torch.long)  # noqa: E731
        return torch.cat([self.digits(ab[:, 0], self.n), col(TIMES),
                          self.digits(ab[:, 1], self.n), col(SEP)], dim=1)

    @staticmethod
    def target(ab: torch.Tensor) -> torch.Tensor:
        return ab[:, 0] * ab[:, 1]

    def chain(self, ab: torch.Tensor) -> torch.Tensor:
        """The long response without <eos>: the running products S_1 ; ... ; S_n."""
        a, b = ab[:, 0], ab[:, 1]
        parts = []
        for j in range(1, self.n + 1):
            parts.append(torch.full((ab.shape[0], 1), LINE, dtype=torch.long))
            parts.append(self.digits(a * (b % 10 ** j), self.width))
        return torch.cat(parts, dim=1)

    # -- whole sequences ---------------------------------------------------------
    def encode(self, ab: torch.Tensor, is_long: torch.Tensor) -> Batch:
        """Encode given factors, long or short per row. Deterministic: used by tests and sampling."""
        n, p, w = ab.shape[0], self.prompt_len, self.width
        y = self.target(ab)
        tokens = torch.full((n, self.seq_len), PAD, dtype=torch.long)
        tokens[:, :p] = self.prompts(ab)
        tokens[:, p:p + w] = self.digits(y, w)
        tokens[:, p + w] = EOS
        rows = is_long.nonzero(as_tuple=True)[0]
        if len(rows):
            tokens[rows, p:p + self.chain_len] = self.chain(ab[rows])
            tokens[rows, p + self.chain_len] = EOS
        pos = torch.arange(self.seq_len)
        loss_mask = (pos >= p) & (tokens != PAD)
        return Batch(tokens=tokens, loss_mask=loss_mask, is_long=is_long.bool(), y=y)

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        """n fresh sequences of the mixture: each long with probability p_cot."""
        ab = self.sample_inputs(n, generator)
        is_long = torch.rand(n, generator=generator) < self.cfg.p_cot
        return self.encode(ab, is_long)

    # -- scoring -------------------------------------------------------------------
    def parse(self, responses: torch.Tensor) -> Parsed:
        """Parse generated responses [B, R] (tokens after '=')."""
        b, r = responses.shape
        w = self.width
        is_eos = responses == EOS
        has_eos = is_eos.any(dim=1)
        first_eos = torch.where(has_eos, is_eos.float().argmax(dim=1), torch.full((b,), r))
        pos = torch.arange(r).unsqueeze(0)
        before = pos < first_eos.unsqueeze(1)
        allowed = ((responses <= 9) | (responses == LINE) | ~before).all(dim=1)
        # the last line: the w tokens before <eos>, all digits, after a ';' or the start
        idx = (first_eos.unsqueeze(1) - w + torch.arange(w)).clamp(min=0, max=r - 1)
        last = responses.gather(1, idx)
        line_start = first_eos - w
        after_sep = (line_start == 0) | (
            responses.gather(1, (line_start - 1).clamp(min=0, max=r - 1).unsqueeze(1)).squeeze(1) == LINE)
        well_formed = has_eos & (line_start >= 0) & allowed & (last <= 9).all(dim=1) & after_sep
        value = (last.clamp(max=9) * self._place).sum(dim=1)
        answer = torch.where(well_formed, value, torch.full_like(value, -1))
        length = torch.where(has_eos, first_eos, torch.full_like(first_eos, -1))
        return Parsed(length=length, answer=answer, well_formed=well_formed,
                      is_long=well_formed & (length > w))

    def is_correct(self, ab: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
        return self.parse(responses).answer == self.target(ab)

    def reward(self, ab: torch.Tensor, responses: torch.Tensor, kind: str = "end_to_end",
               length_penalty: float = 0.0) -> torch.Tensor:
        """By :func:`companion.reward.outcome_reward`: 1 for the right product (``cot``: a long
        response must moreover be the exact chain), minus ``length_penalty`` * tokens / chain
        length."""
        parsed = self.parse(responses)
        return outcome_reward(parsed.answer == self.target(ab), responses, parsed.length,
                              ~parsed.is_long, self.chain(ab), kind, length_penalty)


def render(tokens: torch.Tensor | list[int], drop_pad: bool = True) -> str:
    """Human-readable tokens, e.g. ``2 1 x 4 3 = 8 0 4 0 <eos>``."""
    ids = tokens.tolist() if isinstance(tokens, torch.Tensor) else list(tokens)
    return " ".join(VOCAB[i] for i in ids if not (drop_pad and i == PAD))


def examples(cfg: MultiplicationConfig, n: int, seed: int = 0) -> "pd.DataFrame":
    """A table of ``n`` problems with their short and long encodings, for reading."""
    import pandas as pd

    task = Multiplication(cfg)
    ab = task.sample_inputs(n, torch.Generator().manual_seed(seed))
    short = task.encode(ab, torch.zeros(n, dtype=torch.bool)).tokens
    long_ = task.encode(ab, torch.ones(n, dtype=torch.bool)).tokens
    p = task.prompt_len
    return pd.DataFrame({
        "problem": [f"{a} x {b} = {a * b}" for a, b in ab.tolist()],
        "prompt (reversed digits)": [render(r[:p]) for r in short],
        "short response": [render(r[p:]) for r in short],
        "long response (running products)": [render(r[p:]) for r in long_],
    })
