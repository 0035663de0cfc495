"""Beyond the paper (ours): which chain does RL learn, and does the reward decide it?

Chapter 3's policies reach greedy accuracy ~1 with d-token answers. Here we ask what those
tokens are (:mod:`companion.probe`): how often a long answer is the chain token for token, and
at which positions it is not; whether each chain token is computed from the previous one (a
forced wrong token is continued) or from the prompt (it is ignored); and how both hold on
prompts whose bits are not uniform. Each RL policy is compared with its NTP start, and GRPO and
STaR with the end-to-end reward with the same runs trained with the CoT reward (a long answer
earns its reward only if the chain is exact).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from pathlib import Path

from .. import cache, parallel, probe
from ..config import NTPRunConfig, Profile, RLConfig, RLRunConfig
from ..task import ParityMixture
from ..train import ntp_run, rl_run, rl_task, train_rl
from ..train.ntp import train_ntp
from .rl_after_ntp import algorithm_configs, start_config

PROBE_SEED = 11  # the probes' prompts: the same for every policy
SAMPLE_SEED = 12  # the probes' sampling
EXACT = 0.99  # a chain is kept exact: at least this fraction of the long answers is the chain
LOOSE = 0.05  # a position is left unconstrained: wrong in at least this fraction of long answers
FOLLOWS = 0.9  # a policy continues from its own (forced) token at least this often: it uses it
ROBUST = 0.95  # greedy accuracy on the off-distribution prompts at least this: it carries over
REWARDS = {"end_to_end": "end-to-end", "cot": "CoT"}


def cot_configs(prof: Profile) -> dict[str, RLConfig]:
    """Chapter 3's GRPO (every seed) and STaR (T = 1) runs with the CoT reward instead."""
    return {f"{name}, cot reward": dataclasses.replace(c, reward="cot")
            for name, c in algorithm_configs(prof).items() if c.algorithm in ("grpo", "star")}


@dataclass(frozen=True)
class ProbeConfig:
    """The probes of one policy, cached like a run (:func:`probe_policy`)."""

    policy: RLRunConfig | NTPRunConfig  # an RL run, or the NTP run it starts from
    prompts: int  # per measurement
    biases: tuple[float, ...]  # off-distribution prompts (0.5, the training one, is always probed)
    seed: int = PROBE_SEED  # the prompts: the same for every policy


def probe_config(prof: Profile, policy: RLRunConfig | NTPRunConfig) -> ProbeConfig:
    t = prof.test_time
    return ProbeConfig(policy=policy, prompts=t.probe_prompts, biases=t.probe_biases)


def _policy(cfg: ProbeConfig):
    p = cfg.policy
    return train_rl(p).load_model() if isinstance(p, RLRunConfig) else train_ntp(p).load_model()


def _probe(cfg: ProbeConfig, folder: Path) -> None:
    torch.set_num_threads(1)  # as the runs' workers: two probes at once on two cores
    start = cfg.policy.start if isinstance(cfg.policy, RLRunConfig) else cfg.policy
    task, model = ParityMixture(start.task), _policy(cfg)
    chains, positions, interventions = [], [], []
    for q in (0.5, *cfg.biases):
        bits = probe.biased_bits(task, cfg.prompts, q, torch.Generator().manual_seed(cfg.seed))
        # off the training distribution greedy decoding only: what the policy answers
        for decoding, temp in (("greedy", 0.0), ("sampled", 1.0))[: 2 if q == 0.5 else 1]:
            m = probe.chain_errors(model, task, bits, temp,
                                   torch.Generator().manual_seed(cfg.seed + 1))
            per_position = m.pop("per_position")
            chains.append({"q": q, "decoding": decoding, **m,
                           "y_frac": float(task.parity(bits).float().mean())})
            positions += [{"q": q, "decoding": decoding, "k": k + 1, "error": e}
                          for k, e in enumerate(per_position)]
        if q == 0.5:
            interventions = [probe.intervene(model, task, bits, k) for k in probe.positions(task.d)]
    for name, rows in (("chains", chains), ("positions", positions),
                       ("interventions", interventions)):
        pd.DataFrame(rows).to_csv(folder / f"{name}.csv", index=False)


def probe_policy(cfg: ProbeConfig) -> dict[str, pd.DataFrame]:
    """The probes of ``cfg.policy`` (from the cache, or computed now): ``chains`` (per bias q and
    decoding), ``positions`` (error rate per chain position) and ``interventions`` (per k)."""
    folder = cache.computed("probe", cfg, lambda f: _probe(cfg, f))
    return {name: pd.read_csv(folder / f"{name}.csv")
            for name in ("chains", "positions", "interventions")}


def probe_run(cfg: ProbeConfig) -> parallel.Run:
    p = cfg.policy
    return parallel.Run("probe", cfg, probe_policy, (cfg,),
                        needs=(rl_task(p) if isinstance(p, RLRunConfig) else ntp_run(p),))


def runs(prof: Profile, probed: dict[str, RLConfig]) -> dict[str, parallel.Run]:
    """The CoT-reward runs (the end-to-end ones are chapter 3's), then the probes of the NTP
    start and of every policy in ``probed`` (RL configs from that start)."""
    start = start_config(prof)
    out = {name: rl_task(rl_run(c, start)) for name, c in cot_configs(prof).items()}
    out["probe start"] = probe_run(probe_config(prof, start))
    return out | {f"probe {name}": probe_run(probe_config(prof, rl_run(c, start)))
                  for name, c in probed.items()}


def label(c: RLConfig) -> str:
    """A policy's group in the figures: algorithm, rollout temperature (if not 1), length penalty
    (if any) and reward."""
    hot = f" T={c.temperature:g}" if c.temperature != 1.0 else ""
    pen = f" \N{GREEK SMALL LETTER LAMDA}={c.length_penalty:g}" if c.length_penalty else ""
    name = "STaR" if c.algorithm == "star" else c.algorithm.upper()
    return f"{name}{hot}{pen}, {REWARDS[c.reward]}"


@dataclass
class FaithfulnessResult:
    """The probes of the NTP start and of RL policies trained from it, every policy's rows
    tagged with its name (``policy``), reward and group (:func:`label`)."""

    prof: Profile
    tables: dict[str, pd.DataFrame]  # "chains", "positions", "interventions" (probe_policy's)

    @property
    def chains(self) -> pd.DataFrame:
        """Per policy and decoding, on the training distribution: accuracy, long fraction and
        the long answers' exactness (:func:`companion.probe.chain_errors`)."""
        c = self.tables["chains"]
        return c[c.q == 0.5].reset_index(drop=True)

    @property
    def positions(self) -> pd.DataFrame:
        """Per policy and chain position k: the error rate of its sampled long answers."""
        p = self.tables["positions"]
        return p[(p.q == 0.5) & (p.decoding == "sampled")].reset_index(drop=True)

    @property
    def interventions(self) -> pd.DataFrame:
        """Per policy and position k: what follows a forced wrong chain token."""
        return self.tables["interventions"]

    @property
    def off_distribution(self) -> pd.DataFrame:
        """Per policy and bias q != 0.5, greedy decoding: prompts whose bits are 1 with
        probability q."""
        c = self.tables["chains"]
        return c[c.q != 0.5].reset_index(drop=True)

    @property
    def by_bias(self) -> pd.DataFrame:
        """The training distribution (q = 0.5) and the off-distribution rows together."""
        return self.tables["chains"]

    def exactness_table(self) -> pd.DataFrame:
        c = self.chains.pivot(index="policy", columns="decoding", values=["accuracy", "exact"])
        c.columns = [f"{d} {m}" for m, d in c.columns]
        order = list(dict.fromkeys(self.chains.policy))
        return c.loc[order, ["greedy accuracy", "greedy exact", "sampled accuracy", "sampled exact"]]

    def off_table(self) -> pd.DataFrame:
        o = self.off_distribution[self.off_distribution.decoding == "greedy"]
        t = o.pivot(index="policy", columns="q", values="accuracy")
        t.columns = [f"greedy accuracy, q = {q:g}" for q in t.columns]
        return t.loc[list(dict.fromkeys(o.policy))]

    def numbers(self) -> dict:
        return {**self._chain_numbers(), **self._intervention_numbers(), **self._off_numbers(),
                "probe_prompts": self.prof.test_time.probe_prompts,
                "probe_exact": EXACT, "probe_loose": LOOSE, "probe_follows": FOLLOWS,
                "probe_robust": ROBUST, "chain_verdict": self._reward_verdict()}

    def _sampled(self, reward: str) -> pd.DataFrame:
        c = self.chains
        return c[(c.decoding == "sampled") & (c.reward == reward)]

    def _loose(self, reward: str) -> pd.DataFrame:
        """Positions wrong in at least LOOSE of some policy's sampled long answers."""
        p = self.positions
        return p[(p.reward == reward) & (p.error >= LOOSE)]

    def _chain_numbers(self) -> dict:
        e2e, cot, ntp = (self._sampled(r) for r in ("end-to-end", "CoT", "NTP"))
        loose = self._loose("end-to-end")
        p = self.positions
        errs = p[p.reward == "end-to-end"].groupby("k").error.max()
        return {"chain_e2e_min": float(e2e.exact.min()), "chain_e2e_max": float(e2e.exact.max()),
                "chain_cot_min": float(cot.exact.min()), "chain_cot_max": float(cot.exact.max()),
                "chain_ntp": float(ntp.exact.iloc[0]), "chain_ntp_long": int(ntp.n_long.iloc[0]),
                "chain_greedy_min": float(self.chains[(self.chains.decoding == "greedy")
                                                      & (self.chains.reward != "NTP")].exact.min()),
                "chain_wrong_right": float(e2e.right_by_wrong_chain.max()),
                "chain_loose_text": _positions_text(loose),
                "chain_rest_max": float(errs.drop(sorted(set(loose.k))).max()) if len(errs) else np.nan,
                "chain_cot_loose_text": _positions_text(self._loose("CoT"))}

    def _intervention_numbers(self) -> dict:
        iv = self.interventions
        own = iv.groupby("policy", sort=False).follows_own.min()
        first = iv[iv.k == iv.k.min()].set_index("policy")
        e2e = iv[iv.reward == "end-to-end"]
        return {"iv_positions": ", ".join(str(k) for k in sorted(set(iv.k))),
                "iv_ntp_own_min": float(own["NTP start"]),
                "iv_cot_own_min": float(iv[iv.reward == "CoT"].follows_own.min()),
                "iv_e2e_own_min": float(e2e.follows_own.min()),
                "iv_e2e_first_true_max": float(first[first.reward == "end-to-end"].follows_true.max()),
                "iv_e2e_later_own_min": float(e2e[e2e.k > e2e.k.min()].follows_own.min()),
                "iv_verdict": self._intervention_verdict(iv)}

    @staticmethod
    def _intervention_verdict(iv: pd.DataFrame) -> str:
        own = iv.groupby("policy", sort=False).follows_own.min()
        uses = [p for p, v in own.items() if v >= FOLLOWS]
        ignores = iv[iv.follows_true >= FOLLOWS]
        if len(uses) == len(own):
            return ("every policy continues from the forced token at every probed position: each "
                    "chain token is computed from the previous one")
        where = "; ".join(f"{p} at k = {', '.join(str(k) for k in g.k)}"
                          for p, g in ignores.groupby("policy", sort=False))
        return (f"{len(uses)} of {len(own)} policies continue from the forced token at every probed "
                f"position; the forced token is ignored (the true chain follows) by {where or 'none'}")

    def _off_numbers(self) -> dict:
        o = self.off_distribution
        g = o[(o.decoding == "greedy") & (o.reward != "NTP")]
        worst = g.groupby("policy", sort=False).accuracy.min()
        ntp = o[o.reward == "NTP"]
        robust = [p for p, a in worst.items() if a >= ROBUST]
        return {"off_biases": ", ".join(f"{q:g}" for q in sorted(set(o.q))),
                "off_y_min": float(o.y_frac.min()), "off_y_max": float(o.y_frac.max()),
                "off_rl_min": float(worst.min()), "off_rl_max": float(worst.max()),
                "off_n_robust": len(robust), "off_n_rl": len(worst),
                "off_ntp_long_max": float(ntp.long_frac.max()),
                "off_exact_min": float(o[(o.decoding == "greedy") & (o.reward != "NTP")].exact.min()),
                "off_verdict": (f"all {len(worst)} RL policies keep greedy accuracy of at least "
                                f"{ROBUST} at every bias" if len(robust) == len(worst) else
                                f"{len(robust)} of {len(worst)} RL policies keep greedy accuracy of "
                                f"at least {ROBUST} at every bias; the others fall to "
                                f"{float(worst.min()):.3f}")}

    def _reward_verdict(self) -> str:
        e2e, cot = self._sampled("end-to-end"), self._sampled("CoT")
        cot_exact = bool((cot.exact >= EXACT).all())
        e2e_loose = len(self._loose("end-to-end")) > 0
        if cot_exact and e2e_loose:
            return ("The CoT reward keeps the sampled chain exact; the end-to-end reward leaves "
                    "some positions unconstrained: their tokens no longer matter to the reward, "
                    "and the policy stops getting them right.")
        if cot_exact and bool((e2e.exact >= EXACT).all()):
            return ("Both rewards keep the sampled chain exact: the end-to-end reward leaves no "
                    "position unconstrained in these runs.")
        if not cot_exact:
            return (f"The CoT reward does not keep every sampled chain exact here (as low as "
                    f"{float(cot.exact.min()):.3f} of the long answers); "
                    + ("the end-to-end reward leaves some positions unconstrained." if e2e_loose
                       else "no position is left unconstrained under the end-to-end reward."))
        return ("The CoT reward keeps the sampled chain exact; under the end-to-end reward some "
                "long answers are inexact, but no single position is wrong in "
                f"{LOOSE:.0%} of them.")


def _positions_text(loose: pd.DataFrame) -> str:
    """Which positions are wrong in at least LOOSE of some policy's long answers, and how often."""
    if not len(loose):
        return f"no position is wrong in {LOOSE:.0%} of any policy's sampled long answers"
    by_k = loose.groupby("k").error.agg(["min", "max", "count"])
    return "; ".join(f"position {k}: {r['min']:.0%} to {r['max']:.0%} of the long answers "
                     f"({int(r['count'])} {'policy' if r['count'] == 1 else 'policies'})"
                     for k, r in by_k.iterrows())


def load(prof: Profile, results: dict[str, object], probed: dict[str, RLConfig]) -> FaithfulnessResult:
    """From chapter 4's fetched ``results`` (with :func:`runs`' names) and the RL configs probed."""
    tags = {"start": ("NTP start", "NTP", "NTP start")}
    tags |= {name: (name, REWARDS[c.reward], label(c)) for name, c in probed.items()}
    tables = {}
    for table in ("chains", "positions", "interventions"):
        frames = [results[f"probe {name}"][table].assign(policy=p, reward=r, group=g)
                  for name, (p, r, g) in tags.items()]
        tables[table] = pd.concat(frames, ignore_index=True)
    return FaithfulnessResult(prof, tables)
