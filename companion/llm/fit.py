"""Training one language-model experiment: SFT on the mixture, then RL, evaluated along the way.

Nothing here has its own learning rule or training loop: SFT is
:func:`~companion.objective.ntp_loss` on the response tokens, RL is the shared
:class:`~companion.train.rl.RLModule` with :class:`TextRL` as its environment (rollouts sampled
with ``generate``, the final answer's correctness as the reward), and both run in the shared
Trainer of :mod:`companion.train.shell`.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import pandas as pd
from torch.utils.data import DataLoader

from .. import mathdata
from ..config import LLMConfig
from ..objective import ntp_loss
from ..runtime import set_threads
from ..train.rl import RLModule
from ..cache import write_timing
from ..train.shell import EvalEvery, optimizer, trainer
from .data import MixtureStream, PromptBatches, problems
from .models import CausalLM, load_policy
from .text import (correctness, encode, evaluate_text, metrics, prompt_text, response_texts, sample,
                   sft_batch)


class SFTModule(L.LightningModule):
    """Next-token prediction on the responses of a short/long mixture (prompts are not scored)."""

    def __init__(self, policy: CausalLM, cfg: LLMConfig):
        super().__init__()
        self.policy, self.cfg = policy, cfg

    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        return batch  # a batch is a list of examples (text): tokenised in the step, not moved

    def training_step(self, examples, batch_idx):
        tokens, mask = sft_batch(self.policy.tokenizer, examples, self.cfg.system_prompt)
        loss = ntp_loss(self.policy, tokens.to(self.device), mask.to(self.device))
        self.log("loss", loss, prog_bar=True)
        return loss

    def configure_optimizers(self):
        c = self.cfg
        return optimizer(self.policy.parameters(), c.sft_lr, c.sft_warmup_steps, c.sft_steps)


@dataclass
class TextRL:
    """Word problems as an RL environment (the ``env.rollout`` protocol of ``train/rl.py``):
    ``G`` responses to each problem's prompt, reward 1 for a correct final answer."""

    cfg: LLMConfig

    def rollout(self, sampler: CausalLM, records: list[mathdata.Record], step: int, generator):
        # ``generate`` draws from torch's global generator: seeded by the step instead (and
        # restored), so ``generator`` is not used
        c, tok = self.cfg.rl, sampler.tokenizer
        prompts = [encode(tok, prompt_text(tok, r.question, system=self.cfg.system_prompt))
                   for r in records for _ in range(c.G)]
        answers = [r.answer for r in records for _ in range(c.G)]
        roll = sample(sampler, prompts, self.cfg.max_new_tokens, c.temperature,
                      c.seed * 1_000_003 + step)
        texts, lengths = response_texts(tok, roll.responses)
        return roll, correctness(texts, answers), metrics(texts, lengths, answers)


class Evaluator:
    """Greedy (and, if ``cfg.eval_sampled``, T=1) evaluation on the held-out problems; returns
    the rows and keeps a few greedy responses of the latest evaluation (shown in the book)."""

    def __init__(self, records: list[mathdata.Record], cfg: LLMConfig, n_samples: int = 4):
        self.records, self.cfg, self.n_samples = records, cfg, n_samples
        self.latest: list[dict] = []
        self.samples: list[dict] = []

    def __call__(self, policy: CausalLM, phase: str, step: int, responses: int = 0) -> list[dict]:
        modes = (("greedy", 0.0), ("sampled", 1.0)) if self.cfg.eval_sampled else (("greedy", 0.0),)
        rows = []
        for decoding, temperature in modes:
            m = evaluate_text(policy, self.records, self.cfg.max_new_tokens, temperature,
                              self.cfg.eval_batch_size, seed=self.cfg.seed + 12_345, keep_texts=True,
                              system=self.cfg.system_prompt)
            texts = m.pop("texts")
            rows.append({"phase": phase, "step": step, "decoding": decoding,
                         "responses": responses, **m})
            if decoding == "greedy":
                self.latest = [{"phase": phase, "question": r.question, "answer": r.answer,
                                "response": t} for r, t in zip(self.records, texts)][: self.n_samples]
        return rows

    def every(self, phase: str, every: int, responses_per_step: int = 0) -> EvalEvery:
        """The callback evaluating a phase every ``every`` steps and at its end."""
        def measure(module: L.LightningModule, step: int) -> list[dict]:
            return self(module.policy, phase, step, step * responses_per_step)

        return EvalEvery(measure, every, at_start=False)

    def keep_samples(self) -> None:
        self.samples += self.latest


def _fit_llm(cfg: LLMConfig, folder: Path, progress: bool) -> None:
    t0 = time.perf_counter()
    set_threads()
    probs = problems(cfg)
    corpus = probs.train or mathdata.worded_parity(2000, cfg.data.d, random.Random(cfg.data.seed))
    texts = [t for r in corpus for t in (r.question, r.solution)]
    longest = max(len(t.split()) for t in texts) * 2 + cfg.max_new_tokens + 16
    policy = load_policy(cfg, texts, longest)
    evaluator = Evaluator(probs.eval, cfg)
    rows = evaluator(policy, "start", 0) if cfg.eval_start else []
    evaluator.keep_samples()
    rollouts: list[dict] = []
    # where the time goes (`make bench` reads it): set-up (problems, model, any evaluation
    # before training), each phase's wall time and its evaluations, and RL's rollouts
    # (generation + reward); RL's updates are the rest of its phase
    seconds = {"setup_s": time.perf_counter() - t0}
    if cfg.sft_steps > 0:
        t = time.perf_counter()
        stream = MixtureStream(cfg, probs.train, cfg.sft_batch_size, cfg.seed)
        callback = evaluator.every("sft", cfg.sft_eval_every)
        trainer(cfg.sft_steps, [callback], grad_clip=1.0, precision=cfg.precision,
                progress=progress).fit(SFTModule(policy, cfg),
                                       DataLoader(stream, batch_size=None, num_workers=0))
        evaluator.keep_samples()
        rows += callback.rows
        seconds |= {"sft_s": time.perf_counter() - t, "sft_evaluation_s": callback.seconds}
    if cfg.rl.steps > 0:
        t = time.perf_counter()
        module = RLModule(policy, TextRL(cfg), cfg.rl)
        callback = evaluator.every("rl", cfg.rl.eval_every, cfg.rl.G * cfg.rl.prompts_per_step)
        trainer(cfg.rl.steps, [callback], grad_clip=cfg.rl.grad_clip, precision=cfg.precision,
                progress=progress).fit(
            module, DataLoader(PromptBatches(probs.train, cfg), batch_size=None, num_workers=0))
        evaluator.keep_samples()
        rows += callback.rows
        rollouts = [{**row, "phase": "rl"} for row in module.rows]
        seconds |= {"rl_s": time.perf_counter() - t, "rl_evaluation_s": callback.seconds,
                    "rollout_s": module.rollout_seconds}
    pd.DataFrame(rows + rollouts).to_csv(folder / "history.csv", index=False)
    pd.DataFrame(evaluator.samples).to_json(folder / "samples.json", orient="records", indent=1)
    (folder / "problems.json").write_text(json.dumps(
        {"train": None if probs.train is None else len(probs.train), "eval": len(probs.eval)}))
    write_timing(folder, total_s=time.perf_counter() - t0, **seconds)
