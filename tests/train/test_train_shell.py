"""companion/train/shell.py: the optimizer and schedule, frozen copies, and the evaluation
callback every run shares (a few optimizer steps of a toy module at most)."""

import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, IterableDataset

from companion.objective import warmup_cosine
from companion.train.shell import EvalEvery, frozen_copy, optimizer, trainer


def test_optimizer_follows_warmup_cosine_and_restarts_every_period():
    p = nn.Parameter(torch.zeros(3))
    conf = optimizer([p], lr=1.0, warmup=2, period=5, floor=0.1, weight_decay=0.0)
    opt, sched = conf["optimizer"], conf["lr_scheduler"]["scheduler"]
    assert conf["lr_scheduler"]["interval"] == "step"
    lrs = []
    for _ in range(10):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    expected = [warmup_cosine(s % 5, 2, 5, 0.1) for s in range(10)]
    assert lrs == pytest.approx(expected)
    assert lrs[:5] == pytest.approx(lrs[5:])  # STaR's rounds: the schedule restarts


def test_optimizer_trains_only_what_requires_grad():
    frozen, free = nn.Parameter(torch.zeros(2), requires_grad=False), nn.Parameter(torch.zeros(2))
    opt = optimizer([frozen, free], lr=0.1, warmup=0, period=10)["optimizer"]
    assert [len(g["params"]) for g in opt.param_groups] == [1]


def test_frozen_copy_is_independent_and_untrainable():
    m = nn.Linear(2, 2)
    c = frozen_copy(m)
    assert not c.training and not any(p.requires_grad for p in c.parameters())
    with torch.no_grad():
        m.weight.add_(1.0)
    assert not torch.equal(m.weight, c.weight)


class _Ones(IterableDataset):
    def __iter__(self):
        while True:
            yield torch.ones(4, 2)


class _Toy(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 1)

    def training_step(self, batch, batch_idx):
        return self.lin(batch).pow(2).mean()

    def configure_optimizers(self):
        return optimizer(self.parameters(), lr=0.01, warmup=0, period=10)


def test_eval_every_measures_at_start_every_k_steps_and_at_the_end_once_each():
    seen = []
    ev = EvalEvery(lambda module, step: seen.append(step) or [{"step": step}], every=3)
    fit = trainer(7, [ev])
    fit.fit(_Toy(), train_dataloaders=DataLoader(_Ones(), batch_size=None))
    assert seen == [0, 3, 6, 7] and [r["step"] for r in ev.rows] == seen
    # its state travels in checkpoints: a resumed run keeps its history and its last step
    again = EvalEvery(lambda m, s: [], every=3, at_start=False)
    again.load_state_dict(ev.state_dict())
    assert again.rows == ev.rows and again._last == 7


def test_eval_every_without_the_start_and_at_a_multiple_end():
    seen = []
    ev = EvalEvery(lambda module, step: seen.append(step) or [], every=2, at_start=False)
    trainer(4, [ev]).fit(_Toy(), train_dataloaders=DataLoader(_Ones(), batch_size=None))
    assert seen == [2, 4]  # the last step is measured once, not again by on_train_end
