"""Chapter 3's claim: RL after next-token prediction succeeds where NTP alone stays at chance.

The paper (Fig. 1 right, Fig. 3): from an NTP model at chance (p_cot < 1/3), GRPO, REINFORCE and
STaR with an outcome reward reach ~100% greedy accuracy after few samples; RL fails from a
too-early checkpoint, and STaR fails at a high temperature with the end-to-end reward. Ours: a
matched-compute NTP baseline, and rare long data (p_cot = 0.01) at our budget.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from .. import parallel
from ..config import ContinueNTPConfig, NTPRunConfig, Profile, RLConfig, with_
from ..evaluate import evaluate
from ..flops import ntp_flops, rl_flops
from ..verdicts import CHANCE, KNOWN, SOLVED
from ..train import NTPResult, RLResult, ntp_run, rl_run, rl_task, summarize



def start_config(prof: Profile, ntp_seed: int | None = None) -> NTPRunConfig:
    """The NTP run RL starts from: the headline run (chapter 2's long run at its p_cot), or the
    same run from another NTP seed."""
    return with_(prof.headline, steps=prof.rl_after_ntp.start_steps, seed=ntp_seed)


def other_ntp_seeds(prof: Profile) -> tuple[int, ...]:
    """The NTP seeds besides the headline's (the profile checks that it comes first)."""
    return prof.rl_after_ntp.ntp_seeds[1:]


def across_ntp_config(prof: Profile) -> RLConfig:
    """GRPO from each NTP seed: the first GRPO seed's config."""
    r = prof.rl_after_ntp
    return dataclasses.replace(r.rl, algorithm="grpo", seed=r.seeds[0])


def across_ntp_others(prof: Profile) -> dict[str, RLConfig]:
    """REINFORCE and STaR from each NTP seed: their first seed's configs."""
    r = prof.rl_after_ntp
    return {a: dataclasses.replace(r.rl, algorithm=a, seed=r.other_seeds[0])
            for a in ("reinforce", "star")}


def rare_start_config(prof: Profile) -> NTPRunConfig:
    """The start with the rarest long data."""
    r = prof.rl_after_ntp
    return with_(prof.headline, p_cot=r.rare_p_cot, steps=r.rare_steps)


def algorithm_configs(prof: Profile) -> dict[str, RLConfig]:
    """GRPO over ``seeds``, REINFORCE and STaR over ``other_seeds``; "<algorithm> seed <seed>"."""
    r = prof.rl_after_ntp
    seeds = {"grpo": r.seeds, "reinforce": r.other_seeds, "star": r.other_seeds}
    return {f"{a} seed {s}": dataclasses.replace(r.rl, algorithm=a, seed=s)
            for a, by_seed in seeds.items() for s in by_seed}


def hot_star_configs(prof: Profile) -> dict[str, RLConfig]:
    """STaR at ``hot_temperature`` with the end-to-end and with the CoT reward."""
    r = prof.rl_after_ntp
    hot = dataclasses.replace(r.rl, algorithm="star", temperature=r.hot_temperature)
    return {f"T={hot.temperature:g}, {w} reward": dataclasses.replace(hot, reward=w)
            for w in ("end_to_end", "cot")}


def baseline_config(prof: Profile) -> ContinueNTPConfig:
    """The matched-compute baseline: NTP continued from the start, ``baseline_factor`` fresh
    sequences per response the headline RL run samples."""
    r, start = prof.rl_after_ntp, start_config(prof)
    responses = r.rl.steps * r.rl.prompts_per_step * r.rl.G
    steps = -(-r.baseline_factor * responses // start.train.batch_size)
    return ContinueNTPConfig(start=start, start_step=start.train.steps, steps=steps)


def baseline_flop_ratio(prof: Profile, grpo: RLResult) -> float:
    """The baseline's counted training FLOPs over the headline GRPO run's rollouts and updates
    (:mod:`companion.flops`, from the run's own response lengths); evaluation left out of both."""
    base = baseline_config(prof)
    rl = rl_flops(grpo.config, grpo.history)
    return ntp_flops(base.start, base.steps) / (rl["rollouts"] + rl["updates"])


def early_steps(prof: Profile) -> tuple[int, ...]:
    return (*prof.rl_after_ntp.early_steps, prof.rl_after_ntp.start_steps)


def runs(prof: Profile) -> dict[str, parallel.Run]:
    """Every run of the chapter (``parallel.compute`` trains a run's NTP start before it)."""
    r, start = prof.rl_after_ntp, start_config(prof)
    # the starts first: with the cache off, the runs after them start from these results
    out = {"start": ntp_run(start)}
    # then the other NTP seeds' GRPO runs: their NTP starts are the chapter's longest runs
    out |= {f"NTP seed {s}": rl_task(rl_run(across_ntp_config(prof), start_config(prof, s)))
            for s in other_ntp_seeds(prof)}
    out |= {f"{a}, NTP seed {s}": rl_task(rl_run(c, start_config(prof, s)))
            for a, c in across_ntp_others(prof).items() for s in other_ntp_seeds(prof)}
    out |= {"rare start": ntp_run(rare_start_config(prof)),
            "rare": rl_task(rl_run(r.rl, rare_start_config(prof)))}
    out |= {name: rl_task(rl_run(c, start)) for name, c in algorithm_configs(prof).items()}
    out |= {name: rl_task(rl_run(c, start)) for name, c in hot_star_configs(prof).items()}
    out |= {f"NTP step {k}": rl_task(rl_run(r.rl, start, k)) for k in early_steps(prof)}
    return out | {"baseline": ntp_run(baseline_config(prof))}


@dataclass
class RLAfterNTPResult:
    prof: Profile
    start: NTPResult
    algorithms: dict[str, RLResult]  # "<algorithm> seed <seed>"
    baseline: NTPResult
    early: dict[str, RLResult]  # "NTP step <k>", the last one the final model
    early_start: list[dict]  # sampled evaluation of each of those NTP checkpoints
    rare_start: NTPResult
    rare: RLResult
    hot_star: dict[str, RLResult]  # the two hot runs, then STaR at T=1 (end-to-end reward)
    across_ntp: dict[str, RLResult]  # "NTP seed <s>": GRPO from each NTP seed, the headline's first
    across_others: dict[str, RLResult] | None = None  # "<algorithm>, NTP seed <s>": REINFORCE, STaR

    def start_table(self) -> pd.DataFrame:
        h = self.start.history
        return h[h.step == self.start.config.train.steps].set_index("decoding")[
            ["accuracy", "long_frac", "mean_len", "acc_long", "acc_short"]]

    def early_table(self) -> pd.DataFrame:
        return summarize(self.early).assign(
            **{"sampled acc_long at start": [c["acc_long"] for c in self.early_start]})

    def numbers(self) -> dict:
        return {**self._start_numbers(), **self._algorithm_numbers(), **self._baseline_numbers(),
                **self._early_numbers(), **self._rare_numbers(), **self._hot_numbers(),
                **self._across_ntp_numbers()}

    def across_ntp_table(self) -> pd.DataFrame:
        """Per NTP seed: the start's greedy accuracy (RL's evaluation at step 0) and GRPO's
        result from it (then REINFORCE's and STaR's, when they ran from every seed)."""
        runs = self.across_ntp | (self.across_others or {})
        table = summarize(runs).set_index("run")
        start = {k: float(r.curve("greedy").accuracy.iloc[0]) for k, r in runs.items()}
        return table.assign(**{"NTP greedy accuracy": [start[k] for k in table.index]})[
            ["algorithm", "NTP greedy accuracy", "final greedy accuracy", "final mean length",
             f"responses to {SOLVED:g}"]]

    def _start_numbers(self) -> dict:
        c, g, smp = self.start.config, self.start.final("greedy"), self.start.final("sampled")
        clean = (abs(g["accuracy"] - 0.5) <= CHANCE and g["mean_len"] < 2
                 and abs(smp["long_frac"] - c.task.p_cot) <= 0.05 and smp["acc_long"] >= KNOWN)
        verdict = ("Greedy decoding answers at chance with short answers; sampled at temperature 1, "
                   "the model goes long about as often as it saw long data, and its long answers are "
                   "nearly always right. The knowledge is in the model; greedy decoding does not use it."
                   if clean else
                   f"Greedy decoding answers {g['accuracy']:.3f} right with answers {g['mean_len']:.1f} "
                   f"tokens long; sampled, the model goes long {smp['long_frac']:.3f} of the time and "
                   f"its long answers are {smp['acc_long']:.2f} right: not the clean starting point "
                   "(chance, short, calibrated, chain learned) the argument needs.")
        return {"start_verdict": verdict, "d": c.task.d, "p_cot": c.task.p_cot, "ntp_samples": c.train.steps * c.train.batch_size,
                "ntp_greedy": self.start.final("greedy")["accuracy"],
                "ntp_acc_long": self.start.final("sampled")["acc_long"],
                "profile_name": self.prof.name, "n_layer": c.model.n_layer, "n_embd": c.model.n_embd}

    def _algorithm_numbers(self) -> dict:
        r = self.prof.rl_after_ntp
        table = summarize(self.algorithms)
        by_algo = table.groupby("algorithm")
        reach = by_algo[f"responses to {SOLVED:g}"]
        grpo = table[table.algorithm == "grpo"]
        return {"G": r.rl.G, "prompts": r.rl.prompts_per_step, "temp": r.rl.temperature,
                "lr": r.rl.lr, "n_seeds": len(r.seeds), "n_other_seeds": len(r.other_seeds),
                "grpo_reach_max": float(reach.max()["grpo"]), "grpo_reach_min": float(reach.min()["grpo"]),
                "grpo_n_reached": int(grpo[f"responses to {SOLVED:g}"].notna().sum()),
                "reached_at": SOLVED,
                "grpo_final_min": float(by_algo["final greedy accuracy"].min()["grpo"]),
                "grpo_len": float(by_algo["final mean length"].mean()["grpo"]),
                "reinforce_final": float(by_algo["final greedy accuracy"].mean()["reinforce"]),
                "star_final": float(by_algo["final greedy accuracy"].mean()["star"]),
                "rl_responses": int(table.responses.max())}

    def _baseline_numbers(self) -> dict:
        bg = self.baseline.history[self.baseline.history.decoding == "greedy"]
        chance = abs(float(bg.accuracy.max()) - 0.5) <= CHANCE
        short = float(bg.mean_len.max()) < 2
        verdict = ("Greedy decoding stays at chance: the longer NTP run keeps the greedy answer "
                   "short." if chance and short else
                   "Greedy decoding stays at chance, though the greedy answers lengthen." if chance
                   else "Greedy decoding leaves chance here: more next-token prediction alone helps "
                   "at this budget.")
        return {"baseline_factor": self.prof.rl_after_ntp.baseline_factor,
                "baseline_samples": int(bg.samples.max()), "baseline_max": float(bg.accuracy.max()),
                "baseline_len": float(bg.mean_len.iloc[-1]),
                "baseline_flop_ratio": baseline_flop_ratio(
                    self.prof, self.algorithms[f"grpo seed {self.prof.rl_after_ntp.seeds[0]}"]),
                "baseline_verdict": verdict}

    def _early_numbers(self) -> dict:
        table, start, prof = summarize(self.early), self.start, self.prof
        out = {"early_step": early_steps(prof)[0],
               "early_final": float(table["final greedy accuracy"].iloc[0]),
               "early_len": float(table["final mean length"].iloc[0]),
               "early_acc_long": float(self.early_start[0]["acc_long"])}
        no_chain = out["early_acc_long"] < KNOWN and out["early_final"] - 0.5 <= CHANCE
        out["early_verdict"] = ("Without a working chain a long answer earns no more reward than a "
                                "short guess, and RL has nothing to amplify" if no_chain else
                                "RL from this checkpoint does not simply stay at chance")
        # the paper's middle ground: RL lengthened the answers without making them right; short
        # of it, RL lengthened them and accuracy rose, but not to SOLVED
        final = {k: r.final("greedy") for k, r in self.early.items()}
        longer = {k: f for k, f in final.items() if f["mean_len"] > 2}
        middle = [k for k, f in longer.items() if f["accuracy"] - 0.5 <= CHANCE]
        partway = [f"from {k} RL lengthened the greedy answers to {f['mean_len']:.1f} tokens while "
                   f"greedy accuracy rose to {f['accuracy']:.3f}, above chance but short of "
                   f"{SOLVED:g}" for k, f in longer.items()
                   if k not in middle and f["accuracy"] < SOLVED]
        out["early_middle"] = (f"here {', '.join(middle)} does" if middle else
                               f"none lands there exactly: {'; '.join(partway)}" if partway else
                               "none of our checkpoints lands there")
        # the window of checkpoints: from which one on RL succeeds
        steps = early_steps(prof)
        out["early_window"] = ", ".join(f"{k:,}" for k in steps)
        reach = [k for k, f in zip(steps, table["final greedy accuracy"]) if f >= SOLVED]
        out["early_first_reach"] = (f"GRPO first reaches {SOLVED:g} from the step-{reach[0]:,} "
                                    "checkpoint" if reach else
                                    f"GRPO reaches {SOLVED:g} from none of them")
        # when the chain appeared in the start run: the first evaluation with sampled long
        # answers >= 90% right
        hs = start.history[start.history.decoding == "sampled"].sort_values("step")
        learned = hs[hs.acc_long >= KNOWN]
        batch, p_cot = start.config.train.batch_size, start.config.task.p_cot
        if len(learned):
            k = int(learned.step.iloc[0])
            before = hs[hs.step < k]
            prev = (f"; at step {int(before.step.iloc[-1]):,} they were {before.acc_long.iloc[-1]:.0%} right"
                    if len(before) and before.acc_long.notna().iloc[-1] else "")
            out["chain_appears"] = (f"{prof.name} profile: sampled long answers are first at least "
                                    f"90% right at NTP step {k:,}{prev}")
            out["chain_long"] = k * batch * p_cot  # long demonstrations seen
        else:
            out["chain_long"] = start.config.train.steps * batch * p_cot  # a lower bound
            out["chain_appears"] = (f"{prof.name} profile: sampled long answers never reach 90% "
                                    "right in this NTP run")
        return out

    def _rare_numbers(self) -> dict:
        c = self.rare_start.config
        rs = self.rare.curve("sampled")
        out = {"rare_p": self.prof.rl_after_ntp.rare_p_cot,
                "rare_long": c.train.steps * c.train.batch_size * c.task.p_cot,
                "rare_len0": float(rs.mean_len.iloc[0]), "rare_len1": float(rs.mean_len.iloc[-1]),
                "rare_final": self.rare.final("greedy")["accuracy"],
                "rare_acc_long0": float(self.rare_start.final("sampled")["acc_long"])}
        stuck = out["rare_acc_long0"] < KNOWN and out["rare_final"] - 0.5 <= CHANCE
        out["rare_verdict"] = (
            "so there was no chain to reward. This is a limit of our compute, not a contradiction "
            "of the paper: rare long data needs a correspondingly longer NTP phase before RL can "
            "take off." if stuck else "and RL still moved the model away from chance.")
        return out

    def _across_ntp_numbers(self) -> dict:
        t = self.across_ntp_table()
        others = self._across_others_numbers(t[t.algorithm != "grpo"])
        t = t[t.algorithm == "grpo"]
        at_chance = (t["NTP greedy accuracy"] - 0.5).abs() <= CHANCE
        reached = t[f"responses to {SOLVED:g}"].notna()
        n, k = len(t), int(reached.sum())
        starts = ("every start answers at chance" if at_chance.all() else
                  f"{int(at_chance.sum())} of the {n} starts answer at chance")
        runs = ("GRPO reaches {a:g} from every one: the result does not hang on one NTP run"
                if k == n else "GRPO reaches {a:g} from none of them at this budget" if k == 0 else
                "GRPO reaches {a:g} from {k} of them: the result depends on the NTP run")
        verdict = f"Across the {n} NTP seeds, {starts}; {runs.format(a=SOLVED, k=k)}."
        return {"n_ntp_seeds": n, "ntp_seed_greedy_min": float(t["NTP greedy accuracy"].min()),
                "ntp_seed_greedy_max": float(t["NTP greedy accuracy"].max()),
                "across_final_min": float(t["final greedy accuracy"].min()),
                "across_final_max": float(t["final greedy accuracy"].max()),
                "across_n_reached": int(reached.sum()), "across_verdict": verdict, **others}

    @staticmethod
    def _across_others_numbers(t: pd.DataFrame) -> dict:
        """REINFORCE's and STaR's finals from every NTP seed, and a sentence on them."""
        out, said = {}, []
        for a, name in (("reinforce", "REINFORCE"), ("star", "STaR")):
            g = t[t.algorithm == a]
            if not len(g):
                continue
            k = int(g[f"responses to {SOLVED:g}"].notna().sum())
            out |= {f"{a}_across_min": float(g["final greedy accuracy"].min()),
                    f"{a}_across_max": float(g["final greedy accuracy"].max()),
                    f"{a}_across_reached": k, f"{a}_across_n": len(g)}
            said.append(f"{name} from {'every one' if k == len(g) else f'{k} of them'}")
        if said:
            out["others_across_verdict"] = f"{SOLVED:g} is reached by {' and '.join(said)}."
        return out

    def _hot_numbers(self) -> dict:
        hot = summarize(self.hot_star).set_index("run")["final greedy accuracy"]
        return {"hot_T": self.prof.rl_after_ntp.hot_temperature, "hot_e2e": float(hot.iloc[0]),
                "hot_cot": float(hot.iloc[1])}


def load(prof: Profile) -> RLAfterNTPResult:
    res = parallel.fetch(runs(prof), prof.workers)
    start = res["start"]
    algorithms = {k: res[k] for k in algorithm_configs(prof)}
    early = {f"NTP step {k}": res[f"NTP step {k}"] for k in early_steps(prof)}
    early_start = [evaluate(start.load_model(k), start.task, start.config.eval, ("sampled",))[0]
                   for k in early_steps(prof)]
    hot = {k: res[k] for k in hot_star_configs(prof)}
    hot["T=1, end_to_end reward"] = algorithms[f"star seed {prof.rl_after_ntp.other_seeds[0]}"]
    headline = f"NTP seed {start.config.train.seed}"
    across = {headline: algorithms[f"grpo seed {prof.rl_after_ntp.seeds[0]}"]}
    across |= {f"NTP seed {s}": res[f"NTP seed {s}"] for s in other_ntp_seeds(prof)}
    others = {}
    for a, c in across_ntp_others(prof).items():
        others[f"{a}, {headline}"] = algorithms[f"{a} seed {c.seed}"]
        others |= {f"{a}, NTP seed {s}": res[f"{a}, NTP seed {s}"] for s in other_ntp_seeds(prof)}
    return RLAfterNTPResult(prof, start=start, algorithms=algorithms, baseline=res["baseline"],
                            early=early, early_start=early_start, rare_start=res["rare start"],
                            rare=res["rare"], hot_star=hot, across_ntp=across,
                            across_others=others)
