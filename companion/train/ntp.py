"""Next-token prediction (NTP) on the online parity mixture, run by Lightning's Trainer.

``train_ntp(cfg)`` is the one entry point. ``cfg`` is an :class:`NTPRunConfig` (a run from a
fresh model) or a :class:`ContinueNTPConfig` (more NTP from a checkpoint of a finished run: the
matched-compute baseline of chapter 3). It returns the cached run for this exact config if
there is one, else trains, evaluates every ``eval_every`` steps, keeps the weights at
``checkpoint_steps`` and stores everything atomically in the cache. An unfinished run
checkpoints with Lightning into ``<cache>/.partial-<kind>-<key>/`` and resumes from there when
rerun (data stream, evaluation history and RNG included).
"""

from __future__ import annotations

import shutil
import signal
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import pandas as pd
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from .. import cache
from ..config import ContinueNTPConfig, NTPRunConfig, PretrainConfig, check, config_key
from ..evaluate import evaluate
from ..model import GPT
from ..objective import ntp_loss
from ..parallel import Run
from ..tasks import Task, make_task
from .data import TaskDataModule
from .shell import EvalEvery, optimizer, trainer

RESUME = "resume"  # subfolder of a partial run: Lightning's last.ckpt, to resume from
CONTINUED_DATA_SEED = 7919  # a continuation draws from a stream the original run never used


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

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if "torch_rng_state" in checkpoint:
            torch.set_rng_state(checkpoint["torch_rng_state"])

    def configure_optimizers(self):
        c = self.train_cfg
        return optimizer(self.model.parameters(), c.lr, c.warmup_steps, c.steps, c.lr_floor,
                         c.weight_decay)


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
        return GPT(cfg.model, make_task(cfg.task).vocab_size)


def measure_ntp(task: Task, cfg: NTPRunConfig):
    """The evaluation of an NTP run: greedy and sampled rows, with steps and samples seen."""
    def measure(module: NTPModule, step: int) -> list[dict]:
        return [{"step": step, "samples": step * cfg.train.batch_size, **row}
                for row in evaluate(module.model, task, cfg.eval)]
    return measure


@dataclass
class NTPResult:
    """A finished NTP run: final model, evaluation history and intermediate checkpoints."""

    config: NTPRunConfig
    folder: Path
    history: pd.DataFrame  # one row per (step, decoding): accuracy, long_frac, lengths, ...

    @property
    def task(self) -> Task:
        return make_task(self.config.task)

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
        model = GPT(self.config.model, self.task.vocab_size)
        try:
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        except (RuntimeError, OSError, EOFError) as e:
            raise cache.unreadable(self.folder, f"{path.relative_to(self.folder)}: {e}") from e
        return model.eval()

    def final(self, decoding: str = "greedy") -> dict:
        """The last evaluation row for ``decoding`` as a dict."""
        h = self.history[self.history.decoding == decoding]
        return h.iloc[-1].to_dict()


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a training run; the message says what was kept and how to resume.

    A KeyboardInterrupt, so that code catching ``Exception`` still lets it through.
    """


def _resumable(ckpt: Path) -> bool:
    """Whether a torch.save file is complete (it is a zip with CRCs)."""
    try:
        with zipfile.ZipFile(ckpt) as z:
            return z.testzip() is None
    except (OSError, zipfile.BadZipFile):
        return False


def _fit_ntp(cfg: NTPRunConfig, init: GPT, data_seed: int, folder: Path, progress: bool) -> None:
    """Train ``init`` into ``folder``, checkpointing every ``eval_every`` steps into
    ``folder/resume`` and continuing from the checkpoint found there, if any."""
    t0 = time.perf_counter()
    task = make_task(cfg.task)
    module = NTPModule(init, cfg.train)
    evaluator = EvalEvery(measure_ntp(task, cfg), cfg.train.eval_every)
    last = folder / RESUME / "last.ckpt"
    every = cfg.train.eval_every  # checkpoint where we evaluate: a resumed history has no gaps
    # save_top_k=0 + save_last: only last.ckpt is kept, overwritten (atomically) each time
    callbacks: list[L.Callback] = [
        evaluator, SaveAtSteps(cfg.train.checkpoint_steps, folder / "checkpoints"),
        ModelCheckpoint(dirpath=folder / RESUME, every_n_train_steps=every, save_top_k=0,
                        save_last=True, enable_version_counter=False)]
    t = cfg.train
    fit = trainer(t.steps, callbacks, grad_clip=t.grad_clip, precision=t.precision,
                  devices=t.devices, strategy=t.strategy, progress=progress, checkpointing=True)
    sigint = signal.getsignal(signal.SIGINT)
    try:
        fit.fit(module, datamodule=TaskDataModule(task, t.batch_size, data_seed),
                ckpt_path=str(last) if last.is_file() else None)
    except SystemExit:
        # Lightning turns Ctrl-C into a graceful shutdown and then sys.exit(1)
        if not fit.interrupted:
            raise
    finally:
        # ... having set SIGINT to "ignore", which would make a notebook kernel deaf to interrupts
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, sigint)
    if fit.interrupted:
        step, kept = fit.global_step, (fit.global_step // every) * every
        if not cache.cache_enabled():
            how = "the cache is off (COMPANION_CACHE=off), so nothing was kept to resume from"
        elif kept > 0 and last.is_file():
            how = (f"progress up to step {kept} is kept in {folder}: rerun the same command "
                   "(the same config) to resume from there")
        else:
            how = "no checkpoint was reached yet: rerunning the same command starts it again"
        raise TrainingInterrupted(f"training interrupted at step {step} of {t.steps}; {how}.")
    if not fit.is_global_zero:
        return  # under DDP (one process per device) the first process writes the results
    torch.save(init.state_dict(), folder / "model.pt")
    pd.DataFrame(evaluator.rows).to_csv(folder / "history.csv", index=False)
    cache.write_timing(folder, total_s=time.perf_counter() - t0, evaluation_s=evaluator.seconds)
    shutil.rmtree(folder / RESUME, ignore_errors=True)  # a finished run needs no optimizer state


def _train(kind: str, key, cfg: NTPRunConfig, init, data_seed: int, progress: bool) -> Path:
    """Train (resuming an unfinished run of the same key) and publish the run to the cache."""
    if not cache.cache_enabled():
        writer = cache.Writer(kind, key)
        with writer as tmp:
            _fit_ntp(cfg, init(), data_seed, tmp, progress)
        return writer.path
    work = cache.partial_dir(kind, key)
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
        _fit_ntp(cfg, init(), data_seed, work, progress)
    except BaseException:
        if not (work / RESUME / "last.ckpt").is_file():
            shutil.rmtree(work, ignore_errors=True)  # nothing to resume from: leave no trace
        raise
    writer = cache.Writer(kind, key, folder=work)
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


def train_ntp(cfg: NTPRunConfig | ContinueNTPConfig, progress: bool = False) -> NTPResult:
    """Train (or fetch from the cache) the NTP run described by ``cfg``.

    A run that was killed or interrupted (Ctrl-C raises :class:`TrainingInterrupted`)
    resumes from its last checkpoint (every ``eval_every`` steps) when called again, and
    ends with the same numbers as an unbroken run. Two processes asked for the same run train
    it once: the second waits for the first (``cache.exclusive``).
    """
    if isinstance(cfg, ContinueNTPConfig):
        kind, run = "ntp-continue", cfg.run
        seed = run.train.seed + CONTINUED_DATA_SEED
        start = cfg

        def init() -> GPT:
            return start_of(start.start).load_model(start.start_step).train()
    else:
        kind, run, seed = "ntp", cfg, cfg.train.seed + 1

        def init() -> GPT:
            return build_model(run)
    check(run.train.devices == 1 or cache.cache_enabled(), "COMPANION_CACHE", "off",
          f"must be on for a run on devices={run.train.devices}: the first process writes the "
          "results into the cache and the others read them there (for a throwaway run, point "
          "COMPANION_CACHE_DIR at a scratch folder instead)")
    with cache.exclusive(kind, cfg):
        hit = cache.lookup(kind, cfg)
        if hit is None:
            hit = _train(kind, cfg, run, init, seed, progress)
    result = _read(run, hit)
    if not cache.cache_enabled():
        _TRAINED_HERE[config_key(cfg)] = result
    return result


# With the cache off every call trains anew (nothing is reused), but a run that *starts from* an
# NTP run (RL, a continuation) takes the one this process just trained for that config, as a
# chapter holding the start's result would: the start is not trained again for every RL run.
_TRAINED_HERE: dict[str, NTPResult] = {}


def start_of(cfg: NTPRunConfig) -> NTPResult:
    """The finished NTP run ``cfg`` for a run that starts from it (cached, or made here)."""
    made = None if cache.cache_enabled() else _TRAINED_HERE.get(config_key(cfg))
    return made if made is not None else train_ntp(cfg)


def ntp_run(cfg: NTPRunConfig | ContinueNTPConfig) -> Run:
    """``train_ntp(cfg)`` as a :class:`~companion.parallel.Run` (its cache entry and the call)."""
    if isinstance(cfg, ContinueNTPConfig):
        return Run("ntp-continue", cfg, train_ntp, (cfg,), needs=(ntp_run(cfg.start),))
    return Run("ntp", cfg, train_ntp, (cfg,))


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
