"""The training shell every run shares: one Trainer factory, one optimizer and schedule, one
evaluation callback. NTP, RL and the language-model path differ only in their LightningModule."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable

import lightning as L
import torch
from torch import nn

from ..objective import warmup_cosine
from ..runtime import accelerator, quiet_lightning, set_threads


def trainer(max_steps: int, callbacks: list[L.Callback], *, grad_clip: float = 0.0,
            precision: str = "32-true", devices: int = 1, strategy: str = "auto",
            progress: bool = False, checkpointing: bool = False) -> L.Trainer:
    """A Lightning Trainer for ``max_steps`` optimizer steps, quiet, on this machine's accelerator.

    No logger (every run records its own history), no sanity or validation loops (evaluation is
    a callback), one thread per process (``runtime.set_threads``).
    """
    set_threads()
    quiet_lightning()
    return L.Trainer(
        max_steps=max_steps, accelerator=accelerator(), devices=devices, strategy=strategy,
        precision=precision, logger=False, callbacks=callbacks,
        gradient_clip_val=grad_clip or None, enable_checkpointing=checkpointing,
        enable_progress_bar=progress, enable_model_summary=False, num_sanity_val_steps=0)


def optimizer(params: Iterable[torch.nn.Parameter], lr: float, warmup: int, period: int,
              floor: float = 0.1, weight_decay: float = 0.0) -> dict:
    """AdamW (betas 0.9/0.95) with linear warm-up then cosine decay to ``lr * floor`` over
    ``period`` steps; the schedule restarts every ``period`` steps (STaR's rounds)."""
    params = [p for p in params if p.requires_grad]  # LoRA: the adapters only
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, betas=(0.9, 0.95))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: warmup_cosine(s % period, warmup, period, floor))
    return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def frozen_copy(model: nn.Module) -> nn.Module:
    """A copy that is never trained (a reference policy, or STaR's sampler within a round)."""
    m = copy.deepcopy(model).eval()
    for p in m.parameters():
        p.requires_grad_(False)
    return m


class EvalEvery(L.Callback):
    """Measure the model every ``every`` optimizer steps, at the end, and (``at_start``) at step 0.

    ``measure(module, step)`` returns rows (dicts); they are kept in ``rows``, each step once,
    and travel in Lightning's checkpoints so a resumed run keeps its history. Under DDP the
    replicas are identical: only the first process measures.
    """

    def __init__(self, measure: Callable[[L.LightningModule, int], list[dict]], every: int,
                 at_start: bool = True):
        self.measure, self.every, self.at_start = measure, every, at_start
        self.rows: list[dict] = []
        self._last: int | None = None
        self.seconds = 0.0  # wall time spent measuring in this process (`make bench` reads it)

    def _eval(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        step = trainer.global_step
        if self._last == step or not trainer.is_global_zero:
            return
        self._last = step
        t0 = time.perf_counter()
        self.rows += self.measure(pl_module, step)
        self.seconds += time.perf_counter() - t0

    def on_train_start(self, trainer, pl_module):
        if self.at_start:
            self._eval(trainer, pl_module)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step % self.every == 0:
            self._eval(trainer, pl_module)

    def on_train_end(self, trainer, pl_module):
        self._eval(trainer, pl_module)

    def state_dict(self) -> dict:
        return {"rows": [dict(r) for r in self.rows], "last": self._last}

    def load_state_dict(self, state_dict: dict) -> None:
        self.rows = [dict(r) for r in state_dict["rows"]]
        self._last = state_dict.get("last")


