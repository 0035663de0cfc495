"""The data streams: fresh samples of the task's mixture (parity: D(p_cot)) every step, from one seeded generator (online
training: there is no data set, and no sample is seen twice)."""

from __future__ import annotations

import lightning as L
import torch
from torch.utils.data import DataLoader, IterableDataset

from ..tasks import Task


class TaskStream(IterableDataset):
    """An endless stream of fresh batches of D(p_cot) from one seeded generator.

    To resume mid-run, the stream remembers the generator state *before* each of its
    last few batches: Lightning fetches a batch ahead of the one it trains on, so the
    generator's current state is already past the batch a checkpoint should resume at.
    """

    KEEP = 8  # generator states remembered (the prefetch needs only 1 or 2)

    def __init__(self, task: Task, batch_size: int, seed: int, rank: int = 0,
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


class TaskDataModule(L.LightningDataModule):
    def __init__(self, task: Task, batch_size: int, seed: int):
        super().__init__()
        self.stream = TaskStream(task, batch_size, seed)

    def train_dataloader(self) -> DataLoader:
        # under DDP each process keeps its own shard of the global batch (see TaskStream)
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


class PromptStream(IterableDataset):
    """Fresh prompt inputs (parity: bits [P, d]) every step from one seeded generator."""

    def __init__(self, task: Task, n: int, seed: int):
        self.task, self.n, self.seed = task, n, seed

    def __iter__(self):
        gen = torch.Generator().manual_seed(self.seed)
        while True:
            yield self.task.sample_inputs(self.n, gen)
