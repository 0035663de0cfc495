"""Probe what a trained policy's chain is: exact or not, position by position; whether each
chain token is computed from the previous one or from the prompt; and how both hold when the
prompt bits are not uniform.

All three are measurements on a model and fresh prompts (no training), for the full chain
(``leap=1``), where the chain is the running parities ``b_k = x_1 xor ... xor x_k``:

* :func:`chain_errors` samples (or greedily decodes) responses and compares every long answer
  with the chain token by token;
* :func:`intervene` teacher-forces the true chain up to position ``k - 1``, then a *wrong*
  ``b_k``, and reads the policy's next token: ``b_k' xor x_{k+1}`` means it continues from its
  own token, the true ``b_{k+1}`` means it recomputes the chain from the prompt;
* :func:`biased_bits` draws prompts whose bits are 1 with probability ``q`` (0.5 is the
  training distribution).
"""

from __future__ import annotations

import torch

from .config import check
from .model import GPT
from .task import EOS, PAD, ParityMixture


def _full_chain(task: ParityMixture) -> None:
    check(task.cfg.leap == 1, "leap", task.cfg.leap,
          "must be 1: the probes compare responses with the full chain of running parities")


def biased_bits(task: ParityMixture, n: int, q: float, generator: torch.Generator) -> torch.Tensor:
    """``n`` prompts' bits [n, d], each bit 1 with probability ``q`` independently."""
    check(0.0 < q < 1.0, "q", q, "must lie in (0, 1)")
    return (torch.rand(n, task.d, generator=generator) < q).long()


@torch.no_grad()
def chain_errors(model: GPT, task: ParityMixture, bits: torch.Tensor, temperature: float,
                 generator: torch.Generator) -> dict:
    """Responses to ``bits`` compared with the chain.

    Fractions are of all prompts (``accuracy``, ``long_frac``) or of the long answers
    (``exact``: the long answer is the chain token for token; ``full``: it has the chain's
    length; ``right_by_wrong_chain``: its answer is right although some chain token is wrong).
    ``first_error[k - 1]``: the fraction of long answers of the chain's length whose first wrong
    token is the k-th (NaN where there are none). The first error, not every wrong token: a
    policy that continues the chain from its own tokens gets every later one wrong with it.
    """
    _full_chain(task)
    device = next(model.parameters()).device
    resp = model.generate(task.prompts(bits).to(device), task.max_response, EOS, PAD,
                          temperature=temperature, generator=generator).cpu()
    n = task.chain_len
    if resp.shape[1] < n:  # every row stopped early: no answer has the chain's length
        resp = torch.cat([resp, torch.full((len(resp), n - resp.shape[1]), PAD)], dim=1)
    parsed = task.parse(resp)
    long_ = parsed.is_long
    full = long_ & (parsed.length == n)
    wrong = resp[:, :n] != task.chain(bits)
    exact = full & ~wrong.any(dim=1)
    right = parsed.answer == task.parity(bits)
    n_long = int(long_.sum())

    def of_long(m: torch.Tensor) -> float:
        return float((m & long_).sum()) / n_long if n_long else float("nan")

    first = wrong.float().argmax(dim=1)  # the first wrong position (0 when none is wrong)
    wrong_at = torch.nn.functional.one_hot(first, n).bool() & wrong.any(dim=1, keepdim=True)
    first_error = (wrong_at[full].float().mean(dim=0).tolist() if bool(full.any())
                   else [float("nan")] * n)
    return {"accuracy": float(right.float().mean()), "long_frac": float(long_.float().mean()),
            "n_long": n_long, "full": of_long(full), "exact": of_long(exact),
            "right_by_wrong_chain": of_long(right & ~exact), "first_error": first_error}


@torch.no_grad()
def intervene(model: GPT, task: ParityMixture, bits: torch.Tensor, k: int) -> dict:
    """Force a wrong chain token at position ``k`` (1-based, below d) and decode greedily on.

    The response is teacher-forced as the true ``b_1 .. b_{k-1}``, then ``1 - b_k``. Of the
    prompts: ``follows_own``, the next token is ``(1 - b_k) xor x_{k+1}`` (the chain continued
    from the forced token); ``follows_true``, it is the true ``b_{k+1}`` (the forced token
    ignored); ``stops``, it is ``<eos>``. ``final_right``: the completed response's answer is
    still the parity of the prompt.
    """
    _full_chain(task)
    check(1 <= k < task.d, "k", k, f"must lie in [1, {task.d - 1}] (a chain token before the last)")
    chain = task.chain(bits)
    forced = chain[:, :k].clone()
    forced[:, k - 1] = 1 - forced[:, k - 1]
    device = next(model.parameters()).device
    prefix = torch.cat([task.prompts(bits), forced], dim=1)
    rest = model.generate(prefix.to(device), task.max_response - k, EOS, PAD).cpu()
    nxt = rest[:, 0]
    own = forced[:, k - 1] ^ bits[:, k].long()
    answer = task.parse(torch.cat([forced, rest], dim=1)).answer
    return {"k": k, "follows_own": float((nxt == own).float().mean()),
            "follows_true": float((nxt == chain[:, k]).float().mean()),
            "stops": float((nxt == EOS).float().mean()),
            "final_right": float((answer == task.parity(bits)).float().mean())}


def positions(d: int) -> tuple[int, ...]:
    """The positions to intervene at: the first two, the quarter points and the last but one."""
    return tuple(sorted({k for k in (1, 2, d // 4, d // 2, 3 * d // 4, d - 1) if 1 <= k < d}))
