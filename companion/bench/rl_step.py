"""One RL step split into its rollout (sampling + rewards, no gradients) and its update
(log-probs, objective, backward, AdamW).

The step is the book's own pieces, timed: :func:`companion.train.rl.rollout`,
:func:`companion.task.rewards` and :func:`companion.objective.rl_objective`, then the bare
optimizer step of :func:`companion.bench.throughput.bare_update` (no Lightning, as in the bare
NTP loop). Only :func:`full_length_rollout` is new: the costliest (late-RL) rollout.
"""

from __future__ import annotations

import statistics
import time

import torch

from ..config import NTPRunConfig, RLConfig, with_
from ..objective import Rollout, rl_objective
from ..task import PAD, ParityMixture, rewards
from ..train.ntp import build_model
from ..train.rl import rollout
from .table import table_rows
from .throughput import bare_update


@torch.no_grad()
def full_length_rollout(model, task: ParityMixture, bits: torch.Tensor, G: int,
                        gen: torch.Generator) -> Rollout:
    """As :func:`companion.train.rl.rollout` at T=1, but every response runs to the full chain
    length and every sampled token is scored.

    An <eos> id that never occurs makes each row as long as a late-RL chain of thought, the
    costliest step (early in RL most responses are one token long); a sampled <eos> token does
    not end its row here: it only stands for some chain token.
    """
    bits = bits.repeat_interleave(G, dim=0)
    prompts = task.prompts(bits)
    resp = model.generate(prompts, task.max_response, -1, PAD, temperature=1.0, generator=gen)
    mask = torch.cat([torch.zeros_like(prompts, dtype=torch.bool),
                      torch.ones_like(resp, dtype=torch.bool)], dim=1)
    return Rollout(bits=bits, responses=resp, tokens=torch.cat([prompts, resp], dim=1), loss_mask=mask)


def rl_step_split(cfg: NTPRunConfig, rl: RLConfig, repeats: int = 3,
                  full_length: bool = False) -> dict[str, float]:
    """Median seconds of the rollout and the update of one RL step, over ``repeats`` steps.

    The policy is the freshly initialised model of ``cfg`` (no trained model is needed to time
    a step): its responses have random lengths (an <eos> about every ``VOCAB_SIZE`` tokens), or
    all have the full chain length with ``full_length``. One untimed step warms up first.
    """
    task = ParityMixture(cfg.task)
    model = build_model(cfg).train()
    opt = torch.optim.AdamW(model.parameters(), lr=rl.lr, betas=(0.9, 0.95))
    prompts_gen = torch.Generator().manual_seed(rl.seed + 1)
    gen = torch.Generator().manual_seed(rl.seed)
    t_roll, t_upd, lengths = [], [], []
    for i in range(repeats + 1):
        bits = task.sample_bits(rl.prompts_per_step, prompts_gen)
        t0 = time.perf_counter()
        if full_length:
            roll = full_length_rollout(model, task, bits, rl.G, gen)
        else:
            roll = rollout(model, task, bits, rl.G, rl.temperature, gen)
        r = rewards(task, roll.bits, roll.responses, rl.reward, rl.length_penalty)
        t1 = time.perf_counter()
        loss, _ = rl_objective(model, roll, r, rl.algorithm, rl.G, rl.kl_coef)
        if loss is not None:  # STaR with no correct sample: nothing to learn
            bare_update(model, opt, loss, rl.grad_clip)
        t2 = time.perf_counter()
        if i:
            t_roll.append(t1 - t0)
            t_upd.append(t2 - t1)
            lengths.append(float(roll.loss_mask.sum(dim=1).float().mean()))
    roll_s, upd_s = statistics.median(t_roll), statistics.median(t_upd)
    return {"rollout_s": roll_s, "update_s": upd_s, "rollout_share": roll_s / (roll_s + upd_s),
            "mean_response_tokens": statistics.mean(lengths)}


def rl_split_rows(prof, repeats: int, d: int | None = None) -> list[dict]:
    """One RL step of ``prof`` (its headline model and its chapter-3 RL config) split into
    rollout and update, for an untrained policy and for full-length responses."""
    cfg = prof.headline if d is None else with_(prof.headline, d=d)
    rl = prof.rl_after_ntp.rl
    rows = []
    for full, regime in ((False, "untrained policy, random lengths"),
                         (True, "every response a full chain (late RL)")):
        s = rl_step_split(cfg, rl, repeats=repeats, full_length=full)
        rows += table_rows(f"RL step, {prof.name} profile (d={cfg.task.d}, {rl.prompts_per_step} "
                           f"prompts x G={rl.G}), {regime}", {
                               "mean response tokens": s["mean_response_tokens"],
                               "rollout (sample + reward), s": s["rollout_s"],
                               "update (log-probs, backward, AdamW), s": s["update_s"],
                               "rollout share of the step": s["rollout_share"],
                           })
    return rows
