"""RL after next-token prediction: one LightningModule for every policy and task.

One step: ``env.rollout`` samples ``G`` responses to each prompt of the batch from the sampler
(the policy itself, or STaR's frozen copy within a round) and scores them; the objective of
``cfg.algorithm`` (``companion/objective.py``) turns them into a loss. The *environment* is what
differs between the parity task (:class:`TaskRL`, our GPT) and word problems (chapter 6's Hugging
Face models, ``companion/llm/``): prompts, decoding and reward.

``train_rl(run)`` is the parity entry point; results are cached by the full RL config, the NTP
config and the start step (kind ``"rl"``), like ``train_ntp``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import lightning as L
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader

from .. import cache
from ..config import NTPRunConfig, RLConfig, RLRunConfig
from ..evaluate import decode_metrics, evaluate
from ..model import GPT
from ..objective import Rollout, response_mask, rl_objective, star_keep
from ..parallel import Run
from ..tasks import Task, make_task
from ..verdicts import SOLVED
from .data import PromptStream
from .ntp import ntp_run, start_of
from .shell import EvalEvery, frozen_copy, optimizer, trainer


class Environment(Protocol):
    """The task side of RL: sample responses to a batch of prompts and score them."""

    def rollout(self, sampler: nn.Module, prompts: Any, step: int,
                generator: torch.Generator) -> tuple[Rollout, torch.Tensor, dict]:
        """(rollout on the CPU, reward per response [N], statistics for the step's row)"""


class RLModule(L.LightningModule):
    """Composes env.rollout -> objective for one optimizer step per batch of prompts."""

    def __init__(self, policy: nn.Module, env: Environment, cfg: RLConfig):
        super().__init__()
        self.policy, self.env, self.cfg = policy, env, cfg
        # frozen copies live in a plain dict: not submodules, so not trained, saved or counted
        self._frozen: dict[str, nn.Module] = {}
        if cfg.kl_coef > 0:
            self._frozen["ref"] = frozen_copy(policy)
        if cfg.round_steps > 1:
            self._frozen["sampler"] = frozen_copy(policy)
        self.gen: torch.Generator | None = None
        self.rows: list[dict] = []
        self.rollout_seconds = 0.0  # wall time in env.rollout, this process (`make bench`)

    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        return batch  # prompts stay where the environment made them; rollouts are moved below

    def on_fit_start(self) -> None:
        for m in self._frozen.values():
            m.to(self.device)
        # the rollout generator lives where sampling happens
        self.gen = torch.Generator(device=self.device).manual_seed(self.cfg.seed)

    def training_step(self, prompts, batch_idx):
        c, step = self.cfg, self.global_step
        sampler = self._frozen.get("sampler", self.policy)
        if c.round_steps > 1 and step % c.round_steps == 0:
            sampler.load_state_dict(self.policy.state_dict())  # a new STaR round
        t0 = time.perf_counter()
        roll, r, stats = self.env.rollout(sampler, prompts, step, self.gen)
        self.rollout_seconds += time.perf_counter() - t0
        on_device = Rollout(*(t.to(self.device) for t in (roll.bits, roll.responses, roll.tokens,
                                                           roll.loss_mask)))
        loss, loss_stats = rl_objective(self.policy, on_device, r.to(self.device), c.algorithm, c.G,
                                        c.kl_coef, self._frozen.get("ref"), c.temperature)
        # step: the updates the sampled policy had had (as in the evaluation rows)
        self.rows.append({"step": step, "responses": (step + 1) * len(r), "decoding": "rollout",
                          **stats, "reward": float(r.mean()),
                          "lr": float(self.trainer.optimizers[0].param_groups[0]["lr"]),
                          **loss_stats})
        return loss

    def configure_optimizers(self):
        c = self.cfg
        # cosine decay: a constant RL lr later corrupted the chain in some seeds. STaR in rounds:
        # each round is a fresh fit to that round's samples, so the schedule restarts every round
        # (a decay across rounds would leave the late rounds under-fitted).
        period = c.round_steps if c.round_steps > 1 else c.steps
        return optimizer(self.policy.parameters(), c.lr, c.warmup_steps, period)


@torch.no_grad()
def rollout(model: GPT, task: Task, bits: torch.Tensor, G: int, temperature: float,
            generator: torch.Generator) -> Rollout:
    """Sample ``G`` responses to each prompt of ``bits`` [P, d] (KV-cached, no gradients).

    Decoding runs on the model's device (``generator`` must live there); the result is on the CPU.
    """
    bits = bits.cpu().repeat_interleave(G, dim=0)
    prompts = task.prompts(bits)
    device = next(model.parameters()).device
    resp = model.generate(prompts.to(device), task.max_response, task.eos, task.pad,
                          temperature=temperature, generator=generator).cpu()
    if resp.shape[1] < task.max_response:  # decoding stopped early: every row had ended
        pad = torch.full((resp.shape[0], task.max_response - resp.shape[1]), task.pad,
                         dtype=resp.dtype)
        resp = torch.cat([resp, pad], dim=1)
    tokens = torch.cat([prompts, resp], dim=1)
    mask = torch.cat([torch.zeros_like(prompts, dtype=torch.bool), response_mask(resp, task.eos)], dim=1)
    return Rollout(bits=bits, responses=resp, tokens=tokens, loss_mask=mask)


@dataclass
class TaskRL:
    """A GPT task (parity, multiplication) as an RL environment: the reward is ``task.reward``."""

    task: Task
    cfg: RLConfig

    def rollout(self, sampler, bits, step, generator):
        c = self.cfg
        roll = rollout(sampler, self.task, bits, c.G, c.temperature, generator)
        r = self.task.reward(roll.bits, roll.responses, c.reward, c.length_penalty)
        kept = star_keep(r)
        long_kept = (float(self.task.parse(roll.responses[kept]).is_long.float().mean())
                     if bool(kept.any()) else float("nan"))
        return roll, r, {**decode_metrics(self.task, roll.bits, roll.responses),
                         "kept_long_frac": long_kept}


@dataclass
class RLResult:
    """A finished RL run: its config, the start it came from, the history and the final policy."""

    config: RLRunConfig
    folder: Path
    history: pd.DataFrame  # rows per (step, decoding): "greedy"/"sampled" evals and "rollout" stats

    @property
    def task(self) -> Task:
        return make_task(self.config.start.task)

    def load_model(self) -> GPT:
        model = GPT(self.config.start.model, self.task.vocab_size)
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


def _fit_rl(run: RLRunConfig, folder: Path, progress: bool) -> None:
    t0 = time.perf_counter()
    task = make_task(run.start.task)
    policy = start_of(run.start).load_model(run.start_step).train()
    module = RLModule(policy, TaskRL(task, run.rl), run.rl)
    per_step = run.rl.prompts_per_step * run.rl.G

    def measure(m: RLModule, step: int) -> list[dict]:
        return [{"step": step, "responses": step * per_step, **row}
                for row in evaluate(m.policy, task, run.start.eval)]

    evaluator = EvalEvery(measure, run.rl.eval_every)
    # float32 and one device even when the NTP start used bf16 / DDP: sampling and the
    # policy-gradient log-probs in bf16 are untested here, and an RL run is a small share of
    # the paper profile's cost (README); a DDP rollout would need sharded prompts
    fit = trainer(run.rl.steps, [evaluator], grad_clip=run.rl.grad_clip, progress=progress)
    stream = PromptStream(task, run.rl.prompts_per_step, run.rl.seed + 1)
    fit.fit(module, train_dataloaders=DataLoader(stream, batch_size=None, num_workers=0))
    torch.save(policy.state_dict(), folder / "model.pt")
    hist = pd.concat([pd.DataFrame(evaluator.rows), pd.DataFrame(module.rows)], ignore_index=True)
    hist.to_csv(folder / "history.csv", index=False)
    cache.write_timing(folder, total_s=time.perf_counter() - t0, evaluation_s=evaluator.seconds,
                       rollout_s=module.rollout_seconds)


def rl_run(cfg: RLConfig, start: NTPRunConfig, step: int | None = None) -> RLRunConfig:
    """RL with ``cfg`` from the NTP run ``start`` (its final model, or its checkpoint ``step``)."""
    return RLRunConfig(rl=cfg, start=start, start_step=start.train.steps if step is None else int(step))


def train_rl(run: RLRunConfig, progress: bool = False) -> RLResult:
    """The RL run ``run`` (its NTP start is trained first if it is not cached); cached."""
    hit = cache.computed("rl", run, lambda folder: _fit_rl(run, folder, progress))
    return RLResult(config=run, folder=hit, history=pd.read_csv(hit / "history.csv"))


def rl_task(run: RLRunConfig) -> Run:
    """``train_rl(run)`` as a :class:`~companion.parallel.Run`, after its NTP start."""
    return Run("rl", run, train_rl, (run,), needs=(ntp_run(run.start),))


def summarize(results: dict[str, RLResult], accuracy: float = SOLVED) -> pd.DataFrame:
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
