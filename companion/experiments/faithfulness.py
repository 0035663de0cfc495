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
import math
import time
from dataclasses import dataclass

from pathlib import Path

import pandas as pd
import torch

from .. import cache, parallel, probe
from ..config import NTPRunConfig, Profile, RLConfig, RLRunConfig
from ..runtime import accelerator, set_threads
from ..task import ParityMixture
from ..train import ntp_run, rl_run, rl_task, train_rl
from ..train.ntp import train_ntp
from ..cache import write_timing
from ..verdicts import CHANCE, SOLVED
from .rl_after_ntp import algorithm_configs, start_config

PROBE_SEED = 11  # the probes' prompts (and, plus one, their sampling): the same for every policy
# kept exact: at least this fraction of the sampled long answers is the chain; below 1, since
# sampling at T = 1 errs now and then even from a chain the model knows (the NTP start's does)
EXACT = 0.97
LOOSE = 0.05  # a position is left loose: the chain first goes wrong there this often
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
    t0 = time.perf_counter()
    set_threads()  # one torch thread, as a training run: two probes at once on two cores
    start = cfg.policy.start if isinstance(cfg.policy, RLRunConfig) else cfg.policy
    # on the GPU when there is one (the paper profile's probes: 10,000 prompts, a 4 x 256 model);
    # the sampling generator lives where sampling happens, as in companion.evaluate
    device = "cuda" if accelerator() == "gpu" else "cpu"
    task, model = ParityMixture(start.task), _policy(cfg).to(device)
    chains, positions, interventions = [], [], []
    for q in (0.5, *cfg.biases):
        bits = probe.biased_bits(task, cfg.prompts, q, torch.Generator().manual_seed(cfg.seed))
        # off the training distribution greedy decoding only: what the policy answers
        for decoding, temp in (("greedy", 0.0), ("sampled", 1.0))[: 2 if q == 0.5 else 1]:
            m = probe.chain_errors(model, task, bits, temp,
                                   torch.Generator(device=device).manual_seed(cfg.seed + 1))
            first_error = m.pop("first_error")
            chains.append({"q": q, "decoding": decoding, **m,
                           "y_frac": float(task.parity(bits).float().mean())})
            positions += [{"q": q, "decoding": decoding, "k": k + 1, "error": e}
                          for k, e in enumerate(first_error)]
        if q == 0.5:
            interventions = [probe.intervene(model, task, bits, k) for k in probe.positions(task.d)]
    for name, rows in (("chains", chains), ("positions", positions),
                       ("interventions", interventions)):
        pd.DataFrame(rows).to_csv(folder / f"{name}.csv", index=False)
    write_timing(folder, total_s=time.perf_counter() - t0)


def probe_policy(cfg: ProbeConfig) -> dict[str, pd.DataFrame]:
    """The probes of ``cfg.policy`` (from the cache, or computed now): ``chains`` (per bias q and
    decoding), ``positions`` (first-error rate per chain position) and ``interventions`` (per k)."""
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
        """Per policy and chain position k: how often its sampled long answers first go wrong at
        k (``error``; :func:`companion.probe.chain_errors`' ``first_error``)."""
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

    def learned(self) -> list[str]:
        """The RL policies that learned parity: greedy accuracy at least SOLVED on the
        training distribution. The chain questions are about them; the others are shown too."""
        g = self.chains[(self.chains.decoding == "greedy") & (self.chains.reward != "NTP")]
        return list(g[g.accuracy >= SOLVED].policy)

    def exactness_table(self) -> pd.DataFrame:
        c = self.chains.set_index(["policy", "decoding"])
        order = list(dict.fromkeys(self.chains.policy))
        g, smp = c.xs("greedy", level=1).loc[order], c.xs("sampled", level=1).loc[order]
        first = self.positions[self.positions.k == 1].set_index("policy").error
        return pd.DataFrame({
            "learned parity": ["start" if p == "NTP start" else "yes" if p in self.learned()
                               else "no" for p in order],
            "greedy accuracy": g.accuracy, "greedy exact": g.exact,
            "sampled accuracy": smp.accuracy, "sampled long answers": smp.n_long,
            "sampled exact": smp.exact, "sampled first wrong at k = 1": first.loc[order]})

    def off_table(self) -> pd.DataFrame:
        o = self.off_distribution
        t = o.pivot(index="policy", columns="q", values="accuracy")
        t.columns = [f"greedy accuracy, q = {q:g}" for q in t.columns]
        return t.loc[list(dict.fromkeys(o.policy))]

    def numbers(self) -> dict:
        learned = self.learned()
        failed = [p for p in dict.fromkeys(self.chains.policy) if p not in learned and p != "NTP start"]
        measured = {**self._chain_numbers(), **self._intervention_numbers(), **self._off_numbers()}
        return {**measured, **prose_texts(measured),
                "probe_prompts": self.prof.test_time.probe_prompts, "n_learned": len(learned),
                "not_learned": ", ".join(failed) if failed else "none",
                "probe_exact": EXACT, "probe_loose": LOOSE, "probe_follows": FOLLOWS,
                "probe_robust": ROBUST, "probe_accuracy": SOLVED,
                "chain_verdict": self._reward_verdict()}

    # -- the chain, position by position --------------------------------------------------------
    def _sampled(self, reward: str) -> pd.DataFrame:
        """Sampled rows of the policies with this reward that learned parity (NTP: the start)."""
        c = self.chains
        c = c[(c.decoding == "sampled") & (c.reward == reward)]
        return c if reward == "NTP" else c[c.policy.isin(self.learned())]

    def _first(self, reward: str) -> pd.DataFrame:
        """First-error rates per position of those policies' sampled long answers."""
        p = self.positions
        p = p[p.reward == reward]
        return p if reward == "NTP" else p[p.policy.isin(self.learned())]

    def _loose(self, reward: str) -> list[int]:
        """Positions where some policy's chain first goes wrong in at least LOOSE of its long
        answers, while the NTP start's does not: RL made that position loose."""
        ntp = self._first("NTP").set_index("k").error
        p = self._first(reward)
        return sorted(int(k) for k in set(p[p.error >= LOOSE].k) if not ntp.get(k, 0.0) >= LOOSE)

    def _chain_numbers(self) -> dict:
        e2e, cot, ntp = (self._sampled(r) for r in ("end-to-end", "CoT", "NTP"))
        first = {r: self._first(r) for r in ("end-to-end", "CoT", "NTP")}
        loose = self._loose("end-to-end")
        g = self.chains[(self.chains.decoding == "greedy") & self.chains.policy.isin(self.learned())]
        at1 = {r: f[f.k == 1].error for r, f in first.items()}
        return {"chain_e2e_min": float(e2e.exact.min()), "chain_e2e_max": float(e2e.exact.max()),
                "chain_cot_min": float(cot.exact.min()), "chain_cot_max": float(cot.exact.max()),
                "chain_ntp": float(ntp.exact.iloc[0]), "chain_ntp_long": int(ntp.n_long.iloc[0]),
                "chain_greedy_min": float(g.exact.min()),
                "chain_wrong_right": float(e2e.right_by_wrong_chain.max()),
                "chain_first1_e2e_min": float(at1["end-to-end"].min()),
                "chain_first1_e2e_max": float(at1["end-to-end"].max()),
                "chain_first1_cot_max": float(at1["CoT"].max()),
                "chain_first1_ntp": float(at1["NTP"].iloc[0]),
                "chain_loose_text": _positions_text(loose, first["end-to-end"]),
                "chain_cot_loose_text": _positions_text(self._loose("CoT"), first["CoT"])}

    # -- a forced wrong token ----------------------------------------------------------------------
    def _intervention_numbers(self) -> dict:
        iv = self.interventions
        iv = iv[iv.policy.isin(["NTP start", *self.learned()])]
        k1, later = iv[iv.k == 1].set_index("policy"), iv[iv.k > 1]
        return {"iv_positions": ", ".join(str(k) for k in sorted(set(iv.k))),
                "iv_k1_stop_ntp": float(k1.stops["NTP start"]),
                "iv_k1_stop_cot_min": float(k1[k1.reward == "CoT"].stops.min()),
                "iv_k1_true_e2e_min": float(k1[k1.reward == "end-to-end"].follows_true.min()),
                "iv_k1_true_e2e_max": float(k1[k1.reward == "end-to-end"].follows_true.max()),
                "iv_later_own_min": float(later.follows_own.min()),
                "iv_later_right_max": float(later.final_right.max()),
                "iv_verdict": self._intervention_verdict(k1, later)}

    @staticmethod
    def _intervention_verdict(k1: pd.DataFrame, later: pd.DataFrame) -> str:
        if float(later.follows_own.min()) >= FOLLOWS:
            after = ("from position 2 on, the NTP start and every policy that learned parity "
                     "continue from the forced token: each chain token is computed from the one "
                     "before it, and the final answer follows the forced error")
        else:
            low = later.groupby("policy", sort=False).follows_own.min()
            after = ("from position 2 on, not every policy continues from the forced token: "
                     + ", ".join(f"{p} as rarely as {v:.2f}" for p, v in low[low < FOLLOWS].items()))
        e2e = k1[k1.reward == "end-to-end"]
        ignore = e2e[e2e.follows_true >= 1 - FOLLOWS]
        stop = k1[k1.reward != "end-to-end"]
        if len(e2e):
            first = (f"at position 1, {len(ignore)} of {len(e2e)} end-to-end policies go on with "
                     "the true chain after a wrong first token, ignoring it, for at least "
                     f"{1 - FOLLOWS:.0%} of the prompts")
        else:
            first = "at position 1 no end-to-end policy that learned parity is probed"
        # said of the CoT-reward policies only where some learned parity (not vacuously)
        if bool((stop.stops >= FOLLOWS).all()):
            who = ("the NTP start and the CoT-reward policies stop" if (stop.reward == "CoT").any()
                   else "the NTP start stops")
            first += f", while {who} there: to them a wrong first token is a short answer"
        return f"{after}; {first}"

    # -- prompts off the training distribution ----------------------------------------------------
    def _off_numbers(self) -> dict:
        o = self.off_distribution
        rl = o[o.policy.isin(self.learned())]
        worst = rl.groupby("policy", sort=False).accuracy.min()
        by_reward = {r: worst[rl.groupby("policy", sort=False).reward.first() == r]
                     for r in ("end-to-end", "CoT")}
        robust = [p for p, a in worst.items() if a >= ROBUST]
        gap = float(by_reward["CoT"].mean() - by_reward["end-to-end"].mean())
        missing = [r for r, w in by_reward.items() if not len(w)]
        if len(worst):
            off = (f"{len(robust)} of {len(worst)} policies that learned parity keep greedy "
                   f"accuracy of at least {ROBUST} at every bias"
                   + (f" ({', '.join(robust)})" if robust else "")
                   + f"; the lowest falls to {float(worst.min()):.3f}")
        else:
            off = "no policy learned parity, so none is measured off the training distribution"
        return {"off_biases": ", ".join(f"{q:g}" for q in sorted(set(o.q))),
                "off_y_min": float(o.y_frac.min()), "off_y_max": float(o.y_frac.max()),
                "off_rl_min": float(worst.min()), "off_rl_max": float(worst.max()),
                "off_e2e_mean": float(by_reward["end-to-end"].mean()),
                "off_cot_mean": float(by_reward["CoT"].mean()),
                "off_ntp_long_max": float(o[o.reward == "NTP"].long_frac.max()),
                "off_exact_min": float(rl.exact.min()),
                "off_verdict": off,
                "off_reward_verdict": (
                    f"the rewards are not compared: no policy learned parity under the "
                    f"{' or the '.join(missing)} reward" if missing else
                    "the CoT-reward policies keep more of their accuracy" if gap > CHANCE else
                    "the end-to-end policies keep more of their accuracy" if gap < -CHANCE else
                    f"the two rewards keep about the same accuracy (within {CHANCE})")}

    # -- the reward's role ------------------------------------------------------------------------
    def _reward_verdict(self) -> str:
        e2e, cot = self._sampled("end-to-end"), self._sampled("CoT")
        missing = [name for name, rows in (("end-to-end", e2e), ("CoT", cot)) if not len(rows)]
        if missing:  # "every chain exact" would hold vacuously
            return ("The reward's role is not measured in this build: no policy learned parity "
                    f"under the {' or the '.join(missing)} reward.")
        cot_exact = bool((cot.exact >= EXACT).all())
        loose, cot_loose = self._loose("end-to-end"), self._loose("CoT")
        where = f"position{'s' if len(loose) > 1 else ''} {', '.join(map(str, loose))}"
        if cot_exact and loose and not cot_loose:
            return (f"The CoT reward keeps the sampled chain exact; the end-to-end reward leaves "
                    f"{where} unconstrained: a wrong token there costs nothing when the answer is "
                    "still right, and RL made the chain go wrong there more often than the NTP "
                    "start's.")
        if cot_exact and bool((e2e.exact >= EXACT).all()):
            return ("Both rewards keep the sampled chain exact: the end-to-end reward leaves no "
                    "position unconstrained in these runs.")
        if not cot_exact:
            return (f"The CoT reward does not keep every sampled chain exact here (as low as "
                    f"{float(cot.exact.min()):.3f} of the long answers); "
                    + (f"the end-to-end reward leaves {where} unconstrained." if loose
                       else "no position is left unconstrained under the end-to-end reward."))
        return ("The CoT reward keeps the sampled chain exact; under the end-to-end reward some "
                "long answers are inexact, but the chain first goes wrong at no single position "
                f"in {LOOSE:.0%} of them.")


# the numbers the chapter's prose cites that are over the policies that learned parity: where none
# did (a build that learned nothing), there is no such number, and the text says "n/a", not "nan"
PROSE_FORMATS = {
    "chain_cot_max": ".3f",
    "chain_cot_min": ".3f",
    "chain_e2e_max": ".3f",
    "chain_e2e_min": ".3f",
    "chain_first1_cot_max": ".1%",
    "chain_first1_e2e_max": ".1%",
    "chain_first1_e2e_min": ".1%",
    "chain_greedy_min": ".3f",
    "chain_wrong_right": ".1%",
    "iv_k1_stop_cot_min": ".3f",
    "iv_k1_true_e2e_max": ".3f",
    "iv_k1_true_e2e_min": ".3f",
    "off_cot_mean": ".3f",
    "off_e2e_mean": ".3f",
    "off_exact_min": ".3f",
}


def prose_texts(numbers: dict) -> dict[str, str]:
    """``<name>_text`` for each of ``PROSE_FORMATS``: the number as the prose prints it, or "n/a"."""
    out = {}
    for name, fmt in PROSE_FORMATS.items():
        x = numbers[name]
        out[f"{name}_text"] = "n/a" if x is None or math.isnan(x) else format(x, fmt)
    return out


def _positions_text(loose: list[int], first: pd.DataFrame) -> str:
    """Where the chain first goes wrong in at least LOOSE of some policy's long answers."""
    if not loose:
        return f"the chain first goes wrong at no position in {LOOSE:.0%} of any policy's long answers"
    by_k = first[first.k.isin(loose)].groupby("k").error.agg(["min", "max"])
    return "; ".join(f"at position {k} in {r['min']:.1%} to {r['max']:.1%} of the long answers"
                     for k, r in by_k.iterrows()) + " (over the policies)"


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
