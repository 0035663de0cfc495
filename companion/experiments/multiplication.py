"""The paper's second setting: n-digit multiplication, next-token prediction vs NTP + RL.

The paper (section on other settings): small transformers trained from scratch on n-digit
multiplication with a short/long mixture fail under next-token prediction when long
demonstrations are rare (7 digits at p_cot = 0.1 after 38 GPU-hours); that RL after NTP succeeds
there is its general claim carried to this setting (reconstructed: its RL numbers are not known to us).
Ours, at CPU scale: the chain format of :mod:`companion.multiplication` (reconstructed), NTP from
each of several seeds at one n, GRPO from each, a matched-compute NTP baseline, and NTP + GRPO at
other n from the first seed - where the separation holds and where it does not.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from typing import Callable

import pandas as pd
import torch

from .. import cache, parallel
from ..config import ContinueNTPConfig, NTPRunConfig, Profile, RLConfig
from ..flops import ntp_flops, rl_flops
from ..multiplication import render
from ..train import NTPResult, RLResult, histories, ntp_run, rl_run, rl_task
from . import spread

TARGET = "make multiplication"  # trains the page's runs when `make book` does not
ACCURACY = 0.9  # "solved": greedy accuracy at or above this
FAILED = 0.1  # "NTP fails": greedy accuracy at or below this
KNOWN = 0.5  # sampled long answers at least this often right: the chain is there for RL to amplify


def start_config(prof: Profile, seed: int | None = None, n: int | None = None) -> NTPRunConfig:
    """The page's NTP run, from another seed or at another digit count (block_size follows n)."""
    start = prof.multiplication.start
    task = dataclasses.replace(start.task, n=start.task.n if n is None else n)
    model = dataclasses.replace(start.model, block_size=max(start.model.block_size,
                                                            task.min_block_size))
    train = dataclasses.replace(start.train, seed=start.train.seed if seed is None else seed)
    return NTPRunConfig(task=task, model=model, train=train, eval=start.eval)


def grpo_config(prof: Profile, seed: int) -> RLConfig:
    return dataclasses.replace(prof.multiplication.rl, seed=seed)


def baseline_config(prof: Profile) -> ContinueNTPConfig:
    """NTP continued from the first seed's run: ``baseline_factor`` fresh sequences per RL response."""
    m, start = prof.multiplication, start_config(prof, prof.multiplication.seeds[0])
    responses = m.rl.steps * m.rl.prompts_per_step * m.rl.G
    steps = -(-m.baseline_factor * responses // start.train.batch_size)
    return ContinueNTPConfig(start=start, start_step=start.train.steps, steps=steps)


def runs(prof: Profile) -> dict[str, parallel.Run]:
    """Every run of the page: the NTP starts first (the longest runs), then GRPO from each."""
    m = prof.multiplication
    out = {f"NTP seed {s}": ntp_run(start_config(prof, s)) for s in m.seeds}
    out |= {f"NTP n={n}": ntp_run(start_config(prof, m.seeds[0], n)) for n in m.sweep_n}
    out |= {f"GRPO seed {s}": rl_task(rl_run(grpo_config(prof, s), start_config(prof, s)))
            for s in m.seeds}
    out |= {f"GRPO n={n}": rl_task(rl_run(grpo_config(prof, m.seeds[0]),
                                          start_config(prof, m.seeds[0], n))) for n in m.sweep_n}
    return out | {"baseline": ntp_run(baseline_config(prof))}


def book_runs(prof: Profile) -> dict[str, parallel.Run]:
    """The runs ``make book`` trains: all of them where the profile's book trains them, else
    none (``make multiplication`` trains them; the page reads them)."""
    return runs(prof) if prof.multiplication.book_trains else {}


def _row(ntp: NTPResult, rl: RLResult) -> dict:
    g, s = ntp.final("greedy"), ntp.final("sampled")
    r = rl.final("greedy")
    return {"n": ntp.config.task.n, "seed": ntp.config.train.seed,
            "NTP greedy accuracy": g["accuracy"], "NTP greedy length": g["mean_len"],
            "NTP sampled long fraction": s["long_frac"], "NTP sampled long accuracy": s["acc_long"],
            "NTP+GRPO greedy accuracy": r["accuracy"], "NTP+GRPO greedy length": r["mean_len"],
            "NTP samples": ntp.config.train.steps * ntp.config.train.batch_size,
            "RL responses": int(rl.curve("greedy").responses.max())}


def separated(row: dict | pd.Series) -> bool:
    """NTP alone fails and NTP + GRPO solves it (both greedy)."""
    return row["NTP greedy accuracy"] <= FAILED and row["NTP+GRPO greedy accuracy"] >= ACCURACY


@dataclass
class MultiplicationResult:
    computed = True

    prof: Profile
    ntp: dict[int, NTPResult]  # by NTP seed, at the page's n
    grpo: dict[int, RLResult]  # by NTP seed (GRPO's seed is the same)
    baseline: NTPResult
    sweep_ntp: dict[int, NTPResult]  # by n, first seed
    sweep_grpo: dict[int, RLResult]

    @property
    def n(self) -> int:
        return self.prof.multiplication.start.task.n

    def seeds_table(self) -> pd.DataFrame:
        """Per NTP seed at the page's n: NTP alone, then NTP + GRPO (greedy), and the sampled
        long answers RL starts from."""
        return pd.DataFrame([_row(self.ntp[s], self.grpo[s]) for s in self.ntp]).set_index("seed")

    def sweep_table(self) -> pd.DataFrame:
        """Per digit count (first seed): the same columns, the page's n included."""
        s0 = next(iter(self.ntp))
        rows = [_row(self.ntp[s0], self.grpo[s0])] + [
            _row(self.sweep_ntp[n], self.sweep_grpo[n]) for n in self.sweep_ntp]
        t = pd.DataFrame(rows).sort_values("n").set_index("n").drop(columns="seed")
        return t.assign(separated=[separated(r) for _, r in t.iterrows()])

    def rl_history(self) -> pd.DataFrame:
        return histories({f"NTP seed {s}": r for s, r in self.grpo.items()})

    def ntp_history(self) -> pd.DataFrame:
        """Every NTP evaluation of the page's runs and of the baseline (continued from seed 0)."""
        frames = [r.history.assign(run=f"NTP seed {s}") for s, r in self.ntp.items()]
        s0 = next(iter(self.ntp))
        base = self.baseline.history.assign(
            run=f"NTP seed {s0}", samples=lambda h: h.samples + self.ntp[s0].config.train.steps
            * self.ntp[s0].config.train.batch_size)
        return pd.concat(frames + [base[base.step > 0]], ignore_index=True)

    def examples(self, k: int = 5, seed: int = 0) -> pd.DataFrame:
        """``k`` fresh problems and the greedy answers of the first seed's NTP model and of GRPO
        from it (digits least significant first, as the models write them)."""
        s0 = next(iter(self.ntp))
        ntp, rl = self.ntp[s0], self.grpo[s0]
        task = ntp.task
        ab = task.sample_inputs(k, torch.Generator().manual_seed(seed))
        prompts = task.prompts(ab)
        rows = {"problem": [f"{int(a)} x {int(b)} = {int(a) * int(b)}" for a, b in ab.tolist()],
                "prompt": [render(p) for p in prompts]}
        for name, model in (("NTP", ntp.load_model()), ("NTP+GRPO", rl.load_model())):
            resp = model.generate(prompts, task.max_response, task.eos, task.pad)
            right = task.is_correct(ab, resp)
            rows[f"{name} greedy answer"] = [render(r).replace(" <eos>", "") for r in resp]
            rows[f"{name} right"] = right.tolist()
        return pd.DataFrame(rows)

    def comparison(self) -> pd.DataFrame:
        """The paper's statement beside this build's numbers."""
        v = self.numbers()
        return pd.DataFrame({"paper": PAPER, "this book": {
            "setting": v["mult_setting"],
            "NTP alone, greedy": (f"accuracy at most {v['mult_ntp_greedy_max']:.3f}, answers "
                                  f"{v['mult_ntp_len_max']:.1f} tokens long at most"),
            "NTP + RL, greedy": (f"accuracy at least {v['mult_rl_greedy_min']:.3f}, answers "
                                 f"{spread(v['mult_rl_len_min'], v['mult_rl_len_max'], 1)} tokens long "
                                 f"(GRPO, {v['mult_rl_responses']:,} responses)"),
            "more NTP, same compute": f"greedy accuracy at most {v['mult_baseline_max']:.3f} (ours)",
            "other digit counts": v["mult_sweep_verdict"]}})

    def baseline_flop_ratio(self) -> float:
        s0 = next(iter(self.grpo))
        rl = rl_flops(self.grpo[s0].config, self.grpo[s0].history)
        base = baseline_config(self.prof)
        return ntp_flops(base.start, base.steps) / (rl["rollouts"] + rl["updates"])

    def numbers(self) -> dict:
        t, sw = self.seeds_table(), self.sweep_table()
        m, start = self.prof.multiplication, self.prof.multiplication.start
        k = int(sum(separated(r) for _, r in t.iterrows()))
        ntp_fail = int((t["NTP greedy accuracy"] <= FAILED).sum())
        rl_ok = int((t["NTP+GRPO greedy accuracy"] >= ACCURACY).sum())
        known = int((t["NTP sampled long accuracy"] >= KNOWN).sum())
        n_seeds = len(t)
        bg = self.baseline.history[self.baseline.history.decoding == "greedy"]
        if k == n_seeds:
            verdict = (f"In all {n_seeds} seeds NTP alone fails (greedy accuracy at most {FAILED:g}) "
                       f"and NTP + GRPO solves {self.n}-digit multiplication (greedy accuracy at "
                       f"least {ACCURACY:g}).")
        else:
            verdict = (f"The separation holds in {k} of {n_seeds} seeds: NTP alone fails in "
                       f"{ntp_fail}, NTP + GRPO reaches {ACCURACY:g} in {rl_ok}; the sampled long "
                       f"answers of the NTP runs are at least {KNOWN:g} right in {known} "
                       f"(without a working chain RL has nothing to amplify).")
        long_lo, long_hi = (float(t["NTP sampled long accuracy"].min()),
                            float(t["NTP sampled long accuracy"].max()))
        g_max = float(t["NTP greedy accuracy"].max())
        chain = (f"At the end of next-token prediction the sampled long answers are "
                 f"{long_lo:.3f}-{long_hi:.3f} right across the {n_seeds} seeds, while greedy "
                 f"accuracy is at most {g_max:.3f}")
        chain += (": the chain is learned, and greedy decoding does not use it." if
                  long_lo >= KNOWN and g_max <= FAILED else
                  f" (the chain is at least {KNOWN:g} right in {known} of the {n_seeds}).")
        base_max = float(bg.accuracy.max())
        s0 = t.iloc[0]
        ratio = self.baseline_flop_ratio()
        base_verdict = (f"Over {int(bg.samples.max()):,} more sequences ({ratio:.2f} times the "
                        "counted FLOPs of GRPO's rollouts and updates), next-token prediction "
                        f"reaches greedy accuracy {base_max:.3f} at most" + (
                            f", where GRPO from the same start reached "
                            f"{s0['NTP+GRPO greedy accuracy']:.3f}: the compute alone is not what "
                            "RL adds." if base_max <= FAILED < s0["NTP+GRPO greedy accuracy"] else
                            ": at this budget more NTP does as well as GRPO."
                            if base_max >= s0["NTP+GRPO greedy accuracy"] else
                            f", GRPO from the same start {s0['NTP+GRPO greedy accuracy']:.3f}."))
        sep_n = [int(n) for n, r in sw.iterrows() if r["separated"]]
        ntp_solves = [int(n) for n, r in sw.iterrows() if r["NTP greedy accuracy"] >= ACCURACY]
        neither = [int(n) for n, r in sw.iterrows()
                   if r["NTP greedy accuracy"] < ACCURACY and r["NTP+GRPO greedy accuracy"] < ACCURACY]
        parts = [f"separation at n = {', '.join(map(str, sep_n))}" if sep_n else "no separation at any n"]
        if ntp_solves:
            parts.append(f"NTP alone solves n = {', '.join(map(str, ntp_solves))}")
        if neither:
            parts.append(f"neither reaches {ACCURACY:g} at n = {', '.join(map(str, neither))} "
                         f"within {start.train.steps:,} NTP steps and {m.rl.steps} RL steps")
        g0 = t["NTP+GRPO greedy length"]
        task = self.ntp[next(iter(self.ntp))].task
        setting = (f"n = {self.n} digits, p_cot = {start.task.p_cot:g}, depth "
                   f"{start.model.n_layer}, width {start.model.n_embd}, "
                   f"{int(t['NTP samples'].iloc[0]):,} NTP sequences, {n_seeds} seeds")
        setup = (f"Next-token prediction on {self.n}-digit multiplication at p_cot = "
                 f"{start.task.p_cot:g}: {start.train.steps:,} steps of {start.train.batch_size} "
                 f"fresh sequences ({int(t['NTP samples'].iloc[0]):,} in all) for a GPT of depth "
                 f"{start.model.n_layer} and width {start.model.n_embd}, from {n_seeds} seeds; "
                 f"then GRPO from each ({m.rl.steps} steps of {m.rl.prompts_per_step} prompts x "
                 f"G = {m.rl.G}, learning rate {m.rl.lr:g}, the end-to-end reward). A short answer "
                 f"is {task.short_len} tokens, the chain {task.chain_len}.")
        measured = (f"{setting}: NTP greedy at most {float(t['NTP greedy accuracy'].max()):.3f}; "
                    f"NTP + GRPO greedy at least {float(t['NTP+GRPO greedy accuracy'].min()):.3f}, "
                    f"length {spread(g0.min(), g0.max(), 1)}; {'; '.join(parts)}")
        return {
            "mult_computed": True, "mult_setting": setting, "mult_setup": setup,
            "mult_measured": measured,
            "mult_n": self.n, "mult_p_cot": start.task.p_cot, "mult_seeds": n_seeds,
            "mult_ntp_steps": start.train.steps, "mult_ntp_samples": int(t["NTP samples"].iloc[0]),
            "mult_rl_steps": m.rl.steps, "mult_rl_responses": int(t["RL responses"].max()),
            "mult_G": m.rl.G, "mult_prompts": m.rl.prompts_per_step,
            "mult_n_layer": start.model.n_layer, "mult_n_embd": start.model.n_embd,
            "mult_ntp_greedy_max": float(t["NTP greedy accuracy"].max()),
            "mult_ntp_len_max": float(t["NTP greedy length"].max()),
            "mult_long_acc_min": float(t["NTP sampled long accuracy"].min()),
            "mult_rl_greedy_min": float(t["NTP+GRPO greedy accuracy"].min()),
            "mult_rl_len_min": float(g0.min()), "mult_rl_len_max": float(g0.max()),
            "mult_chain_len": int(self.ntp[next(iter(self.ntp))].task.chain_len),
            "mult_short_len": int(self.ntp[next(iter(self.ntp))].task.short_len),
            "mult_separated": k, "mult_verdict": verdict, "mult_chain_verdict": chain,
            "mult_baseline_max": base_max, "mult_baseline_samples": int(bg.samples.max()),
            "mult_baseline_factor": m.baseline_factor,
            "mult_baseline_flop_ratio": ratio,
            "mult_baseline_verdict": base_verdict,
            "mult_sweep_verdict": "; ".join(parts) + ".",
        }


# the paper's statements, row by row of the comparison (only what it says; "-": it does not)
PAPER = {
    "setting": "n-digit multiplication, GPT-2/Mistral-style transformers from scratch, "
               "p_cot = 0.1 at 7 digits",
    "NTP alone, greedy": "fails at 7 digits with p_cot = 0.1, even after 38 GPU-hours",
    "NTP + RL, greedy": "- (its general claim says it succeeds; no numbers known to us)",
    "more NTP, same compute": "-",
    "other digit counts": "-",
}


@dataclass
class NotComputed:
    """The page's runs are not in the cache and this profile's ``make book`` does not train them:
    the page says so, and what to run, instead of its measurements."""

    prof: Profile
    missing: list[str]  # names of the runs not cached

    computed = False

    @property
    def message(self) -> str:
        return (f"Not computed in this build: {len(self.missing)} of the page's runs are not in the "
                f"cache under profile '{self.prof.name}'. Run `{TARGET} PROFILE={self.prof.name}` "
                "(it trains them into the cache; the README says how long it takes), then build "
                "the book again.")

    def numbers(self) -> dict:
        text = {k: self.message for k in ("mult_setting", "mult_setup", "mult_measured",
                                          "mult_verdict", "mult_chain_verdict",
                                          "mult_baseline_verdict",
                                          "mult_sweep_verdict")}
        return {"mult_computed": False, "mult_separated": 0, "mult_seeds": 0,
                "mult_n": self.prof.multiplication.start.task.n,
                "mult_baseline_factor": self.prof.multiplication.baseline_factor, **text}

    def comparison(self) -> pd.DataFrame:
        return pd.DataFrame({"paper": PAPER, "this book": {k: "not computed" for k in PAPER}})


def compute(prof: Profile, log: Callable[[str], None] | None = None) -> int:
    """Train every run of the page that is not cached (what ``make multiplication`` runs)."""
    return parallel.compute(runs(prof), prof.workers, log=log)


def load(prof: Profile) -> MultiplicationResult | NotComputed:
    """The page's runs: trained first where the profile's book trains them, else read from the
    cache (:class:`NotComputed` if any is missing there)."""
    m = prof.multiplication
    if not m.book_trains:
        todo = runs(prof)
        missing = [name for name, r in todo.items() if not cache.cache_enabled() or not r.done()]
        if missing:
            return NotComputed(prof, missing)
    res = parallel.fetch(runs(prof), prof.workers)
    return MultiplicationResult(
        prof, ntp={s: res[f"NTP seed {s}"] for s in m.seeds},
        grpo={s: res[f"GRPO seed {s}"] for s in m.seeds}, baseline=res["baseline"],
        sweep_ntp={n: res[f"NTP n={n}"] for n in m.sweep_n},
        sweep_grpo={n: res[f"GRPO n={n}"] for n in m.sweep_n})


def settings(prof: Profile) -> pd.DataFrame:
    """``prof``'s settings for the page beside the ``paper`` profile's (a GPU's test of them)."""
    from ..profiles import PROFILES

    return _settings(prof).join(_settings(PROFILES["paper"]), rsuffix=" ")


def _settings(prof: Profile) -> pd.DataFrame:
    m, s = prof.multiplication, prof.multiplication.start
    rows = {"digits n": s.task.n, "p_cot": s.task.p_cot,
            "model (depth x width)": f"{s.model.n_layer} x {s.model.n_embd}",
            "NTP steps x batch": f"{s.train.steps:,} x {s.train.batch_size}",
            "NTP learning rate": f"{s.train.lr:g}", "precision": s.train.precision,
            "GRPO steps x prompts x G": f"{m.rl.steps} x {m.rl.prompts_per_step} x {m.rl.G}",
            "GRPO learning rate": f"{m.rl.lr:g}", "NTP seeds": ", ".join(map(str, m.seeds)),
            "other n": ", ".join(map(str, m.sweep_n)) or "-",
            "trained by": "make book" if m.book_trains else f"{TARGET} PROFILE={prof.name}"}
    return pd.DataFrame({prof.name: {k: str(v) for k, v in rows.items()}})
