"""The learning rules as small pure functions on tensors: next-token prediction and RL.

Every function takes a *policy*: any module mapping token ids [N, T] to next-token logits
[N, T, V] (:class:`Policy`). Our GPT and the Hugging Face wrapper of chapter 6 both are one, so
one set of functions trains both. The RL step composes them (the GRPO-Zero / TRL split):

    rollout      sample G responses per prompt from the policy (elsewhere: it depends on the task)
    rewards      a float per response (the task's reward: companion/task.py, companion/llm/)
    advantages   grpo: (r - group mean) / group std; reinforce: r - batch mean
    policy_loss  -sum_t A * log pi(token_t) over a response's tokens, averaged over responses
    star         keep the rewarded responses and fit them with ntp_loss
    kl_k3        exp(q - p) - (q - p) - 1 per token, q/p the reference/policy log-probs

Normalisation, which differs by algorithm and matters for the learning rate:

* **GRPO and REINFORCE** sum the token log-probs of a response (no division by its length)
  and average over responses. A length-normalised loss divides the push towards a correct
  d-token chain by d: it made RL about 5x slower in our first prototype (book/calibration.md).
* **STaR** is next-token prediction on the kept responses: a mean over all their target
  tokens (:func:`ntp_loss`), as in supervised fine-tuning.
* The k3 KL term is summed per response and averaged over responses, like the policy loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F


class Policy(Protocol):
    """What the objective needs of a model: logits for every position, and its parameters."""

    def __call__(self, tokens: torch.Tensor) -> torch.Tensor: ...  # [N, T] -> [N, T, V]

    def parameters(self): ...


@dataclass
class Rollout:
    bits: torch.Tensor  # [N, d] prompts' bits, N = prompts * G, the G copies of a prompt adjacent
    responses: torch.Tensor  # [N, R] sampled tokens after '=' (PAD after <eos>), R = max_response
    tokens: torch.Tensor  # [N, prompt_len + R] prompt and response
    loss_mask: torch.Tensor  # [N, prompt_len + R] True on response tokens up to and including <eos>


def response_mask(responses: torch.Tensor, eos_id: int) -> torch.Tensor:
    """True on every response token up to and including the first <eos> (all, if none).

    Positional, not ``!= PAD``: a policy may *sample* the pad token before <eos>, and
    that choice must be scored like any other.
    """
    is_eos = responses == eos_id
    before_or_at = (is_eos.long().cumsum(dim=1) - is_eos.long()) == 0
    return before_or_at


def warmup_cosine(step: int, warmup: int, total: int, floor: float = 0.1) -> float:
    """Learning-rate multiplier: linear warm-up, then cosine decay to ``floor``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))



def ntp_loss(model: Policy, tokens: torch.Tensor, loss_mask: torch.Tensor,
             reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy of next-token prediction on the masked (response) positions only.

    Shared with STaR, which fits its kept samples with exactly this loss.

    Right-sized padding: rows are grouped by the position of their last masked token
    and each group is run only up to it. Causal attention makes this exact (padding
    after a sequence never influences it), and at p_cot = 0.1 most rows are short, so
    this nearly halves the compute of a step.
    """
    mask = loss_mask[:, 1:]
    pos = torch.arange(1, mask.shape[1] + 1, device=mask.device)
    ends = (mask * pos).amax(dim=1)  # one past the last masked target position, per row
    total = torch.zeros((), device=tokens.device)
    for end in ends.unique().tolist():
        if end == 0:
            continue  # nothing to predict in these rows
        rows = (ends == end).nonzero(as_tuple=True)[0]
        logits = model(tokens[rows, :end])
        targets = tokens[rows, 1 : end + 1]
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                              reduction="none").view_as(targets)
        total = total + (nll * mask[rows, :end]).sum()
    if reduction == "sum":
        return total
    return total / mask.sum().clamp(min=1)


def advantages(r: torch.Tensor, algorithm: str, G: int, eps: float = 1e-6) -> torch.Tensor:
    """Per-response advantages [N] for grpo or reinforce (STaR has none: see star_keep).

    grpo: standardised within each group of G responses to the same prompt; a group
    whose rewards are all equal carries no information and gets exactly 0.
    reinforce: the batch-mean baseline.
    """
    if algorithm == "grpo":
        g = r.view(-1, G)
        centred = g - g.mean(dim=1, keepdim=True)
        return (centred / (g.std(dim=1, keepdim=True) + eps)).view(-1)
    if algorithm == "reinforce":
        return r - r.mean()
    raise ValueError(f"invalid algorithm={algorithm!r} for advantages: must be 'grpo' or 'reinforce'.")


def star_keep(r: torch.Tensor) -> torch.Tensor:
    """STaR keeps the rewarded samples (a correct answer always has reward > 0)."""
    return r > 0


def token_logprobs(model: Policy, tokens: torch.Tensor, loss_mask: torch.Tensor,
                   temperature: float = 1.0) -> torch.Tensor:
    """log pi_T(token_t | tokens_<t) [N, T-1], 0 where ``loss_mask[:, 1:]`` is False.

    ``pi_T`` is the policy at the sampling ``temperature`` (softmax of logits / T): the
    distribution the rollouts were drawn from, so the policy gradient stays on-policy at T != 1.
    Rows are grouped by where their response ends and each group is run only up to
    there (causal attention makes this exact): early in RL most responses are one token.
    """
    mask = loss_mask[:, 1:]
    out = torch.zeros(mask.shape, device=tokens.device)
    pos = torch.arange(1, mask.shape[1] + 1, device=mask.device)
    ends = (mask * pos).amax(dim=1)
    for end in ends.unique().tolist():
        if end == 0:
            continue
        rows = (ends == end).nonzero(as_tuple=True)[0]
        logits = model(tokens[rows, :end]).float()
        if temperature != 1.0:  # (at T = 1 nothing is divided: bitwise the plain log-softmax)
            logits = logits / temperature
        logp = F.log_softmax(logits, dim=-1)
        lp = logp.gather(2, tokens[rows, 1 : end + 1].unsqueeze(2)).squeeze(2)
        out = out.index_put((rows,), F.pad(lp, (0, mask.shape[1] - end)))
    return out * mask


def policy_loss(logp: torch.Tensor, mask: torch.Tensor, adv: torch.Tensor) -> torch.Tensor:
    """-E[A * sum_t log pi(token_t)]: token log-probs summed per sequence (not length-normalised)."""
    return -(adv.unsqueeze(1) * logp * mask).sum(dim=1).mean()


def kl_k3(logp: torch.Tensor, ref_logp: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """k3 estimate of KL(pi || pi_ref), summed per sequence, averaged: >= 0, 0 iff equal."""
    diff = (ref_logp - logp) * mask
    return ((torch.exp(diff) - diff - 1) * mask).sum(dim=1).mean()


def rl_objective(policy: Policy, roll: Rollout, r: torch.Tensor, algorithm: str, G: int,
                 kl_coef: float = 0.0, ref: Policy | None = None,
                 temperature: float = 1.0) -> tuple[torch.Tensor | None, dict]:
    """The loss of one RL step and its statistics; the loss is None when nothing is learnable
    (STaR with no correct sample).

    ``temperature`` is the one the rollouts were sampled at. GRPO and REINFORCE score the
    responses under that same distribution (the score-function gradient is only unbiased
    on-policy), and so does the KL term. STaR is unaffected: hot sampling is its exploration,
    and it fits the kept answers by plain next-token prediction, as the paper's STaR does.
    """
    stats: dict = {}
    mask = roll.loss_mask[:, 1:].float()
    if algorithm == "star":
        keep = star_keep(r)
        stats["kept"] = int(keep.sum())
        if not bool(keep.any()):
            return None, stats
        loss = ntp_loss(policy, roll.tokens[keep], roll.loss_mask[keep])
        if kl_coef > 0:
            logp = token_logprobs(policy, roll.tokens, roll.loss_mask, temperature)
    else:
        adv = advantages(r, algorithm, G)
        logp = token_logprobs(policy, roll.tokens, roll.loss_mask, temperature)
        loss = policy_loss(logp, mask, adv)
        stats["adv_abs"] = float(adv.abs().mean())
    if kl_coef > 0:
        if ref is None:
            raise ValueError("kl_coef > 0 needs the reference model `ref`.")
        with torch.no_grad():
            ref_logp = token_logprobs(ref, roll.tokens, roll.loss_mask, temperature)
        kl = kl_k3(logp, ref_logp, mask)
        loss = loss + kl_coef * kl
        stats["kl"] = float(kl.detach())
    stats["loss"] = float(loss.detach())
    return loss, stats
