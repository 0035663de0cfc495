"""Closed-form predictions for a model that has learned everything except the map x -> y.

For such a model the final answer ``y`` is a fair coin unless it was produced by the
chain. Our reconstruction (consistent with the paper's Theorem 1 and
its STaR recursion); all functions accept floats or numpy arrays.

* First response token: ``b_1 = x_1`` is the most likely token, with probability
  ``p + (1 - p)/2``: the long answer's first token agrees with x_1 always, the short
  answer's (a coin) only half the time.
* After ``b_1`` the model continues the chain with probability ``2p/(1+p)`` and stops
  with ``(1-p)/(1+p)``; so greedy decoding stays short iff ``2p/(1+p) < 1/2``, i.e.
  ``p < 1/3``.
* Temperature-1 sampling is long with probability p ("calibrated in length"), with
  accuracy ``p * 1 + (1 - p) * 1/2 = (1 + p)/2``.
* STaR keeps correct samples: all long ones (p) and half the short ones ((1-p)/2), so
  the long fraction becomes ``p / (p + (1-p)/2) = 2p/(1+p)``: the odds double.
"""

from __future__ import annotations

import math

import numpy as np

THRESHOLD = 1 / 3


def continue_prob(p):
    """P(continue the chain | first token was b_1) = 2p/(1+p)."""
    p = np.asarray(p, dtype=float)
    return 2 * p / (1 + p)


def first_c1_prob(p):
    """P(first response token = b_1) = p + (1-p)/2 = (1+p)/2 (the most likely first token)."""
    return (1 + np.asarray(p, dtype=float)) / 2


def greedy_long(p):
    """1 if greedy decoding produces the chain (p > 1/3), else 0 (at exactly 1/3: a tie, 0.5)."""
    p = np.asarray(p, dtype=float)
    return np.where(p > THRESHOLD, 1.0, np.where(np.isclose(p, THRESHOLD), 0.5, 0.0))


def greedy_accuracy(p):
    """Chance (1/2) below the threshold, 1 above it."""
    return 0.5 + 0.5 * greedy_long(p)


def sampled_long(p):
    """Temperature-1 sampling is long with probability p."""
    return np.asarray(p, dtype=float)


def sampled_accuracy(p):
    """(1 + p) / 2 under temperature-1 sampling."""
    return (1 + np.asarray(p, dtype=float)) / 2


def star_step(p: float) -> float:
    """One STaR round on the long fraction: p -> 2p/(1+p) (the odds p/(1-p) double)."""
    return 2 * p / (1 + p)


def star_long_fractions(p0: float, rounds: int) -> list[float]:
    """[p_0, p_1, ..., p_rounds] under the STaR recursion."""
    ps = [float(p0)]
    for _ in range(rounds):
        ps.append(star_step(ps[-1]))
    return ps


def star_rounds_to_threshold(p0: float, target: float = THRESHOLD) -> int:
    """Rounds until the long fraction exceeds ``target`` (O(log((1-p)/p)) rounds)."""
    if not 0 < p0 < 1:
        raise ValueError(f"invalid p0={p0!r}: must be in (0, 1).")
    # odds double each round: p_r/(1-p_r) = 2^r p0/(1-p0)
    odds0, odds_t = p0 / (1 - p0), target / (1 - target)
    return max(0, math.floor(math.log2(odds_t / odds0)) + 1)
