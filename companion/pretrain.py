"""Next-token prediction (NTP) on the online parity mixture, run by Lightning's Trainer.

``train_ntp(cfg)`` is the one entry point: it returns a cached run for this exact
config if there is one, else trains, evaluates every ``eval_every`` steps, keeps the
weights at ``checkpoint_steps`` and stores everything atomically in the cache.
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import lightning as L
import pandas as pd
import torch
import torch.nn.functional as F
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader, IterableDataset

from . import cache
from .config import NTPRunConfig, PretrainConfig
from .evaluate import evaluate
from .model import GPT
from .runtime import accelerator, quiet_lightning, set_threads
from .task import VOCAB_SIZE, ParityMixture


def ntp_loss(model: GPT, tokens: torch.Tensor, loss_mask: torch.Tensor,
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


class ParityStream(IterableDataset):
    """An endless stream of fresh batches of D(p_cot) from one seeded generator."""

    def __init__(self, task: ParityMixture, batch_size: int, seed: int):
        self.task, self.batch_size, self.seed = task, batch_size, seed

    def __iter__(self):
        gen = torch.Generator().manual_seed(self.seed)
        while True:
            b = self.task.sample(self.batch_size, gen)
            yield b.tokens, b.loss_mask


class ParityDataModule(L.LightningDataModule):
    def __init__(self, task: ParityMixture, batch_size: int, seed: int):
        super().__init__()
        self.stream = ParityStream(task, batch_size, seed)

    def train_dataloader(self) -> DataLoader:
        # batches are made whole by the stream; workers would only add start-up time
        return DataLoader(self.stream, batch_size=None, num_workers=0)


def warmup_cosine(step: int, warmup: int, total: int, floor: float = 0.1) -> float:
    """Learning-rate multiplier: linear warm-up, then cosine decay to ``floor``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


class NTPModule(L.LightningModule):
    """Wraps a :class:`GPT` for next-token-prediction training (the model knows nothing of this)."""

    def __init__(self, model: GPT, train_cfg: PretrainConfig):
        super().__init__()
        self.model = model
        self.train_cfg = train_cfg

    def training_step(self, batch, batch_idx):
        tokens, loss_mask = batch
        loss = ntp_loss(self.model, tokens, loss_mask)
        self.log("train_loss", loss, on_step=True, prog_bar=True)
        return loss

    def configure_optimizers(self):
        c = self.train_cfg
        opt = torch.optim.AdamW(self.model.parameters(), lr=c.lr, weight_decay=c.weight_decay,
                                betas=(0.9, 0.95))
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: warmup_cosine(s, c.warmup_steps, c.steps, c.lr_floor))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


class EvalEvery(L.Callback):
    """Evaluate greedy and sampled decoding every N steps (and at step 0 and the end)."""

    def __init__(self, task: ParityMixture, cfg: NTPRunConfig):
        self.task, self.cfg = task, cfg
        self.rows: list[dict] = []

    def _eval(self, trainer: L.Trainer, pl_module: NTPModule) -> None:
        step = trainer.global_step
        if self.rows and self.rows[-1]["step"] == step:
            return
        for row in evaluate(pl_module.model, self.task, self.cfg.eval):
            row = {"step": step, "samples": step * self.cfg.train.batch_size, **row}
            self.rows.append(row)
            if trainer.logger is not None:
                trainer.logger.log_metrics(
                    {f"{row['decoding']}_{k}": v for k, v in row.items()
                     if k not in ("decoding", "step", "samples")}, step=step)

    def on_train_start(self, trainer, pl_module):
        self._eval(trainer, pl_module)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step % self.cfg.train.eval_every == 0:
            self._eval(trainer, pl_module)

    def on_train_end(self, trainer, pl_module):
        self._eval(trainer, pl_module)


class SaveAtSteps(L.Callback):
    """Keep the model weights at the listed steps (RL starts from these)."""

    def __init__(self, steps: tuple[int, ...], folder: Path):
        self.steps, self.folder = set(steps), folder

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step in self.steps:
            self.folder.mkdir(parents=True, exist_ok=True)
            torch.save(pl_module.model.state_dict(), self.folder / f"step={trainer.global_step}.pt")


def build_model(cfg: NTPRunConfig) -> GPT:
    """A freshly initialised model, seeded by the run's seed (the global RNG is left untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.train.seed)
        return GPT(cfg.model, VOCAB_SIZE)


@dataclass
class NTPResult:
    """A finished NTP run: final model, evaluation history and intermediate checkpoints."""

    config: NTPRunConfig
    folder: Path
    history: pd.DataFrame  # one row per (step, decoding): accuracy, long_frac, lengths, ...

    @property
    def task(self) -> ParityMixture:
        return ParityMixture(self.config.task)

    @property
    def checkpoint_steps(self) -> list[int]:
        return sorted(int(p.stem.split("=")[1]) for p in (self.folder / "checkpoints").glob("step=*.pt"))

    def load_model(self, step: int | None = None) -> GPT:
        """The final model, or the one saved at ``step`` (one of ``checkpoint_steps``)."""
        path = self.folder / "model.pt"
        if step is not None and step != self.config.train.steps:
            path = self.folder / "checkpoints" / f"step={step}.pt"
            if not path.is_file():
                raise ValueError(f"invalid step={step}: checkpoints exist at {self.checkpoint_steps} "
                                 f"and the final step {self.config.train.steps}.")
        model = GPT(self.config.model, VOCAB_SIZE)
        try:
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        except (RuntimeError, OSError, EOFError) as e:
            raise RuntimeError(f"the cached run {self.folder} is unreadable ({e}); remove it with "
                               "`python -m companion cache clear` and rerun.") from e
        return model.eval()

    def final(self, decoding: str = "greedy") -> dict:
        """The last evaluation row for ``decoding`` as a dict."""
        h = self.history[self.history.decoding == decoding]
        return h.iloc[-1].to_dict()


def _fit(cfg: NTPRunConfig, folder: Path, progress: bool) -> None:
    set_threads()
    quiet_lightning()
    task = ParityMixture(cfg.task)
    model = build_model(cfg)
    module = NTPModule(model, cfg.train)
    evaluator = EvalEvery(task, cfg)
    trainer = L.Trainer(
        max_steps=cfg.train.steps, accelerator=accelerator(), devices=1,
        logger=CSVLogger(folder, name="logs", version=""), log_every_n_steps=50,
        callbacks=[evaluator, SaveAtSteps(cfg.train.checkpoint_steps, folder / "checkpoints")],
        gradient_clip_val=cfg.train.grad_clip or None, enable_checkpointing=False,
        enable_progress_bar=progress, enable_model_summary=False, num_sanity_val_steps=0,
        deterministic=False,
    )
    trainer.fit(module, datamodule=ParityDataModule(task, cfg.train.batch_size, cfg.train.seed + 1))
    torch.save(model.state_dict(), folder / "model.pt")
    pd.DataFrame(evaluator.rows).to_csv(folder / "history.csv", index=False)


def train_ntp(cfg: NTPRunConfig, progress: bool = False) -> NTPResult:
    """Train (or fetch from the cache) the NTP run described by ``cfg``."""
    hit = cache.lookup("ntp", cfg)
    if hit is None:
        writer = cache.Writer("ntp", cfg)
        with writer as tmp:
            _fit(cfg, tmp, progress)
        hit = writer.path
    return NTPResult(config=cfg, folder=hit, history=pd.read_csv(hit / "history.csv"))


def _train_in_worker(cfg: NTPRunConfig) -> str:
    return str(train_ntp(cfg).folder)


def train_ntp_many(cfgs: list[NTPRunConfig], workers: int = 1) -> list[NTPResult]:
    """Train several independent runs, ``workers`` processes at a time (1 torch thread each).

    Results come back through the cache, in the order of ``cfgs``.
    """
    todo = [c for c in dict.fromkeys(cfgs) if cache.lookup("ntp", c) is None]
    if workers > 1 and len(todo) > 1 and cache.cache_enabled():
        with ProcessPoolExecutor(max_workers=min(workers, len(todo)),
                                 mp_context=get_context("spawn")) as pool:
            list(pool.map(_train_in_worker, todo))
    return [train_ntp(c) for c in cfgs]


def results_frame(results: list[NTPResult], final_only: bool = True) -> pd.DataFrame:
    """Tidy rows of several runs (final evaluation, or the whole history) with their settings."""
    frames = []
    for r in results:
        h = r.history
        if final_only:
            h = h[h.step == h.step.max()]
        frames.append(h.assign(d=r.config.task.d, p_cot=r.config.task.p_cot,
                               leap=r.config.task.leap, seed=r.config.train.seed))
    return pd.concat(frames, ignore_index=True)
