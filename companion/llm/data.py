"""The word problems of a run and the streams that feed SFT (mixtures) and RL (prompts)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from torch.utils.data import IterableDataset

from .. import mathdata
from ..config import LLMConfig, check


@dataclass
class Problems:
    train: list[mathdata.Record] | None  # None: drawn fresh each step (worded parity)
    eval: list[mathdata.Record]


def problems(cfg: LLMConfig, with_train: bool = True) -> Problems:
    """The training (unless ``with_train`` is False) and held-out problems of ``cfg.data``."""
    c = cfg.data
    if c.source == "worded-parity":
        return Problems(None, mathdata.worded_parity(c.n_eval, c.d, random.Random(10_000 + c.seed)))
    if c.source == "running-totals":
        # held-out stories (wording and objects), and a stream apart from the training one
        ev = mathdata.running_totals(c.n_eval, c.additions, random.Random(10_000 + c.seed), "eval")
        train = (mathdata.running_totals(c.n_train, c.additions, random.Random(c.seed), "train")
                 if with_train else [])
        return Problems(train, ev)
    if c.source == "gsm-symbolic":
        templates = mathdata.gsm_templates()
        random.Random(c.seed).shuffle(templates)
        # held-out *templates*: evaluation problems are new problems, not new numbers
        held, rest = templates[: c.eval_templates], templates[c.eval_templates:]
        if c.train_templates:
            rest = rest[: c.train_templates]
        per = -(-c.n_eval // c.eval_templates) + 1  # some templates time out: ask for a few more
        ev = mathdata.gsm_symbolic(held, per, c.seed + 1, c.template_timeout)
        random.Random(c.seed).shuffle(ev)
        train = (mathdata.gsm_symbolic(rest, c.per_template, c.seed, c.template_timeout)
                 if with_train else [])
        check(len(ev) > 0 and (len(train) > 0 or not with_train), "eval_templates",
              c.eval_templates, "gave no problems in time: hold out / train on more templates, "
              "or raise template_timeout")
        return Problems(train, ev[: c.n_eval])
    train = [r for f in c.files for r in mathdata.load_records(f)]
    random.Random(c.seed).shuffle(train)
    if c.eval_files:
        ev = [r for f in c.eval_files for r in mathdata.load_records(f)]
    else:
        n = max(1, len(train) // 10)
        ev, train = train[:n], train[n:]
    check(len(train) > 0, "files", c.files, "must hold more than one problem (10% are held out)")
    return Problems(train, ev[: c.n_eval])


class MixtureStream(IterableDataset):
    """Batches of mixture examples: fresh problems each step (worded parity) or passes over a
    fixed training set reshuffled each epoch; exactly round(p_cot * B) long targets per batch."""

    def __init__(self, cfg: LLMConfig, train: list[mathdata.Record] | None, batch_size: int,
                 seed: int):
        self.cfg, self.train, self.batch_size, self.seed = cfg, train, batch_size, seed

    def __iter__(self):
        rng = random.Random(self.seed)
        c = self.cfg.data
        order: list[int] = []
        step = 0
        while True:
            if self.train is None:
                recs = mathdata.worded_parity(self.batch_size, c.d, rng)
            else:
                while len(order) < self.batch_size:
                    idx = list(range(len(self.train)))
                    rng.shuffle(idx)
                    order += idx
                recs = [self.train[i] for i in order[: self.batch_size]]
                order = order[self.batch_size:]
            yield mathdata.build_mixture(recs, c.p_cot, self.seed * 100_003 + step)
            step += 1


class PromptBatches(IterableDataset):
    """The RL prompts: ``rl.prompts_per_step`` problems per step (fresh, or drawn from ``train``)."""

    def __init__(self, train: list[mathdata.Record] | None, cfg: LLMConfig):
        self.train, self.cfg = train, cfg

    def __iter__(self):
        rng = random.Random(self.cfg.rl.seed + 7)
        n = self.cfg.rl.prompts_per_step
        while True:
            if self.train is None:
                yield mathdata.worded_parity(n, self.cfg.data.d, rng)
            else:
                yield rng.sample(self.train, min(n, len(self.train)))
