"""The paper's RL rewards, one rule for every task (companion/train/rl.py scores rollouts with it).

``end_to_end``: 1 if the response's final answer is right, else 0 (the paper's outcome reward;
malformed responses get 0). ``cot``: as end-to-end, and a long response must moreover be the
exact chain (a right answer reached by a wrong chain earns 0). ``length_penalty`` lambda
subtracts lambda * (tokens / chain length): a full chain costs lambda, a short answer lambda
times its share of the chain's length.
"""

from __future__ import annotations

import torch

KINDS = ("end_to_end", "cot")


def outcome_reward(right: torch.Tensor, responses: torch.Tensor, length: torch.Tensor,
                   short: torch.Tensor, chain: torch.Tensor, kind: str = "end_to_end",
                   length_penalty: float = 0.0) -> torch.Tensor:
    """Reward per response [N] (float).

    ``right`` [N] bool: the final answer is right; ``length`` [N]: tokens before <eos> (-1:
    malformed); ``short`` [N] bool: the response is a short answer; ``chain`` [N, L]: the
    exact chain of each prompt.
    """
    if kind not in KINDS:
        raise ValueError(f"invalid reward={kind!r}: must be 'end_to_end' or 'cot'.")
    r = right.float()
    if kind == "cot":
        n = chain.shape[1]
        exact_chain = (length == n) & (responses[:, :n] == chain).all(dim=1)
        r = r * (short | exact_chain).float()
    if length_penalty:
        # malformed responses (no <eos>) count every token they produced
        n_tok = torch.where(length >= 0, length, responses.shape[1]).float()
        r = r - length_penalty * n_tok / chain.shape[1]
    return r
