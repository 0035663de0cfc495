"""Chapter 2's claims: next-token prediction alone stays at chance below p_cot = 1/3.

The paper (Fig. 2, Theorem 1): a transformer trained by NTP on D(p_cot) answers at chance under
greedy decoding when p_cot < 1/3, with short answers, and generalizes above. Our reconstruction
(chapter 1) adds two checks: sampled at temperature 1 the model is long with probability p_cot
("calibrated in length"), and after the chain's first token it continues with probability
2p/(1+p) ("the coin"). Runs: a p_cot sweep (``NTPThreshold.sweep``) and long runs at the headline
d (``NTPThreshold.long_run_p_cots``).

Each claim owns its verdict here: typed evidence (``*Evidence``, what its rule reads), and one
rule (``judge_*``) that turns it into an :class:`~companion.verdicts.Outcome`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from .. import parallel, theory
from ..config import Profile
from ..evaluate import coin
from ..theory import THRESHOLD
from ..train import NTPResult, ntp_run, results_frame
from ..verdicts import (CALIBRATED, CHANCE, KNOWN, PAPER_D, PAPER_SAMPLES, PAPER_SETUP, SHORT,
                        SOLVED, Z, Outcome, Scale, Status, at_chance, capped, chain_learned, doc,
                        number, rule, se, within)
from . import spread

COIN_PROMPTS, COIN_SEED = 2000, 7  # fresh prompts, not the evaluation's (EvalConfig.seed)

# sweep points this close to 1/3 are not counted: there a finite run may land on either side
# (the continuation probability 2p/(1+p) is close to 1/2); they get more seeds instead
NEAR = 0.05
PAPER_SCALE = f"d = {PAPER_D}; {PAPER_SETUP} (paper)"
CHAPTER = "02_ntp"
P_LOW, P_HIGH = 0.1, 0.5  # the sweep points the chapter's text quotes (one each side of 1/3)


def runs(prof: Profile) -> dict[str, parallel.Run]:
    """The headline-d runs first (each takes ~4x a sweep run), then the sweep."""
    s = prof.ntp_threshold
    out = {f"long p_cot={c.task.p_cot:g}": ntp_run(c) for c in s.long_runs(prof.headline)}
    out |= {f"sweep p_cot={c.task.p_cot:g} seed {c.train.seed}": ntp_run(c) for c in s.sweep.runs()}
    return out


# --- the judgements the rules share --------------------------------------------------------------
def on_closed_form(p_cot: float, greedy: float, n: int) -> bool:
    """A greedy accuracy as chapter 1's closed form predicts: at chance below 1/3 (within
    ``CHANCE`` or ``Z`` SE of 1/2 on ``n`` prompts), solved above (at least ``SOLVED``)."""
    return at_chance(greedy, n) if p_cot < THRESHOLD else greedy >= SOLVED


def counted(p_cot: float) -> bool:
    """A sweep point far enough from 1/3 (``NEAR``) to be held to the closed form."""
    return abs(p_cot - THRESHOLD) >= NEAR


def long_count(long_frac: float, n_prompts: int) -> int:
    """How many of ``n_prompts`` sampled answers were long."""
    return round(long_frac * n_prompts)


def _acc(x: float) -> float:
    """An accuracy over the long answers: nan (no long answer sampled) counts as 0."""
    return 0.0 if math.isnan(x) else float(x)


def _yes(ok: bool) -> str:
    return "yes" if ok else "no"


def _join(values, fmt: str) -> str:
    return ", ".join(format(v, fmt) for v in values)


# --- the headline claim: NTP at chance below 1/3, generalizing above -----------------------------
@dataclass(frozen=True)
class NTPThresholdEvidence:
    """What :func:`judge_ntp_threshold` reads: the headline-d runs below 1/3 (the negative claim
    and its positive control, the chain) and the sweep's greedy accuracy per p_cot."""

    model: str  # e.g. "2 x 64 GPT" (depth x width)
    long_d: int
    long_samples: int  # NTP samples of each long run
    long_prompts: int  # prompts each evaluation counts
    long_p_cots: tuple[float, ...]  # one entry per long run, at its final step:
    long_greedy: tuple[float, ...]  # greedy accuracy
    long_len: tuple[float, ...]  # median greedy response length (tokens before <eos>)
    long_acc_long: tuple[float, ...]  # sampled long answers right (0 where none was sampled)
    long_n_long: tuple[int, ...]  # sampled long answers counted
    sweep_d: int
    sweep_samples: int  # NTP samples of each sweep run
    sweep_prompts: int  # prompts each evaluation counts (the same prompts for every seed)
    sweep_p_cots: tuple[float, ...]
    sweep_greedy: tuple[float, ...]  # final greedy accuracy, mean over the seeds at that p_cot

    @classmethod
    def null(cls) -> NTPThresholdEvidence:
        """A build that learned nothing, at the cpu profile's sizes: greedy at chance and short
        everywhere, sampled long answers right half of the time."""
        ps = (0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5)
        return cls(model="2 x 64 GPT", long_d=50, long_samples=256_000, long_prompts=1000,
                   long_p_cots=(0.25,), long_greedy=(0.5,), long_len=(1.0,),
                   long_acc_long=(0.5,), long_n_long=(250,), sweep_d=16, sweep_samples=256_000,
                   sweep_prompts=1000, sweep_p_cots=ps, sweep_greedy=(0.5,) * len(ps))

    @property
    def below(self) -> list[tuple[float, float]]:
        """(p_cot, greedy) of the counted sweep points below 1/3."""
        return [(p, a) for p, a in zip(self.sweep_p_cots, self.sweep_greedy)
                if p < THRESHOLD and counted(p)]

    @property
    def above(self) -> list[tuple[float, float]]:
        """(p_cot, greedy) of the counted sweep points above 1/3."""
        return [(p, a) for p, a in zip(self.sweep_p_cots, self.sweep_greedy)
                if p > THRESHOLD and counted(p)]

    @property
    def off(self) -> list[tuple[float, float]]:
        """The counted sweep points whose greedy accuracy is off the closed form."""
        return [(p, a) for p, a in self.below + self.above
                if not on_closed_form(p, a, self.sweep_prompts)]

    @property
    def headline_below(self) -> bool:
        """There are long runs, all below 1/3 (where the claim is negative)."""
        return bool(self.long_p_cots) and all(p < THRESHOLD for p in self.long_p_cots)

    @property
    def learned(self) -> bool:
        """Every long run has learned the chain: the positive control."""
        return bool(self.long_p_cots) and all(
            chain_learned(a, n) for a, n in zip(self.long_acc_long, self.long_n_long))

    @property
    def greedy_at_chance(self) -> bool:
        return all(at_chance(a, self.long_prompts) for a in self.long_greedy)

    @property
    def greedy_short(self) -> bool:
        return all(n < SHORT for n in self.long_len)

    @property
    def scale(self) -> Scale:
        runs = len(self.long_p_cots)
        return Scale(
            ours=(f"d = {self.long_d}; {self.long_samples:,} NTP samples; {self.model}; {runs} "
                  f"run{'s' * (runs != 1)} at the headline d; the sweep at d = {self.sweep_d}, "
                  f"{self.sweep_samples:,} samples per run"),
            paper=PAPER_SCALE,
            met=(self.long_d >= PAPER_D and self.long_samples >= PAPER_SAMPLES
                 and self.sweep_d >= PAPER_D))


def _points(points: list[tuple[float, float]]) -> str:
    return ", ".join(f"{a:.3f} at p_cot = {p:g}" for p, a in points) or "none"


@rule
def judge_ntp_threshold(e: NTPThresholdEvidence) -> Outcome:
    """Two halves. Below 1/3: every headline-d run has learned the chain (sampled long answers
    right at least KNOWN, beyond Z SE of chance: the positive control) and still answers greedily
    at chance (within CHANCE or Z SE of 1/2) and short (median length below SHORT), and every
    sweep point below 1/3 is at chance. Above 1/3: every sweep point reaches SOLVED. Sweep points
    within NEAR of 1/3 are not counted. Reproduced: both halves; partly: one. Capped at "partly
    (scaled analogue)" below d = PAPER_D or PAPER_SAMPLES samples (the headline or the sweep)."""
    n_long = min(e.long_n_long, default=0)
    acc_long = min(e.long_acc_long, default=0.0)
    greedy = max(e.long_greedy, key=lambda a: abs(a - 0.5), default=0.5)
    below_sweep = all(on_closed_form(p, a, e.sweep_prompts) for p, a in e.below)
    above_sweep = bool(e.above) and all(a >= SOLVED for _, a in e.above)
    below = (e.headline_below and e.learned and e.greedy_at_chance and e.greedy_short
             and below_sweep)
    status = capped(Status.REPRODUCED if below and above_sweep else
                    Status.PARTLY if below or above_sweep else Status.NOT_REPRODUCED, e.scale)

    # the number the status turned on: the first check that failed, else the headline greedy
    if not e.learned:
        value, target = acc_long, KNOWN
    elif not above_sweep:
        value, target = min((a for _, a in e.above), default=None), SOLVED
    else:
        value, target = greedy, 0.5
    checks = [
        f"the chain learned at d = {e.long_d} (sampled long answers right, lowest over the runs: "
        f"{acc_long:.3f} on {n_long} counted; KNOWN = {KNOWN}): {_yes(e.learned)}",
        f"greedy at chance there (farthest from 1/2: {greedy:.3f} on {e.long_prompts:,} "
        f"prompts; CHANCE = {CHANCE} or Z = {Z:g} SE): {_yes(e.greedy_at_chance)}",
        f"greedy answers short (median length at most {max(e.long_len, default=0):.0f}; SHORT = "
        f"{SHORT:g}): {_yes(e.greedy_short)}",
        f"the sweep below 1/3 at chance ({_points(e.below)}): {_yes(below_sweep)}",
        f"the sweep above 1/3 solved ({_points(e.above)}; SOLVED = {SOLVED}): "
        f"{_yes(above_sweep)}",
    ]
    if not e.learned:
        checks.append("without a learned chain, greedy at chance shows nothing: an untrained model "
                      "is at chance too")
    if status is Status.SCALED:
        checks.append(f"below the claim's own scale (d = {PAPER_D}, ~10^7 samples): a scaled "
                      "analogue")
    greedy_lo, greedy_hi = min(e.long_greedy, default=0.5), max(e.long_greedy, default=0.5)
    chain = ", ".join(f"{a:.2f} ({n} counted)" for a, n in zip(e.long_acc_long, e.long_n_long))
    chain_spread = spread(acc_long, max(e.long_acc_long, default=0.0), 2)
    return Outcome(
        claim="ntp_threshold", title="NTP threshold at p_cot = 1/3", chapter=CHAPTER,
        section="A sweep over p_cot; More samples at the headline size",
        statement=("NTP alone stays at chance under greedy decoding below p_cot = 1/3, with short "
                   "answers, even after ~10^7 samples at d = 50; above 1/3 it generalizes "
                   "(paper, Fig. 2, Theorem 1)."),
        ours=False, status=status,
        key=(f"greedy {spread(greedy_lo, greedy_hi, 3)} at d = {e.long_d} after "
             f"{e.long_samples:,} samples over {len(e.long_greedy)} "
             f"run(s), sampled long answers right {chain_spread}; sweep "
             f"(d = {e.sweep_d}) above 1/3: {_points(e.above)}"),
        measured=(f"sweep (d = {e.sweep_d}, {e.sweep_samples:,} samples per run): greedy "
                  f"{_points(list(zip(e.sweep_p_cots, e.sweep_greedy)))}; {len(e.off)} of "
                  f"{len(e.below) + len(e.above)} points away from 1/3 off the closed form. "
                  f"Headline (d = {e.long_d}, {e.long_samples:,} samples, p_cot = "
                  f"{_join(e.long_p_cots, 'g')}): greedy {_join(e.long_greedy, '.3f')}, median "
                  f"length {_join(e.long_len, '.0f')}; sampled long answers right {chain}"),
        reason="; ".join(checks),
        rule=doc(judge_ntp_threshold),
        thresholds={"KNOWN": KNOWN, "CHANCE": CHANCE, "Z": Z, "SHORT": SHORT, "SOLVED": SOLVED,
                    "NEAR": NEAR, "PAPER_D": PAPER_D, "PAPER_SAMPLES": PAPER_SAMPLES},
        scale=e.scale, value=number(value), target=number(target))


# --- calibrated in length ------------------------------------------------------------------------
@dataclass(frozen=True)
class CalibrationEvidence:
    """What :func:`judge_calibration` reads: the sweep's sampled long fraction per p_cot, and
    whether the chain behind those long answers is learned there."""

    model: str
    sweep_d: int
    sweep_samples: int
    prompts: int  # sampled answers counted per evaluation (the same prompts for every seed)
    p_cots: tuple[float, ...]  # one entry per sweep point:
    long_frac: tuple[float, ...]  # sampled long fraction, mean over seeds
    acc_long: tuple[float, ...]  # sampled long answers right, lowest over seeds (0: none)
    n_long: tuple[int, ...]  # sampled long answers counted, fewest over seeds

    @classmethod
    def null(cls) -> CalibrationEvidence:
        """A build that learned nothing but the format: long exactly as often as it saw long
        data (the hardest null for this rule), its long answers right half of the time."""
        ps = (0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5)
        return cls(model="2 x 64 GPT", sweep_d=16, sweep_samples=256_000, prompts=1000,
                   p_cots=ps, long_frac=ps, acc_long=(0.5,) * len(ps),
                   n_long=tuple(long_count(p, 1000) for p in ps))

    @property
    def learned(self) -> list[bool]:
        return [chain_learned(a, n) for a, n in zip(self.acc_long, self.n_long)]

    @property
    def calibrated(self) -> list[bool]:
        return [within(f, p, self.prompts) for p, f in zip(self.p_cots, self.long_frac)]

    @property
    def scale(self) -> Scale:
        return Scale(ours=(f"d = {self.sweep_d}; {self.sweep_samples:,} NTP samples per run; "
                           f"{self.model}; {len(self.p_cots)} values of p_cot"),
                     paper="any d, once the chain is learned (reconstructed)", met=True)


@rule
def judge_calibration(e: CalibrationEvidence) -> Outcome:
    """Counted only where the chain is learned (sampled long answers right at least KNOWN, beyond
    Z SE of chance): a long fraction near p_cot from a model whose long answers are wrong shows
    only the format. Reproduced: at every sweep point the chain is learned and the sampled long
    fraction is within CALIBRATED or Z SE of p_cot; partly: so at every point where the chain is
    learned, but it is not learned at some; not reproduced: learned nowhere, or off p_cot at a
    point where it is."""
    learned, calibrated = e.learned, e.calibrated
    gaps = [abs(f - p) for p, f in zip(e.p_cots, e.long_frac)]
    learned_gaps = [g for g, ok in zip(gaps, learned) if ok]
    off = [p for p, ok, c in zip(e.p_cots, learned, calibrated) if ok and not c]
    if not any(learned):
        status, why = Status.NOT_REPRODUCED, ("the chain is learned at no sweep point: a long "
                                               "fraction near p_cot there shows only the format")
    elif off:
        status, why = Status.NOT_REPRODUCED, (
            "off p_cot where the chain is learned, at p_cot = " + ", ".join(f"{p:g}" for p in off))
    elif all(learned):
        status, why = Status.REPRODUCED, "within the band at every point, the chain learned at each"
    else:
        status, why = Status.PARTLY, (
            f"within the band at the {sum(learned)} points where the chain is learned; not learned "
            "at p_cot = " + ", ".join(f"{p:g}" for p, ok in zip(e.p_cots, learned) if not ok))
    band = max(CALIBRATED, Z * se(0.5, e.prompts))  # the widest band any point gets
    value = max(learned_gaps or gaps, default=None)
    return Outcome(
        claim="calibration", title="Calibrated in length", chapter=CHAPTER,
        section="Calibrated in length",
        statement=("Sampled at temperature 1, the NTP model answers long with probability "
                   "about p_cot, \"calibrated in length\" (reconstructed: chapter 1's closed form, "
                   "consistent with the paper's Theorem 1)."),
        # chapter 1 derives it as our reconstruction, and the book does not attribute the
        # statement itself to the paper: a check of our reconstruction
        ours=True, status=capped(status, e.scale),
        key=(f"largest gap to p_cot {max(gaps, default=0.0):.3f} over {len(gaps)} points "
             f"(d = {e.sweep_d}); chain learned at {sum(learned)}"),
        measured=("sampled long fraction at p_cot = " + ", ".join(
            f"{p:g}: {f:.3f} (long answers right {a:.2f}, {n} counted)"
            for p, f, a, n in zip(e.p_cots, e.long_frac, e.acc_long, e.n_long))
            + f"; {e.prompts:,} prompts each"),
        reason=(f"{why} (CALIBRATED = {CALIBRATED} or Z = {Z:g} SE, at most {band:.3f} on "
                f"{e.prompts:,} prompts; KNOWN = {KNOWN})"),
        rule=doc(judge_calibration),
        thresholds={"CALIBRATED": CALIBRATED, "Z": Z, "KNOWN": KNOWN}, scale=e.scale,
        value=number(value), target=CALIBRATED)


# --- the coin -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CoinEvidence:
    """What :func:`judge_coin` reads: chapter 1's coin measured on every run's final model, and
    whether that run learned the chain (the closed form is about a model that has)."""

    model: str
    prompts: int  # fresh prompts the coin is averaged over (COIN_PROMPTS)
    p_cots: tuple[float, ...]  # one entry per run:
    d: tuple[int, ...]
    coin: tuple[float, ...]  # P(continue | b_1), closed form 2p/(1+p)
    first: tuple[float, ...]  # P(first token = b_1), closed form (1+p)/2
    y_same: tuple[float, ...]  # P(continue | b_1) where y = b_1 ...
    y_differs: tuple[float, ...]  # ... and where y != b_1
    acc_long: tuple[float, ...]  # the run's sampled long answers right (0: none sampled)
    n_long: tuple[int, ...]  # ... and how many were counted
    crossing: float | None  # where the sweep's measured coin crosses 1/2 (None: nowhere)

    @classmethod
    def null(cls) -> CoinEvidence:
        """A build that learned nothing: its chain unlearned, and (the hardest null) a coin on
        the closed form that does not depend on y, as an untrained model's can."""
        ps = (0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.25)
        coin = tuple(float(theory.continue_prob(p)) for p in ps)
        return cls(model="2 x 64 GPT", prompts=COIN_PROMPTS, p_cots=ps, d=(16,) * 7 + (50,),
                   coin=coin, first=tuple(float(theory.first_c1_prob(p)) for p in ps),
                   y_same=coin, y_differs=coin, acc_long=(0.5,) * len(ps),
                   n_long=tuple(long_count(p, 1000) for p in ps), crossing=1 / 3)

    @property
    def learned(self) -> list[bool]:
        return [chain_learned(a, n) for a, n in zip(self.acc_long, self.n_long)]

    @property
    def on_coin(self) -> list[bool]:
        return [within(c, float(theory.continue_prob(p)), self.prompts)
                for p, c in zip(self.p_cots, self.coin)]

    @property
    def on_first(self) -> list[bool]:
        return [within(f, float(theory.first_c1_prob(p)), self.prompts)
                for p, f in zip(self.p_cots, self.first)]

    @property
    def blind_to_y(self) -> list[bool]:
        """The coin the same whether y equals b_1 or not: within CALIBRATED or Z SE of their
        difference (each half of the prompts, about ``prompts / 2``)."""
        half = max(self.prompts // 2, 1)
        return [abs(a - b) <= max(CALIBRATED, Z * math.hypot(se(a, half), se(b, half)))
                for a, b in zip(self.y_same, self.y_differs)]

    @property
    def scale(self) -> Scale:
        ds = sorted(set(self.d))
        return Scale(ours=(f"{len(self.p_cots)} runs at d = {', '.join(map(str, ds))}; "
                           f"{self.model}; {self.prompts:,} prompts each"),
                     paper="any model that learned all but x -> y (reconstructed)", met=True)


@rule
def judge_coin(e: CoinEvidence) -> Outcome:
    """Counted only on runs whose chain is learned (sampled long answers right at least KNOWN,
    beyond Z SE of chance): the closed form is about such a model, and an untrained model's coin
    ignores y trivially. Three parts, at every such run: P(continue | b_1) within CALIBRATED or Z
    SE of 2p/(1+p); P(first token = b_1) within CALIBRATED or Z SE of (1+p)/2; the coin the same
    whether y equals b_1 or not. Reproduced: all three; partly: one or two; not reproduced: none,
    or no run learned the chain."""
    learned = e.learned
    parts = {"the coin on 2p/(1+p)": e.on_coin, "the first token on (1+p)/2": e.on_first,
             "the coin blind to y": e.blind_to_y}
    held = {name: all(ok for ok, l in zip(oks, learned) if l) for name, oks in parts.items()}
    gaps = [abs(c - float(theory.continue_prob(p))) for p, c in zip(e.p_cots, e.coin)]
    learned_gaps = [g for g, l in zip(gaps, learned) if l]
    if not any(learned):
        status = Status.NOT_REPRODUCED
        why = ("no run learned the chain, so none is the model the closed form is about; an "
               "untrained model's coin does not depend on y either")
    else:
        n = sum(held.values())
        status = Status.REPRODUCED if n == 3 else Status.PARTLY if n else Status.NOT_REPRODUCED
        why = f"at the {sum(learned)} runs that learned the chain: " + "; ".join(
            f"{name}: {_yes(ok)}" for name, ok in held.items())
    crossing = ("nowhere in the sweep" if e.crossing is None else
                f"at about p_cot = {e.crossing:.2f}")
    first_gap = max((abs(f - float(theory.first_c1_prob(p))) for p, f in zip(e.p_cots, e.first)),
                    default=0.0)
    y_gap = max((abs(a - b) for a, b in zip(e.y_same, e.y_differs)), default=0.0)
    return Outcome(
        claim="coin", title="The coin P(continue | b_1) = 2p/(1+p)", chapter=CHAPTER,
        section="The coin, measured",
        statement=("(reconstructed) After b_1 the model continues the chain with probability "
                   "2p/(1+p), so greedy decoding goes long iff p_cot > 1/3 (chapter 1); "
                   "measuring it on the trained models is (ours)."),
        ours=True, status=capped(status, e.scale),
        key=(f"largest gap to 2p/(1+p) {max(learned_gaps, default=math.nan):.3f} over the "
             f"{sum(learned)} runs that learned the chain" if any(learned) else
             f"no run of {len(learned)} learned the chain (largest gap to 2p/(1+p) "
             f"{max(gaps, default=0.0):.3f})"),
        measured=(f"over {len(e.coin)} runs ({e.prompts:,} prompts each): largest gap to "
                  f"2p/(1+p) {max(gaps, default=0.0):.3f}, of the first token to (1+p)/2 "
                  f"{first_gap:.3f}, largest dependence on y {y_gap:.3f}; "
                  f"{sum(learned)} of {len(learned)} runs learned the chain; the measured coin "
                  f"crosses 1/2 {crossing}"),
        reason=f"{why} (CALIBRATED = {CALIBRATED}, Z = {Z:g}, KNOWN = {KNOWN})",
        rule=doc(judge_coin),
        thresholds={"CALIBRATED": CALIBRATED, "Z": Z, "KNOWN": KNOWN}, scale=e.scale,
        value=number(max(learned_gaps or gaps, default=None)), target=CALIBRATED)


# --- the chapter's result -------------------------------------------------------------------------
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

    @cached_property
    def coin(self) -> pd.DataFrame:
        """Chapter 1's coin measured on every run's final model (:func:`companion.evaluate.coin`),
        beside the closed forms, and the run's own sampled long answers (was the chain learned?);
        one row per run."""
        rows = []
        for kind, results in (("sweep", self.sweep), ("long run", self.long_runs)):
            for r in results:
                c = r.config
                sampled = r.final("sampled")
                rows.append({"run": f"{kind} (d={c.task.d})", "d": c.task.d, "p_cot": c.task.p_cot,
                             "seed": c.train.seed,
                             **coin(r.load_model().eval(), r.task, COIN_PROMPTS, COIN_SEED),
                             "acc_long": _acc(sampled["acc_long"]),
                             "n_long": long_count(sampled["long_frac"], c.eval.n_prompts)})
        t = pd.DataFrame(rows)
        t["closed_form"] = theory.continue_prob(t.p_cot.values)
        t["first_closed_form"] = theory.first_c1_prob(t.p_cot.values)
        return t

    @property
    def model(self) -> str:
        m = self.prof.headline.model
        return f"{m.n_layer} x {m.n_embd} GPT"

    # --- evidence, then the rules -------------------------------------------------------------
    def threshold_evidence(self) -> NTPThresholdEvidence:
        base, head = self.prof.ntp_threshold.sweep.base, self.prof.headline
        greedy = self._sweep("greedy").groupby("p_cot").accuracy.mean()
        finals = [(r.config.task.p_cot, r.final("greedy"), r.final("sampled"))
                  for r in self.long_runs]
        return NTPThresholdEvidence(
            model=self.model, long_d=head.task.d,
            long_samples=self.prof.ntp_threshold.long_run_steps * head.train.batch_size,
            long_prompts=head.eval.n_prompts,
            long_p_cots=tuple(p for p, _, _ in finals),
            long_greedy=tuple(float(g["accuracy"]) for _, g, _ in finals),
            long_len=tuple(float(g["median_len"]) for _, g, _ in finals),
            long_acc_long=tuple(_acc(s["acc_long"]) for _, _, s in finals),
            long_n_long=tuple(long_count(s["long_frac"], head.eval.n_prompts)
                              for _, _, s in finals),
            sweep_d=base.task.d, sweep_samples=base.train.steps * base.train.batch_size,
            sweep_prompts=base.eval.n_prompts, sweep_p_cots=tuple(float(p) for p in greedy.index),
            sweep_greedy=tuple(float(a) for a in greedy.values))

    def calibration_evidence(self) -> CalibrationEvidence:
        base = self.prof.ntp_threshold.sweep.base
        s = self._sweep("sampled").assign(acc_long=lambda t: t.acc_long.fillna(0.0))
        g = s.groupby("p_cot")
        return CalibrationEvidence(
            model=self.model, sweep_d=base.task.d,
            sweep_samples=base.train.steps * base.train.batch_size, prompts=base.eval.n_prompts,
            p_cots=tuple(float(p) for p in g.long_frac.mean().index),
            long_frac=tuple(float(f) for f in g.long_frac.mean()),
            acc_long=tuple(float(a) for a in g.acc_long.min()),
            n_long=tuple(long_count(f, base.eval.n_prompts) for f in g.long_frac.min()))

    def coin_evidence(self) -> CoinEvidence:
        t = self.coin
        crossing = self.coin_crossing()
        return CoinEvidence(
            model=self.model, prompts=COIN_PROMPTS, p_cots=tuple(map(float, t.p_cot)),
            d=tuple(map(int, t.d)), coin=tuple(map(float, t["continue"])),
            first=tuple(map(float, t.first_c1)), y_same=tuple(map(float, t.continue_y_same)),
            y_differs=tuple(map(float, t.continue_y_differs)),
            acc_long=tuple(map(float, t.acc_long)), n_long=tuple(map(int, t.n_long)),
            crossing=number(crossing))

    def outcomes(self) -> list[Outcome]:
        """The chapter's three claims, judged by their rules."""
        return [judge_ntp_threshold(self.threshold_evidence()),
                judge_calibration(self.calibration_evidence()),
                judge_coin(self.coin_evidence())]

    def _sweep(self, decoding: str) -> pd.DataFrame:
        final = self.final
        return final[final.decoding == decoding]

    # --- the numbers the chapter's text cites ------------------------------------------------
    def coin_crossing(self) -> float:
        """Where the measured coin crosses 1/2, interpolated along the sweep (greedy goes long
        there); nan where it stays on one side."""
        t = self.coin
        s = t[t.run.str.startswith("sweep")].groupby("p_cot")["continue"].mean()
        above = s[s > 0.5]
        if not len(above) or not above.index[0] > s.index[0]:
            return float("nan")
        hi = above.index[0]
        lo = s.index[s.index < hi][-1]
        return float(lo + (0.5 - s[lo]) * (hi - lo) / (s[hi] - s[lo]))

    def coin_numbers(self) -> dict:
        t, e = self.coin, self.coin_evidence()
        gap = (t["continue"] - t.closed_form).abs()
        y_gap = float((t.continue_y_same - t.continue_y_differs).abs().max())
        crossing = self.coin_crossing()
        off, blind, learned = (e.on_coin.count(False), all(e.blind_to_y), sum(e.learned))
        return {
            "coin_gap": float(gap.max()), "coin_n": len(t), "coin_prompts": COIN_PROMPTS,
            "coin_tol": CALIBRATED, "coin_y_gap": y_gap,
            "coin_first_gap": float((t.first_c1 - t.first_closed_form).abs().max()),
            "coin_verdict": (f"the measured coin is the closed form's: within {CALIBRATED} (or "
                             f"{Z:g} standard errors) of 2p/(1+p) at all {len(t)} runs") if not off
                            else (f"the measured coin is off 2p/(1+p) (by more than {CALIBRATED} "
                                  f"and {Z:g} standard errors) at {off} of {len(t)} runs"),
            "coin_y_verdict": "does not depend on the answer y (the same whether y equals b_1 "
                              "or not)" if blind else "depends on the answer y at some runs: "
                              "those models have learned something of x -> y itself",
            "coin_learned_text": (f"{learned} of {len(t)} runs learned the chain (sampled long "
                                  f"answers right at least {KNOWN})"),
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
        e, c = self.threshold_evidence(), self.calibration_evidence()
        n = len(e.below) + len(e.above)
        calib_off = [p for p, ok in zip(c.p_cots, c.calibrated) if not ok]
        return {
            "profile_name": prof.name, "n_layer": base.model.n_layer, "n_embd": base.model.n_embd,
            "sweep_steps": base.train.steps, "batch": base.train.batch_size,
            "sweep_samples": base.train.steps * base.train.batch_size, "sweep_d": base.task.d,
            "n_eval": base.eval.n_prompts, "p_low": P_LOW, "p_high": P_HIGH,
            "sweep_seeds_text": self.seeds_text(),
            "acc_low": float(greedy.loc[P_LOW]), "acc_high": float(greedy.loc[P_HIGH]),
            "sweep_verdict": (f"all {n} settings away from the threshold are on the closed form "
                              f"(at chance below 1/3, at least {SOLVED} above)" if not e.off else
                              f"{len(e.off)} of {n} settings away from the threshold are off the "
                              "closed form: "
                              + _points(e.off)),
            "calib_gap": float((sampled - sampled.index.to_series()).abs().max()),
            "calib_verdict": (
                f"the sampled long fraction is off p_cot at p_cot = "
                + ", ".join(f"{p:g}" for p in calib_off) if calib_off else
                "the model produces the chain about as often as it saw it" if all(c.learned) else
                f"the sampled long fraction tracks p_cot, but the chain behind it is learned at "
                f"only {sum(c.learned)} of {len(c.learned)} points"),
            "long_d": prof.headline.task.d, "long_samples": int(g.samples.max()),
            "long_final_acc": float(last.accuracy.max()),
            "long_max_acc": float(g[g.step > 0].accuracy.max()),
            "long_final_len": float(last.median_len.max()),
            "long_sampled_acc_long": acc_long,
            "long_which": "the lowest over the runs" if len(self.long_runs) > 1 else
                          f"p_cot = {prof.ntp_threshold.long_run_p_cots[0]:g}",
            "knows_chain": "The knowledge is there; greedy decoding does not use it."
                           if e.learned else "At this budget the chain itself is not learned "
                           f"by this book's test (sampled long answers right at least {KNOWN} "
                           f"of the time, beyond {Z:g} standard errors of chance), so greedy "
                           "decoding at chance shows nothing yet; RL will need the chain "
                           "(chapter 3).",
            **self.coin_numbers(), **self.near_numbers(),
        }

    def seeds_text(self) -> str:
        """The seeds of the sweep, in words: "1 per p_cot, 3 at the two nearest 1/3"."""
        sweep = self.prof.ntp_threshold.sweep
        counts = {p: len(sweep.seeds_at(p)) for p in sweep.p_cots}
        near = {p: k for p, k in counts.items() if p in sweep.near()}
        text = f"{len(sweep.seeds)} per p_cot"
        if near and max(near.values()) > len(sweep.seeds):
            text += f", {max(near.values())} at " + " and ".join(f"{p:g}" for p in near)
        return text

    def near_numbers(self) -> dict:
        """Every seed at the two sweep points nearest 1/3, against the closed form."""
        g = self.final[self.final.decoding == "greedy"]
        n_eval = self.prof.ntp_threshold.sweep.base.eval.n_prompts
        near = {p: g[g.p_cot == p].accuracy for p in self.prof.ntp_threshold.sweep.near()}
        off = [(p, a) for p, accs in near.items() for a in accs
               if not on_closed_form(p, a, n_eval)]
        n = sum(len(a) for a in near.values())
        return {"near_text": "; ".join(f"at p_cot = {p:g}, {len(a)} seed(s): greedy accuracy "
                                       f"{a.min():.3f} to {a.max():.3f}" for p, a in near.items()),
                "near_verdict": (f"all {n} runs are on the closed form" if not off else
                                 f"{len(off)} of {n} runs are off the closed form: "
                                 + _points(off))}


def load(prof: Profile) -> NTPThresholdResult:
    res = parallel.fetch(runs(prof), prof.workers)
    return NTPThresholdResult(prof, sweep=[v for k, v in res.items() if k.startswith("sweep")],
                              long_runs=[v for k, v in res.items() if k.startswith("long")])
