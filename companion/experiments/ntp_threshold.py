"""Chapter 2's claim: next-token prediction alone stays at chance below p_cot = 1/3.

The paper (Fig. 2, Theorem 1): a transformer trained by NTP on D(p_cot) answers at chance under
greedy decoding when p_cot < 1/3, with short answers, and generalizes above; sampled, it is
calibrated in length. Runs: a p_cot sweep (``NTPThreshold.sweep``) and long runs at the headline
d (``NTPThreshold.long_run_p_cots``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .. import parallel, theory
from ..config import Profile
from ..evaluate import coin, verdict
from ..verdicts import CALIBRATED, KNOWN
from ..train import NTPResult, ntp_run, results_frame


COIN_PROMPTS, COIN_SEED = 2000, 7  # fresh prompts, not the evaluation's (EvalConfig.seed)


def runs(prof: Profile) -> dict[str, parallel.Run]:
    """The headline-d runs first (each takes ~4x a sweep run), then the sweep."""
    s = prof.ntp_threshold
    out = {f"long p_cot={c.task.p_cot:g}": ntp_run(c) for c in s.long_runs(prof.headline)}
    out |= {f"sweep p_cot={c.task.p_cot:g} seed {c.train.seed}": ntp_run(c) for c in s.sweep.runs()}
    return out


@dataclass
class NTPThresholdResult:
    prof: Profile
    sweep: list[NTPResult]
    long_runs: list[NTPResult]

    @property
    def final(self) -> pd.DataFrame:
        """The sweep's final evaluations, one row per (run, decoding)."""
        return results_frame(self.sweep)

    @property
    def history(self) -> pd.DataFrame:
        """The long runs' evaluations along training."""
        return results_frame(self.long_runs, final_only=False)

    @property
    def coin(self) -> pd.DataFrame:
        """Chapter 1's coin measured on every run's final model (:func:`companion.evaluate.coin`),
        beside the closed forms; one row per run."""
        rows = []
        for kind, results in (("sweep", self.sweep), ("long run", self.long_runs)):
            for r in results:
                c = r.config
                rows.append({"run": f"{kind} (d={c.task.d})", "p_cot": c.task.p_cot,
                             "seed": c.train.seed,
                             **coin(r.load_model().eval(), r.task, COIN_PROMPTS, COIN_SEED)})
        t = pd.DataFrame(rows)
        t["closed_form"] = theory.continue_prob(t.p_cot.values)
        t["first_closed_form"] = theory.first_c1_prob(t.p_cot.values)
        return t

    def coin_numbers(self) -> dict:
        t = self.coin
        gap = (t["continue"] - t.closed_form).abs()
        y_gap = float((t.continue_y_same - t.continue_y_differs).abs().max())
        # where the measured coin crosses 1/2, interpolated along the sweep (greedy goes long there)
        s = t[t.run.str.startswith("sweep")].groupby("p_cot")["continue"].mean()
        above = s[s > 0.5]
        crossing = float("nan")
        if len(above) and above.index[0] > s.index[0]:
            hi = above.index[0]
            lo = s.index[s.index < hi][-1]
            crossing = float(lo + (0.5 - s[lo]) * (hi - lo) / (s[hi] - s[lo]))
        return {
            "coin_gap": float(gap.max()), "coin_n": len(t), "coin_prompts": COIN_PROMPTS,
            "coin_tol": CALIBRATED, "coin_y_gap": y_gap,
            "coin_first_gap": float((t.first_c1 - t.first_closed_form).abs().max()),
            "coin_verdict": (f"the measured coin is the closed form's: within {CALIBRATED} of "
                             f"2p/(1+p) at all {len(t)} runs") if float(gap.max()) <= CALIBRATED else
                            (f"the measured coin is more than {CALIBRATED} away from 2p/(1+p) at "
                             f"{int((gap > CALIBRATED).sum())} of {len(t)} runs"),
            "coin_y_verdict": "does not depend on the answer y (the same whether y equals b_1 "
                              "or not): the model decides to continue without knowing y"
                              if y_gap <= CALIBRATED else "depends on the answer y: the model has "
                              "learned something of x -> y itself",
            "coin_crossing": crossing,
            "coin_crossing_text": (f"at about p_cot = {crossing:.2f}" if crossing == crossing else
                                   "nowhere in the sweep (it stays on one side of 1/2)"),
        }

    def numbers(self) -> dict:
        prof, base = self.prof, self.prof.ntp_threshold.sweep.base
        final, history = self.final, self.history
        greedy = final[final.decoding == "greedy"].groupby("p_cot").accuracy.mean()
        sampled = final[final.decoding == "sampled"].groupby("p_cot").long_frac.mean()
        g = history[history.decoding == "greedy"]
        last = g[g.step == g.step.max()]
        s = history[(history.decoding == "sampled") & (history.step == history.step.max())]
        acc_long = float(s.acc_long.min())
        return {
            "profile_name": prof.name, "n_layer": base.model.n_layer, "n_embd": base.model.n_embd,
            "sweep_steps": base.train.steps, "batch": base.train.batch_size,
            "sweep_samples": base.train.steps * base.train.batch_size, "sweep_d": base.task.d,
            "n_eval": base.eval.n_prompts,
            "acc_low": float(greedy.loc[0.1]), "acc_high": float(greedy.loc[0.5]),
            "sweep_verdict": verdict(greedy, theory.greedy_accuracy(greedy.index.values), tol=0.05,
                                     skip=lambda p: abs(p - 1 / 3) < 0.05),
            "calib_gap": float((sampled - sampled.index.to_series()).abs().max()),
            "calib_verdict": "the model produces the chain about as often as it saw it"
            if float((sampled - sampled.index.to_series()).abs().max()) <= CALIBRATED else
            "the long fraction does not track p_cot closely in this run",
            "long_d": prof.headline.task.d, "long_samples": int(g.samples.max()),
            "long_final_acc": float(last.accuracy.max()),
            "long_max_acc": float(g[g.step > 0].accuracy.max()),
            "long_final_len": float(last.median_len.max()),
            "long_sampled_acc_long": acc_long,
            "long_which": "the lowest over the runs" if len(self.long_runs) > 1 else
                          f"p_cot = {prof.ntp_threshold.long_run_p_cots[0]:g}",
            "knows_chain": "The knowledge is there; greedy decoding does not use it."
                           if acc_long >= KNOWN else "At this budget the chain itself is not fully "
                           "learned yet, which RL will need (chapter 3).",
            **self.coin_numbers(), **self.near_numbers(),
        }

    def near_numbers(self) -> dict:
        """Every seed at the two sweep points nearest 1/3, against the closed form."""
        g = self.final[self.final.decoding == "greedy"]
        near = {p: g[g.p_cot == p].accuracy for p in self.prof.ntp_threshold.sweep.near()}
        off = [(p, a) for p, accs in near.items() for a in accs
               if abs(a - float(theory.greedy_accuracy(p))) > 0.05]
        n = sum(len(a) for a in near.values())
        return {"near_text": "; ".join(f"at p_cot = {p:g}, {len(a)} seed(s): greedy accuracy "
                                       f"{a.min():.3f} to {a.max():.3f}" for p, a in near.items()),
                "near_verdict": (f"all {n} runs are within 0.05 of the closed form" if not off else
                                 f"{len(off)} of {n} runs are more than 0.05 away from the closed "
                                 "form: " + ", ".join(f"{a:.3f} at p_cot = {p:g}" for p, a in off))}


def load(prof: Profile) -> NTPThresholdResult:
    res = parallel.fetch(runs(prof), prof.workers)
    return NTPThresholdResult(prof, sweep=[v for k, v in res.items() if k.startswith("sweep")],
                              long_runs=[v for k, v in res.items() if k.startswith("long")])
