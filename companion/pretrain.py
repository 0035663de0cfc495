"""Next-token prediction (NTP) on the online parity mixture, run by Lightning's Trainer.

``train_ntp(cfg)`` is the one entry point: it returns a cached run for this exact
config if there is one, else trains, evaluates every ``eval_every`` steps, keeps the
weights at ``checkpoint_steps`` and stores everything atomically in the cache. An
unfinished run checkpoints with Lightning into ``<cache>/.partial-ntp-<key>/`` and
resumes from there when rerun (data stream, evaluation history and RNG included).
"""

from __future__ import annotations

import math
import shutil
import signal
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import pandas as pd
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader, IterableDataset

from . import cache
from .config import NTPRunConfig, PretrainConfig
from .evaluate import evaluate
from .model import GPT
from .parallel import Run, compute
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
    """An endless stream of fresh batches of D(p_cot) from one seeded generator.

    To resume mid-run, the stream remembers the generator state *before* each of its
    last few batches: Lightning fetches a batch ahead of the one it trains on, so the
    generator's current state is already past the batch a checkpoint should resume at.
    """

    KEEP = 8  # generator states remembered (the prefetch needs only 1 or 2)

    def __init__(self, task: ParityMixture, batch_size: int, seed: int, rank: int = 0,
                 world_size: int = 1):
        self.task, self.batch_size, self.seed = task, batch_size, seed
        # Data-parallel: every process draws the same *global* batch from the same generator and
        # keeps its own contiguous slice of it. Drawing a few hundred bit strings is negligible
        # next to a training step, and in exchange N processes see exactly the samples one
        # process would, and the resume state (generator before batch i) is the same for any N.
        self.rank, self.world_size = rank, world_size
        self.start: tuple[int, torch.Tensor] | None = None  # (batch index, generator state) to resume at
        self._before: dict[int, torch.Tensor] = {}  # batch index -> generator state before it

    def __iter__(self):
        gen = torch.Generator().manual_seed(self.seed)
        index = 0
        if self.start is not None:
            index, state = self.start
            gen.set_state(state)
        self._before = {index: gen.get_state()}
        while True:
            b = self.task.sample(self.batch_size, gen)
            index += 1
            # recorded before yielding: the next batch may never be requested (end of training)
            self._before[index] = gen.get_state()
            self._before.pop(index - self.KEEP, None)
            # the global number of loss targets, so that every shard can normalise its summed
            # loss by it: DDP then averages gradients to exactly the single-process mean loss
            n_targets = b.loss_mask[:, 1:].sum()
            rows = slice(self.rank * self.per_rank, (self.rank + 1) * self.per_rank)
            yield b.tokens[rows], b.loss_mask[rows], n_targets

    @property
    def per_rank(self) -> int:
        if self.batch_size % self.world_size:
            raise ValueError(f"invalid batch_size={self.batch_size}: must be divisible by the "
                             f"number of processes ({self.world_size}).")
        return self.batch_size // self.world_size

    def state_before(self, index: int) -> torch.Tensor:
        """The generator state from which batch ``index`` (0-based) is drawn."""
        if index in self._before:
            return self._before[index]
        if not self._before and self.start is not None and self.start[0] == index:
            return self.start[1]  # resumed at the last step: nothing drawn in this process
        raise RuntimeError(f"the data stream cannot resume at batch {index}: it remembers only "
                           f"batches {sorted(self._before)}")


class ParityDataModule(L.LightningDataModule):
    def __init__(self, task: ParityMixture, batch_size: int, seed: int):
        super().__init__()
        self.stream = ParityStream(task, batch_size, seed)

    def train_dataloader(self) -> DataLoader:
        # under DDP each process keeps its own shard of the global batch (see ParityStream)
        self.stream.rank, self.stream.world_size = self.trainer.global_rank, self.trainer.world_size
        # batches are made whole by the stream; workers would only add start-up time
        return DataLoader(self.stream, batch_size=None, num_workers=0)

    # Lightning stores these in its checkpoints: one batch per optimizer step, so after
    # ``global_step`` steps the next batch to train on is batch number ``global_step``.
    def state_dict(self) -> dict:
        step = self.trainer.global_step
        return {"next_batch": step, "generator": self.stream.state_before(step)}

    def load_state_dict(self, state: dict) -> None:
        self.stream.start = (int(state["next_batch"]), state["generator"])


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
        tokens, loss_mask, n_targets = batch
        # mean over the *global* batch's targets: this process's share of the sum, scaled by
        # the number of processes because DDP averages (not sums) their gradients
        scale = self.trainer.world_size if self._trainer is not None else 1
        loss = ntp_loss(self.model, tokens, loss_mask, reduction="sum") * scale / n_targets.clamp(min=1)
        self.log("train_loss", loss, on_step=True, prog_bar=True)
        return loss

    # Lightning checkpoints the weights, optimizer and schedule but not the global torch RNG;
    # keep it too, so that a resumed run with dropout draws the same masks as an unbroken one.
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["torch_rng_state"] = torch.get_rng_state()
        if self.trainer.logger is not None:
            self.trainer.logger.save()  # flush the CSV log too, so a killed run keeps its rows

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.resumed_at = checkpoint["global_step"]
        if "torch_rng_state" in checkpoint:
            torch.set_rng_state(checkpoint["torch_rng_state"])

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
        if not trainer.is_global_zero:
            return  # under DDP the replicas are identical: one process evaluates and records
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

    # the rows so far travel in Lightning's checkpoint, so a resumed run keeps its history
    def state_dict(self) -> dict:
        return {"rows": [dict(r) for r in self.rows]}

    def load_state_dict(self, state_dict: dict) -> None:
        self.rows = [dict(r) for r in state_dict["rows"]]


class SaveAtSteps(L.Callback):
    """Keep the model weights at the listed steps (RL starts from these)."""

    def __init__(self, steps: tuple[int, ...], folder: Path):
        self.steps, self.folder = set(steps), folder

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step in self.steps and trainer.is_global_zero:  # replicas are identical
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
            raise cache.unreadable(self.folder, f"{path.relative_to(self.folder)}: {e}") from e
        return model.eval()

    def final(self, decoding: str = "greedy") -> dict:
        """The last evaluation row for ``decoding`` as a dict."""
        h = self.history[self.history.decoding == decoding]
        return h.iloc[-1].to_dict()


RESUME = "resume"  # subfolder of a partial run: Lightning's last.ckpt, to resume from


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a training run; the message says what was kept and how to resume.

    A KeyboardInterrupt, so that code catching ``Exception`` still lets it through.
    """


def _resumable(ckpt: Path) -> bool:
    """Whether Lightning's checkpoint file is complete (torch.save writes a zip with CRCs)."""
    try:
        with zipfile.ZipFile(ckpt) as z:
            return z.testzip() is None
    except (OSError, zipfile.BadZipFile):
        return False


def _fit(cfg: NTPRunConfig, folder: Path, progress: bool) -> None:
    """Train into ``folder``, checkpointing every ``eval_every`` steps into ``folder/resume``
    and continuing from the checkpoint found there, if any (a partial run being resumed)."""
    set_threads()
    quiet_lightning()
    task = ParityMixture(cfg.task)
    model = build_model(cfg)
    module = NTPModule(model, cfg.train)
    evaluator = EvalEvery(task, cfg)
    callbacks: list[L.Callback] = [evaluator, SaveAtSteps(cfg.train.checkpoint_steps,
                                                          folder / "checkpoints")]
    last = folder / RESUME / "last.ckpt"
    every = cfg.train.eval_every  # checkpoint where we evaluate: a resumed history has no gaps
    # save_top_k=0 + save_last: only last.ckpt is kept, overwritten (atomically) each time
    callbacks.append(ModelCheckpoint(dirpath=folder / RESUME, every_n_train_steps=every,
                                     save_top_k=0, save_last=True, enable_version_counter=False))
    trainer = L.Trainer(
        max_steps=cfg.train.steps, accelerator=accelerator(), devices=cfg.train.devices,
        strategy=cfg.train.strategy, precision=cfg.train.precision,
        logger=CSVLogger(folder, name="logs", version=""), log_every_n_steps=50,
        callbacks=callbacks, gradient_clip_val=cfg.train.grad_clip or None,
        enable_checkpointing=True, enable_progress_bar=progress, enable_model_summary=False,
        num_sanity_val_steps=0, deterministic=False,
    )
    data = ParityDataModule(task, cfg.train.batch_size, cfg.train.seed + 1)
    log_file, earlier = folder / "logs" / "metrics.csv", None
    if last.is_file() and log_file.is_file() and trainer.is_global_zero:
        # Lightning's CSV logger deletes an existing metrics.csv: keep its rows to merge below
        earlier = pd.read_csv(log_file)
        log_file.unlink()
    sigint = signal.getsignal(signal.SIGINT)
    try:
        trainer.fit(module, datamodule=data,
                    ckpt_path=str(last) if last.is_file() else None)
    except SystemExit:
        # Lightning turns Ctrl-C into a graceful shutdown and then sys.exit(1)
        if not trainer.interrupted:
            raise
    finally:
        # ... having set SIGINT to "ignore", which would make a notebook kernel deaf to interrupts
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, sigint)
    if trainer.interrupted:
        step, kept = trainer.global_step, (trainer.global_step // every) * every
        if not cache.cache_enabled():
            how = "the cache is off (COMPANION_CACHE=off), so nothing was kept to resume from"
        elif kept > 0 and last.is_file():
            how = (f"progress up to step {kept} is kept in {folder}: rerun the same command "
                   "(the same config) to resume from there")
        else:
            how = "no checkpoint was reached yet: rerunning the same command starts it again"
        raise TrainingInterrupted(f"training interrupted at step {step} of {cfg.train.steps}; {how}.")
    if not trainer.is_global_zero:
        return  # under DDP (one process per device) the first process writes the results
    if earlier is not None and log_file.is_file():
        # rows logged after the checkpoint by the killed process were logged again on resume
        merged = pd.concat([earlier[earlier.step <= module.resumed_at], pd.read_csv(log_file)])
        merged.drop_duplicates().to_csv(log_file, index=False)
    torch.save(model.state_dict(), folder / "model.pt")
    pd.DataFrame(evaluator.rows).to_csv(folder / "history.csv", index=False)
    shutil.rmtree(folder / RESUME, ignore_errors=True)  # a finished run needs no optimizer state


def _train(cfg: NTPRunConfig, progress: bool) -> Path:
    """Train ``cfg`` (resuming an unfinished run of it) and publish it to the cache."""
    if not cache.cache_enabled():
        writer = cache.Writer("ntp", cfg)
        with writer as tmp:
            _fit(cfg, tmp, progress)
        return writer.path
    work = cache.partial_dir("ntp", cfg)
    if work.exists() and not _resumable(work / RESUME / "last.ckpt"):
        # leftovers of a run killed before its first checkpoint: start clean. Under DDP every
        # process may get here; none writes into ``work`` before all have joined in fit()
        shutil.rmtree(work, ignore_errors=True)
    try:
        work.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OSError(f"cannot write to the cache folder {work.parent} ({e}); set "
                      "COMPANION_CACHE_DIR to a writable folder") from e
    try:
        _fit(cfg, work, progress)
    except BaseException:
        if not (work / RESUME / "last.ckpt").is_file():
            shutil.rmtree(work, ignore_errors=True)  # nothing to resume from: leave no trace
        raise
    writer = cache.Writer("ntp", cfg, folder=work)
    if _global_rank() == 0:  # under DDP the first process wrote the results and publishes them
        with writer:
            pass
    _barrier()  # ... and the others wait for that before reading them
    return writer.path


def _global_rank() -> int:
    dist = torch.distributed
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def _barrier() -> None:
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def _read(cfg: NTPRunConfig, folder: Path) -> NTPResult:
    """The finished run in ``folder``; a damaged one raises :class:`cache.CacheCorrupt`."""
    try:
        history = pd.read_csv(folder / "history.csv")
    except (OSError, ValueError) as e:  # missing, empty or garbled (pandas errors are ValueErrors)
        raise cache.unreadable(folder, f"history.csv: {e}") from e
    missing = {"step", "decoding", "accuracy"} - set(history.columns)
    if missing or history.empty:
        raise cache.unreadable(folder, f"history.csv has no rows or lacks columns {sorted(missing)}")
    if not _resumable(folder / "model.pt"):
        raise cache.unreadable(folder, "model.pt is missing or truncated")
    return NTPResult(config=cfg, folder=folder, history=history)


def train_ntp(cfg: NTPRunConfig, progress: bool = False) -> NTPResult:
    """Train (or fetch from the cache) the NTP run described by ``cfg``.

    A run that was killed or interrupted (Ctrl-C raises :class:`TrainingInterrupted`)
    resumes from its last checkpoint (every ``eval_every`` steps) when called again, and
    ends with the same numbers as an unbroken run.
    """
    hit = cache.lookup("ntp", cfg)
    if hit is None:
        hit = _train(cfg, progress)
    return _read(cfg, hit)


def ntp_run(cfg: NTPRunConfig) -> Run:
    """``train_ntp(cfg)`` as a :class:`~companion.parallel.Run` (its cache entry and the call)."""
    return Run("ntp", cfg, train_ntp, (cfg,))


def train_ntp_many(cfgs: list[NTPRunConfig], workers: int = 1) -> list[NTPResult]:
    """Train several independent runs, ``workers`` processes at a time (1 torch thread each).

    Results come back through the cache, in the order of ``cfgs``.
    """
    compute([ntp_run(c) for c in cfgs], workers=workers)
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
