"""RL after next-token prediction: GRPO, REINFORCE and STaR as one objective.

The maths is a handful of small pure functions, composed by one LightningModule
that Lightning's ``Trainer`` runs (the GRPO-Zero / TRL split):

    rollout      sample G responses per prompt from the current policy (no grad, KV cache)
    rewards      1 if the last token before <eos> is the parity, else 0 (malformed -> 0);
                 optionally "cot" (the chain must be right too) and a length penalty
    advantages   grpo: (r - group mean) / group std; reinforce: r - batch mean;
                 star: keep the correct samples (no advantage: they are fitted by NTP)
    policy_loss  -sum_t A * log pi(token_t) over response tokens, averaged over sequences
    kl_k3        exp(q - p) - (q - p) - 1 per token, q/p the reference/policy log-probs

Log-probs are *summed* over a response, not length-normalised: normalising made RL
about 5x slower in the prototype (PAPER.md section 5), because it divides the push
towards a correct d-token chain by d. STaR reuses :func:`companion.pretrain.ntp_loss`.

``train_rl(cfg, start, step)`` is the entry point; results are cached by the full
RL config, the NTP config and the start step (kind ``"rl"``), like ``train_ntp``.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, IterableDataset

from . import cache
from .config import NTPRunConfig, RLConfig
from .evaluate import decode_metrics, evaluate
from .model import GPT
from .pretrain import (EvalEvery, NTPModule, NTPResult, ParityDataModule, ntp_loss,
                       warmup_cosine)
from .runtime import accelerator, quiet_lightning, set_threads
from .task import EOS, PAD, VOCAB_SIZE, ParityMixture
from .theory import star_long_fractions, star_step

# ---------------------------------------------------------------------------------------------
# the objective, as pure functions on tensors


@dataclass
class Rollout:
    bits: torch.Tensor  # [N, d] prompts' bits, N = prompts * G, the G copies of a prompt adjacent
    responses: torch.Tensor  # [N, R] sampled tokens after '=' (PAD after <eos>), R = max_response
    tokens: torch.Tensor  # [N, prompt_len + R] prompt and response
    loss_mask: torch.Tensor  # [N, prompt_len + R] True on response tokens up to and including <eos>


def response_mask(responses: torch.Tensor, eos_id: int = EOS) -> torch.Tensor:
    """True on every response token up to and including the first <eos> (all, if none).

    Positional, not ``!= PAD``: a policy may *sample* the pad token before <eos>, and
    that choice must be scored like any other.
    """
    is_eos = responses == eos_id
    before_or_at = (is_eos.long().cumsum(dim=1) - is_eos.long()) == 0
    return before_or_at


@torch.no_grad()
def rollout(model: GPT, task: ParityMixture, bits: torch.Tensor, G: int, temperature: float,
            generator: torch.Generator) -> Rollout:
    """Sample ``G`` responses to each prompt of ``bits`` [P, d] (KV-cached, no gradients).

    Decoding runs on the model's device (``generator`` must live there); the result is on the CPU.
    """
    bits = bits.cpu().repeat_interleave(G, dim=0)
    prompts = task.prompts(bits)
    device = next(model.parameters()).device
    resp = model.generate(prompts.to(device), task.max_response, EOS, PAD, temperature=temperature,
                          generator=generator).cpu()
    if resp.shape[1] < task.max_response:  # decoding stopped early: every row had ended
        pad = torch.full((resp.shape[0], task.max_response - resp.shape[1]), PAD, dtype=resp.dtype)
        resp = torch.cat([resp, pad], dim=1)
    tokens = torch.cat([prompts, resp], dim=1)
    mask = torch.cat([torch.zeros_like(prompts, dtype=torch.bool), response_mask(resp)], dim=1)
    return Rollout(bits=bits, responses=resp, tokens=tokens, loss_mask=mask)


def rewards(task: ParityMixture, bits: torch.Tensor, responses: torch.Tensor,
            kind: str = "end_to_end", length_penalty: float = 0.0) -> torch.Tensor:
    """Reward per response [N] (float).

    ``end_to_end``: 1 if the last token before <eos> equals the parity, else 0 (the
    paper's outcome reward; malformed responses get 0). ``cot``: as end-to-end, and a
    long response must moreover be the exact chain (a right answer reached by a wrong
    chain earns 0). ``length_penalty`` lambda subtracts lambda * (tokens / chain length):
    a full chain costs lambda, a short answer lambda / chain length.
    """
    parsed = task.parse(responses)
    r = (parsed.answer == task.parity(bits)).float()
    if kind == "cot":
        n = task.chain_len
        exact_chain = (parsed.length == n) & (responses[:, :n] == task.chain(bits)).all(dim=1)
        r = r * ((parsed.length == 1) | exact_chain).float()
    elif kind != "end_to_end":
        raise ValueError(f"invalid reward={kind!r}: must be 'end_to_end' or 'cot'.")
    if length_penalty:
        # malformed responses (no <eos>) count every token they produced
        n_tok = torch.where(parsed.length >= 0, parsed.length, responses.shape[1]).float()
        r = r - length_penalty * n_tok / task.chain_len
    return r


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


def token_logprobs(model: GPT, tokens: torch.Tensor, loss_mask: torch.Tensor) -> torch.Tensor:
    """log pi(token_t | tokens_<t) [N, T-1], 0 where ``loss_mask[:, 1:]`` is False.

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
        logp = F.log_softmax(model(tokens[rows, :end]).float(), dim=-1)
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


def rl_objective(policy: GPT, roll: Rollout, r: torch.Tensor, algorithm: str, G: int,
                 kl_coef: float = 0.0, ref: GPT | None = None) -> tuple[torch.Tensor | None, dict]:
    """The loss of one RL step and its statistics; the loss is None when nothing is learnable
    (STaR with no correct sample)."""
    stats: dict = {}
    mask = roll.loss_mask[:, 1:].float()
    if algorithm == "star":
        keep = star_keep(r)
        stats["kept"] = int(keep.sum())
        if not bool(keep.any()):
            return None, stats
        loss = ntp_loss(policy, roll.tokens[keep], roll.loss_mask[keep])
        if kl_coef > 0:
            logp = token_logprobs(policy, roll.tokens, roll.loss_mask)
    else:
        adv = advantages(r, algorithm, G)
        logp = token_logprobs(policy, roll.tokens, roll.loss_mask)
        loss = policy_loss(logp, mask, adv)
        stats["adv_abs"] = float(adv.abs().mean())
    if kl_coef > 0:
        if ref is None:
            raise ValueError("kl_coef > 0 needs the reference model `ref`.")
        with torch.no_grad():
            ref_logp = token_logprobs(ref, roll.tokens, roll.loss_mask)
        kl = kl_k3(logp, ref_logp, mask)
        loss = loss + kl_coef * kl
        stats["kl"] = float(kl.detach())
    stats["loss"] = float(loss.detach())
    return loss, stats


# ---------------------------------------------------------------------------------------------
# Lightning: prompts stream, module, evaluation


class PromptStream(IterableDataset):
    """Fresh prompt bits [P, d] every step from one seeded generator."""

    def __init__(self, task: ParityMixture, n: int, seed: int):
        self.task, self.n, self.seed = task, n, seed

    def __iter__(self):
        gen = torch.Generator().manual_seed(self.seed)
        while True:
            yield self.task.sample_bits(self.n, gen)


class RLModule(L.LightningModule):
    """Composes rollout -> rewards -> objective for one optimizer step per batch of prompts."""

    def __init__(self, policy: GPT, task: ParityMixture, cfg: RLConfig):
        super().__init__()
        self.policy, self.task, self.cfg = policy, task, cfg
        # frozen copies live in a plain dict: not submodules, so not trained, saved or counted
        self._frozen: dict[str, GPT] = {}
        if cfg.kl_coef > 0:
            self._frozen["ref"] = _frozen_copy(policy)
        if cfg.round_steps > 1:
            self._frozen["sampler"] = _frozen_copy(policy)
        self.gen: torch.Generator | None = None
        self.rows: list[dict] = []

    def on_fit_start(self) -> None:
        for m in self._frozen.values():
            m.to(self.device)
        # the rollout generator lives where sampling happens
        self.gen = torch.Generator(device=self.device).manual_seed(self.cfg.seed)

    def training_step(self, bits, batch_idx):
        c, step = self.cfg, self.global_step
        sampler = self._frozen.get("sampler", self.policy)
        if c.round_steps > 1 and step % c.round_steps == 0:
            sampler.load_state_dict(self.policy.state_dict())  # a new STaR round
        roll = rollout(sampler, self.task, bits, c.G, c.temperature, self.gen)
        r = rewards(self.task, roll.bits, roll.responses, c.reward, c.length_penalty)  # on the CPU
        on_device = Rollout(*(t.to(self.device) for t in (roll.bits, roll.responses, roll.tokens,
                                                           roll.loss_mask)))
        loss, stats = rl_objective(self.policy, on_device, r.to(self.device), c.algorithm, c.G,
                                   c.kl_coef, self._frozen.get("ref"))
        kept = star_keep(r)
        self.rows.append({
            "step": step, "responses": (step + 1) * len(r), "decoding": "rollout",
            **decode_metrics(self.task, roll.bits, roll.responses),
            "reward": float(r.mean()),
            "kept_long_frac": float((self.task.parse(roll.responses[kept]).is_long.float().mean())
                                    if bool(kept.any()) else float("nan")),
            "lr": float(self.trainer.optimizers[0].param_groups[0]["lr"]), **stats,
        })
        return loss

    def configure_optimizers(self):
        c = self.cfg
        opt = torch.optim.AdamW(self.policy.parameters(), lr=c.lr, weight_decay=0.0, betas=(0.9, 0.95))
        # cosine decay: a constant RL lr later corrupted the chain in some prototype seeds.
        # STaR in rounds: each round is a fresh fit to that round's samples, so the schedule
        # restarts every round (a decay across rounds would leave the late rounds under-fitted).
        period = c.round_steps if c.round_steps > 1 else c.steps
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: warmup_cosine(s % period, c.warmup_steps, period))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def _frozen_copy(model: GPT) -> GPT:
    m = copy.deepcopy(model).eval()
    for p in m.parameters():
        p.requires_grad_(False)
    return m


class RLEvalEvery(L.Callback):
    """Greedy and sampled evaluation at step 0, every ``eval_every`` steps and at the end."""

    def __init__(self, task: ParityMixture, start_cfg: NTPRunConfig, cfg: RLConfig):
        self.task, self.eval_cfg, self.cfg = task, start_cfg.eval, cfg
        self.per_step = cfg.prompts_per_step * cfg.G
        self.rows: list[dict] = []

    def _eval(self, trainer: L.Trainer, pl_module: RLModule) -> None:
        step = trainer.global_step
        if self.rows and self.rows[-1]["step"] == step:
            return
        for row in evaluate(pl_module.policy, self.task, self.eval_cfg):
            self.rows.append({"step": step, "responses": step * self.per_step, **row})

    def on_train_start(self, trainer, pl_module):
        self._eval(trainer, pl_module)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step % self.cfg.eval_every == 0:
            self._eval(trainer, pl_module)

    def on_train_end(self, trainer, pl_module):
        self._eval(trainer, pl_module)


# ---------------------------------------------------------------------------------------------
# the entry point and its cached result


@dataclass(frozen=True)
class RLRunConfig:
    """Everything that determines one RL run (and its cache key)."""

    rl: RLConfig
    start: NTPRunConfig  # the NTP run RL starts from
    start_step: int  # which of its checkpoints (its final step for the final model)


@dataclass
class RLResult:
    """A finished RL run: its config, the start it came from, the history and the final policy."""

    config: RLRunConfig
    folder: Path
    history: pd.DataFrame  # rows per (step, decoding): "greedy"/"sampled" evals and "rollout" stats

    @property
    def task(self) -> ParityMixture:
        return ParityMixture(self.config.start.task)

    def load_model(self) -> GPT:
        model = GPT(self.config.start.model, VOCAB_SIZE)
        model.load_state_dict(torch.load(self.folder / "model.pt", map_location="cpu",
                                         weights_only=True))
        return model.eval()

    def curve(self, decoding: str = "greedy") -> pd.DataFrame:
        return self.history[self.history.decoding == decoding].reset_index(drop=True)

    def final(self, decoding: str = "greedy") -> dict:
        return self.curve(decoding).iloc[-1].to_dict()

    def responses_to_reach(self, accuracy: float, decoding: str = "greedy") -> float:
        """Responses sampled before the first evaluation at >= ``accuracy`` (NaN if never)."""
        c = self.curve(decoding)
        hit = c[c.accuracy >= accuracy]
        return float(hit.responses.iloc[0]) if len(hit) else float("nan")


def _fit(run: RLRunConfig, start: NTPResult, folder: Path, progress: bool) -> None:
    set_threads()
    quiet_lightning()
    task = ParityMixture(run.start.task)
    policy = start.load_model(run.start_step).train()
    module = RLModule(policy, task, run.rl)
    evaluator = RLEvalEvery(task, run.start, run.rl)
    stream = PromptStream(task, run.rl.prompts_per_step, run.rl.seed + 1)
    trainer = L.Trainer(
        # float32 and one device even when the NTP start used bf16 / DDP: sampling and the
        # policy-gradient log-probs in bf16 are untested here, and an RL run is a small share of
        # the paper profile's cost (README, Performance); a DDP rollout would need sharded prompts
        max_steps=run.rl.steps, accelerator=accelerator(), devices=1, precision="32-true",
        logger=False, callbacks=[evaluator], gradient_clip_val=run.rl.grad_clip or None,
        enable_checkpointing=False, enable_progress_bar=progress, enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(module, train_dataloaders=DataLoader(stream, batch_size=None, num_workers=0))
    torch.save(policy.state_dict(), folder / "model.pt")
    hist = pd.concat([pd.DataFrame(evaluator.rows), pd.DataFrame(module.rows)], ignore_index=True)
    hist.to_csv(folder / "history.csv", index=False)


def train_rl(cfg: RLConfig, start: NTPResult, step: int | None = None,
             progress: bool = False) -> RLResult:
    """RL from the NTP run ``start`` (its final model, or its checkpoint at ``step``); cached."""
    start_step = start.config.train.steps if step is None else int(step)
    if start_step != start.config.train.steps and start_step not in start.checkpoint_steps:
        raise ValueError(f"invalid step={step}: checkpoints exist at {start.checkpoint_steps} "
                         f"and the final step {start.config.train.steps}.")
    run = RLRunConfig(rl=cfg, start=start.config, start_step=start_step)
    hit = cache.lookup("rl", run)
    if hit is None:
        writer = cache.Writer("rl", run)
        with writer as tmp:
            _fit(run, start, tmp, progress)
        hit = writer.path
    return RLResult(config=run, folder=hit, history=pd.read_csv(hit / "history.csv"))


def summarize(results: dict[str, RLResult], accuracy: float = 0.95) -> pd.DataFrame:
    """One row per run: responses to reach ``accuracy``, final greedy accuracy and length."""
    rows = []
    for name, res in results.items():
        f = res.final("greedy")
        rows.append({"run": name, "algorithm": res.config.rl.algorithm, "seed": res.config.rl.seed,
                     f"responses to {accuracy:g}": res.responses_to_reach(accuracy),
                     "final greedy accuracy": f["accuracy"], "final mean length": f["mean_len"],
                     "responses": res.curve("greedy").responses.max()})
    return pd.DataFrame(rows)


def histories(results: dict[str, RLResult], **labels) -> pd.DataFrame:
    """All runs' histories stacked, with a ``run`` column (and any constant ``labels``)."""
    frames = [r.history.assign(run=name, algorithm=r.config.rl.algorithm, seed=r.config.rl.seed,
                               start_step=r.config.start_step, **labels)
              for name, r in results.items()]
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------------------------
# the matched-compute baseline: keep doing next-token prediction instead of RL


@dataclass(frozen=True)
class ContinueNTPConfig:
    start: NTPRunConfig
    start_step: int
    steps: int  # further NTP steps on fresh samples of D(p_cot)


def continue_ntp(start: NTPResult, steps: int, step: int | None = None) -> pd.DataFrame:
    """Continue next-token prediction from ``start`` for ``steps`` more steps (cached).

    The same Lightning pieces as :func:`companion.pretrain.train_ntp` (module, data, evaluation),
    a fresh warm-up/cosine schedule of the original learning rate and a new data stream.
    Returns the evaluation history with ``samples`` counted from the start of the continuation.
    """
    start_step = start.config.train.steps if step is None else int(step)
    key = ContinueNTPConfig(start=start.config, start_step=start_step, steps=int(steps))
    hit = cache.lookup("ntp-continue", key)
    if hit is None:
        writer = cache.Writer("ntp-continue", key)
        with writer as tmp:
            set_threads()
            quiet_lightning()
            train = dataclasses.replace(start.config.train, steps=int(steps), checkpoint_steps=(),
                                        eval_every=max(1, min(start.config.train.eval_every, steps)))
            cfg = dataclasses.replace(start.config, train=train)
            task = ParityMixture(cfg.task)
            model = start.load_model(start_step).train()
            evaluator = EvalEvery(task, cfg)
            trainer = L.Trainer(
                # the start run's precision (bf16 at paper scale); one device: a short continuation
                max_steps=int(steps), accelerator=accelerator(), devices=1,
                precision=train.precision, logger=False,
                callbacks=[evaluator], gradient_clip_val=train.grad_clip or None,
                enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                num_sanity_val_steps=0)
            # a data seed the original run never used: fresh samples, not a replay
            data = ParityDataModule(task, train.batch_size, train.seed + 7919)
            trainer.fit(NTPModule(model, train), datamodule=data)
            pd.DataFrame(evaluator.rows).to_csv(tmp / "history.csv", index=False)
        hit = writer.path
    return pd.read_csv(hit / "history.csv")


# ---------------------------------------------------------------------------------------------
# the runs a profile describes, and STaR's rounds against the closed form


def start_config(prof, *, p_cot: float | None = None, steps: int | None = None,
                 leap: int | None = None) -> NTPRunConfig:
    """The NTP run RL starts from under profile ``prof`` (the headline, or a longer copy of it)."""
    from .profiles import with_

    steps = steps or prof.rl_start_steps or None
    return with_(prof.headline, p_cot=p_cot, steps=steps, leap=leap)


def rare_start_config(prof) -> NTPRunConfig:
    """Chapter 3's start with the rarest long data, ``prof.rl_rare_p_cot``."""
    return start_config(prof, p_cot=prof.rl_rare_p_cot, steps=prof.rl_rare_steps or None)


def leap_config(prof, leap: int = 2) -> NTPRunConfig:
    """Chapter 4's partial-chain NTP run: the headline's p_cot at ``prof.rl_leap_d`` (0 = the
    headline's d) for ``prof.rl_leap_steps`` steps (0 = the headline's); ``leap=1`` is the
    full-chain run it is compared with (at the sweep's d, a run of chapter 2's sweep)."""
    from .profiles import with_

    return with_(prof.headline, d=prof.rl_leap_d or None, leap=leap,
                 steps=prof.rl_leap_steps or None)


def algorithm_configs(prof) -> dict[str, RLConfig]:
    """GRPO over ``prof.rl_seeds``, REINFORCE and STaR over ``prof.rl_other_seeds``, all with
    ``prof.rl`` otherwise; keyed "<algorithm> seed <seed>"."""
    seeds = {"grpo": prof.rl_seeds, "reinforce": prof.rl_other_seeds, "star": prof.rl_other_seeds}
    return {f"{a} seed {s}": dataclasses.replace(prof.rl, algorithm=a, seed=s)
            for a, by_seed in seeds.items() for s in by_seed}


def compare_algorithms(prof, start: NTPResult) -> dict[str, RLResult]:
    """The runs of :func:`algorithm_configs`, all from ``start``."""
    return {name: train_rl(cfg, start) for name, cfg in algorithm_configs(prof).items()}


def hot_star_configs(prof) -> dict[str, RLConfig]:
    """STaR at ``prof.rl_hot_temperature`` with the end-to-end and with the CoT reward."""
    hot = dataclasses.replace(prof.rl, algorithm="star", temperature=prof.rl_hot_temperature)
    return {f"T={hot.temperature:g}, {r} reward": dataclasses.replace(hot, reward=r)
            for r in ("end_to_end", "cot")}


def penalty_configs(prof) -> dict[str, RLConfig]:
    """GRPO without and with each of ``prof.rl_length_penalties``."""
    return {f"lambda = {lp:g}": dataclasses.replace(prof.rl, length_penalty=lp)
            for lp in (0.0, *prof.rl_length_penalties)}


def baseline_steps(prof, start_cfg: NTPRunConfig) -> int:
    """NTP steps of the matched-compute baseline: ``prof.rl_baseline_factor`` fresh sequences per
    response the headline RL run samples."""
    responses = prof.rl.steps * prof.rl.prompts_per_step * prof.rl.G
    return -(-prof.rl_baseline_factor * responses // start_cfg.train.batch_size)


def star_round_table(res: RLResult) -> pd.DataFrame:
    """Per STaR round: the sampled (T=1) long fraction measured at the round's end, beside the
    closed form p -> 2p/(1+p) iterated from the measured start (``predicted``) and applied to the
    previous round's measurement (``one_step``); ``kept`` is the long fraction among the samples
    the round actually kept."""
    k = res.config.rl.round_steps
    s = res.curve("sampled").set_index("step")
    rounds = [r for r in range(res.config.rl.steps // k + 1) if r * k in s.index]
    measured = [float(s.loc[r * k, "long_frac"]) for r in rounds]
    predicted = star_long_fractions(measured[0], len(rounds) - 1)
    ro = res.curve("rollout")
    rows = []
    for i, r in enumerate(rounds):
        kept = ro[(ro.step >= (r - 1) * k) & (ro.step < r * k)].kept_long_frac.mean() if r else np.nan
        rows.append({"round": r, "measured": measured[i], "predicted": predicted[i],
                     "one_step": star_step(measured[i - 1]) if i else measured[0], "kept": kept})
    return pd.DataFrame(rows)
