"""Chapter 3's claim: RL after next-token prediction succeeds where NTP alone stays at chance.

The paper (Fig. 1 right, Fig. 3): from an NTP model at chance (p_cot < 1/3), GRPO, REINFORCE and
STaR with an outcome reward reach ~100% greedy accuracy after few samples; RL fails from a
too-early checkpoint, STaR fails at a high temperature with the end-to-end reward, and with rare
long data (p_cot = 0.01) RL still lengthens the answers. Ours: a matched-compute NTP baseline.

Each claim judges itself here (:mod:`companion.verdicts`): typed evidence read from the runs
(``<Name>Evidence``), and one rule per claim (``judge_<claim>``) that gives its
:class:`~companion.verdicts.Outcome`, with controls, noise and scale.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from .. import parallel
from ..config import ContinueNTPConfig, NTPRunConfig, Profile, RLConfig, with_
from ..evaluate import evaluate
from ..flops import ntp_flops, rl_flops
from ..theory import THRESHOLD
from ..train import NTPResult, RLResult, ntp_run, rl_run, rl_task, summarize
from ..verdicts import (CALIBRATED, CHANCE, KNOWN, PAPER_D, PAPER_SEEDS, SHORT, SOLVED, Z,
                        Outcome, Scale, Status, at_chance, capped, chain_learned, doc, number,
                        rose, rule, se, within)
from . import number_text, plural, span


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


# --- the claims' verdicts -------------------------------------------------------------------------
CHAPTER = "03_rl"
PAPER_RARE_P_COT = 0.01  # the paper's rarest long data
# The RL claims' own scale: d = 50 (a smaller d is a shorter, easier chain) and 3 NTP seeds (the
# paper's 3 seeds; a result from one NTP run may hang on that run). p_cot < 1/3 is a control, not
# a scale: the claim is made for any start at chance. The start's NTP sample count (~10^7 in the
# paper) is not required either: the claim is about RL from a start at chance whose chain is
# learned, and the controls measure that start directly; "NTP alone stays at chance even after
# ~10^7 samples" is chapter 2's claim, judged there.
RL_SCALE = ("d = 50, p_cot = 0.25, 3 seeds, a start at chance after ~10^7 NTP samples; met here "
            "needs d = 50 and 3 NTP seeds (the start itself is checked by the controls)")




def short_of_solved(acc: float, n: int) -> bool:
    """Greedy accuracy below ``SOLVED`` by more than ``Z`` SE on ``n`` prompts: a failure, not
    noise at the threshold."""
    return acc < SOLVED - Z * se(SOLVED, n)


def _band(before: float, after: float, n: int) -> float:
    """The ``Z``-SE band a change from ``before`` to ``after`` must exceed (as in ``rose``)."""
    return Z * (se(before, n) ** 2 + se(after, n) ** 2) ** 0.5


# --- RL from the start: GRPO, REINFORCE, STaR -----------------------------------------------------
@dataclass(frozen=True)
class RLEvidence:
    """What RL with one algorithm measured from the NTP starts (the headline's first)."""

    d: int
    p_cot: float
    ntp_samples: int  # sequences each NTP start trained on
    model: str  # e.g. "2 x 64 GPT"
    n_prompts: int  # evaluation prompts behind every accuracy below
    start_greedy: tuple[float, ...]  # per NTP seed: the start's greedy accuracy (RL's step 0)
    start_len: tuple[float, ...]  # ... its median greedy length (tokens before <eos>)
    start_acc_long: tuple[float | None, ...]  # ... its sampled long answers right (None: none)
    start_n_long: tuple[int, ...]  # ... how many sampled answers were long
    seed_final: tuple[float, ...]  # per RL seed from the headline start: final greedy accuracy
    other_ntp_final: tuple[float, ...]  # per other NTP seed: the first RL seed's final greedy
    reach: tuple[float | None, ...]  # per RL seed: responses sampled before SOLVED (None: never)
    responses: int  # responses each run sampled

    @classmethod
    def null(cls):
        """A build that learned nothing, at the cpu profile's sizes."""
        return cls(d=50, p_cot=0.25, ntp_samples=256_000, model="2 x 64 GPT", n_prompts=1000,
                   start_greedy=(0.5,) * 3, start_len=(1.0,) * 3, start_acc_long=(0.5,) * 3,
                   start_n_long=(250,) * 3, seed_final=(0.5,) * 3, other_ntp_final=(0.5,) * 2,
                   reach=(None,) * 3, responses=10_240)

    @property
    def finals(self) -> tuple[float, ...]:
        """Every run's final greedy accuracy (the first NTP seed's run is the first RL seed's)."""
        return self.seed_final + self.other_ntp_final


class GRPOEvidence(RLEvidence):
    """GRPO's runs: ``seeds`` RL seeds from the headline start, the first from every NTP seed."""


class ReinforceEvidence(RLEvidence):
    """REINFORCE's runs: ``other_seeds`` RL seeds from the headline start, the first from every
    NTP seed."""


class STaREvidence(RLEvidence):
    """STaR's runs (temperature 1, end-to-end reward), as REINFORCE's."""


def start_problems(e: RLEvidence) -> list[str]:
    """Why the NTP starts are not the claim's starting point (empty: they are): p_cot below 1/3,
    greedy at chance with short answers, the chain learned."""
    n, out = len(e.start_greedy), []
    if not e.p_cot < THRESHOLD:
        out.append(f"p_cot = {e.p_cot:g} is not below 1/3")
    off = [g for g in e.start_greedy if not at_chance(g, e.n_prompts)]
    if off:
        out.append(f"{len(off)} of {n} starts are off chance (greedy {span(tuple(off))}, "
                   f"outside {CHANCE:g} or {Z:g} SE of 1/2 on {e.n_prompts:,} prompts)")
    long_ = [m for m in e.start_len if m >= SHORT]
    if long_:
        out.append(f"{len(long_)} of {n} starts answer long under greedy decoding (median "
                   f"length {span(tuple(long_), 1)}, not below {SHORT:g})")
    unlearned = [i for i in range(n) if not chain_learned(e.start_acc_long[i], e.start_n_long[i])]
    if unlearned:
        said = ", ".join(f"{number_text(e.start_acc_long[i], '.2f')} of {e.start_n_long[i]}"
                         for i in unlearned)
        out.append(f"the chain is not learned in {len(unlearned)} of {n} starts (sampled long "
                   f"answers right: {said}; learned needs >= {KNOWN:g}, clear of chance)")
    return out


def _rl_outcome(e: RLEvidence, fn: Callable, claim: str, name: str, statement: str) -> Outcome:
    """The outcome of an RL claim: its start's controls, then how many runs end at SOLVED."""
    finals, n_seeds, n_ntp = e.finals, len(e.seed_final), len(e.start_greedy)
    solved = sum(f >= SOLVED for f in finals)
    problems = start_problems(e)
    scale = Scale(ours=f"d = {e.d}; p_cot = {e.p_cot:g}; {e.ntp_samples:,} NTP samples; {e.model}; "
                       f"{plural(n_seeds, 'RL seed')}, {plural(n_ntp, 'NTP seed')}",
                  paper=RL_SCALE, met=e.d >= PAPER_D and n_ntp >= PAPER_SEEDS)
    runs = (f"{plural(len(finals), 'run')} ({plural(n_seeds, 'RL seed')} from the headline start, "
            f"{plural(n_ntp, 'NTP seed')})")
    if problems:
        raw = Status.NOT_REPRODUCED
        reason = ("the control fails: " + "; ".join(problems) + ". Without a start at chance "
                  "whose chain is learned, RL's result cannot speak to the claim")
    else:
        raw = (Status.REPRODUCED if solved == len(finals) else
               Status.PARTLY if solved else Status.NOT_REPRODUCED)
        reason = (f"every start is at chance (greedy {span(e.start_greedy)}), answers short and "
                  f"has its chain learned (sampled long answers "
                  f"{span(tuple(a for a in e.start_acc_long if a is not None), 2)} right); "
                  f"{solved} of {len(finals)} runs end at greedy >= {SOLVED:g} (lowest "
                  f"{min(finals):.3f})")
    status = capped(raw, scale)
    if status is not raw:
        reason += (f"; below the claim's scale (d = {e.d}, {plural(n_ntp, 'NTP seed')}; the "
                   f"paper: d = {PAPER_D}, {PAPER_SEEDS} seeds): a scaled analogue")
    reached = [r for r in e.reach if r is not None]
    reach = (f"never within {e.responses:,} responses" if not reached else
             f"after {min(reached):,.0f} responses" if min(reached) == max(reached) else
             f"after {min(reached):,.0f} to {max(reached):,.0f} responses")
    measured = (f"from starts at greedy {span(e.start_greedy)} (d = {e.d}, p_cot = {e.p_cot:g}): "
                f"final greedy {span(e.seed_final)} over {plural(n_seeds, 'RL seed')}, "
                f"{len(reached)} of {n_seeds} reached {SOLVED:g} ({reach}); from the other "
                f"{plural(n_ntp - 1, 'NTP seed')}: final {span(e.other_ntp_final)}; {solved} of "
                f"{len(finals)} runs at or above {SOLVED:g} after {e.responses:,} responses each")
    return Outcome(
        claim=claim, title=f"RL after NTP: {name}", chapter=CHAPTER,
        section="GRPO, REINFORCE and STaR", statement=statement, ours=False, status=status,
        key=f"{name} final greedy {span(finals)} over {runs}", measured=measured, reason=reason,
        rule=doc(fn), thresholds={"SOLVED": SOLVED, "CHANCE": CHANCE, "Z": Z, "SHORT": SHORT,
                                  "KNOWN": KNOWN, "THRESHOLD": THRESHOLD},
        scale=scale, value=number(min(finals)), target=SOLVED)


@rule
def judge_rl_grpo(e: GRPOEvidence) -> Outcome:
    """Reproduced: every NTP start is at chance (within CHANCE or Z SE of 1/2) at p_cot below
    THRESHOLD = 1/3, answers short (median greedy length below SHORT) and has its chain learned
    (sampled long answers right at least KNOWN, clear of chance), and GRPO ends at greedy accuracy
    SOLVED or more in every RL seed and from every NTP seed; partly: in some of them. Below d = 50
    or 3 NTP seeds: a scaled analogue."""
    return _rl_outcome(e, judge_rl_grpo, "rl_grpo", "GRPO",
                       "From an NTP model at chance ($p_{cot} < 1/3$), RL with a correctness "
                       "reward reaches $\\approx 100\\%$ greedy accuracy after few samples "
                       "(paper, Fig. 1 right, Fig. 3).")


@rule
def judge_rl_reinforce(e: ReinforceEvidence) -> Outcome:
    """Reproduced: every NTP start passes GRPO's controls (at chance below THRESHOLD = 1/3,
    short greedy answers, chain learned: at least KNOWN) and REINFORCE ends at greedy accuracy
    SOLVED or more in every run, from every NTP seed; partly: in some. Below d = 50 or 3 NTP
    seeds: a scaled analogue."""
    return _rl_outcome(e, judge_rl_reinforce, "rl_reinforce", "REINFORCE",
                       "REINFORCE also takes it to $\\approx 100\\%$ (paper, Fig. 1 right, "
                       "Fig. 3).")


@rule
def judge_rl_star(e: STaREvidence) -> Outcome:
    """Reproduced: every NTP start passes GRPO's controls (at chance below THRESHOLD = 1/3,
    short greedy answers, chain learned: at least KNOWN) and STaR (temperature 1, end-to-end
    reward) ends at greedy accuracy SOLVED or more in every run, from every NTP seed; partly: in
    some. Below d = 50 or 3 NTP seeds: a scaled analogue."""
    return _rl_outcome(e, judge_rl_star, "rl_star", "STaR",
                       "STaR also takes it to $\\approx 100\\%$ (paper, Fig. 1 right, Fig. 3).")


# --- STaR at a high temperature -------------------------------------------------------------------
@dataclass(frozen=True)
class HotStarEvidence:
    """STaR's final greedy accuracy at a high temperature with each reward, and at the RL runs'
    own temperature (the control)."""

    d: int
    n_prompts: int
    temperature: float  # the control's (every other RL run's)
    hot_temperature: float
    hot_e2e: float  # hot, end-to-end reward: the claim says it fails
    hot_cot: float  # hot, CoT reward: the control that the reward, not the heat alone, matters
    cool_e2e: float  # at ``temperature``, end-to-end reward: the control that STaR works at all
    n_seeds: int  # RL seeds of each of the three

    @classmethod
    def null(cls):
        return cls(d=50, n_prompts=1000, temperature=1.0, hot_temperature=1.5, hot_e2e=0.5,
                   hot_cot=0.5, cool_e2e=0.5, n_seeds=1)


@rule
def judge_hot_star(e: HotStarEvidence) -> Outcome:
    """Reproduced: hot STaR with the end-to-end reward fails (greedy accuracy below SOLVED by more
    than Z SE) while both controls reach SOLVED: STaR at the usual temperature and hot STaR with
    the CoT reward; partly: it fails and STaR at the usual temperature succeeds, but hot STaR with
    the CoT reward fails too. Not reproduced when it succeeds, or when STaR fails at the usual
    temperature too. Below d = 50 or 3 seeds: a scaled analogue."""
    fails, cool, cot = (short_of_solved(e.hot_e2e, e.n_prompts), e.cool_e2e >= SOLVED,
                        e.hot_cot >= SOLVED)
    line = SOLVED - Z * se(SOLVED, e.n_prompts)  # below it, a failure rather than noise
    said = (f"hot end-to-end {e.hot_e2e:.3f}, a failure below {line:.3f} ({Z:g} SE under "
            f"{SOLVED:g}); controls, which succeed at {SOLVED:g}: T = {e.temperature:g} "
            f"{e.cool_e2e:.3f}, hot with the CoT reward {e.hot_cot:.3f}")
    if not fails:
        raw, why = Status.NOT_REPRODUCED, "hot STaR with the end-to-end reward does not fail"
    elif not cool:
        raw, why = Status.NOT_REPRODUCED, ("STaR fails at the usual temperature too, so the "
                                           "control shows no capacity and the hot failure is "
                                           "not the heat's")
    elif cot:
        raw, why = Status.REPRODUCED, ("both controls hold, so the hot failure is the "
                                       "end-to-end reward's")
    else:
        raw, why = Status.PARTLY, ("the hot failure is the heat's, but hot STaR fails with the "
                                   "CoT reward too, so the reward is not shown to be the cause")
    scale = Scale(ours=f"d = {e.d}; T = {e.hot_temperature:g} against {e.temperature:g}; "
                       f"{plural(e.n_seeds, 'RL seed')} each",
                  paper="d = 50 (its temperature not known to us); 3 seeds",
                  met=e.d >= PAPER_D and e.n_seeds >= PAPER_SEEDS)
    status = capped(raw, scale)
    if status is not raw:
        why += (f"; below the claim's scale (d = {e.d}, {plural(e.n_seeds, 'seed')}): a scaled "
                "analogue")
    return Outcome(
        claim="hot_star", title="STaR fails when hot", chapter=CHAPTER,
        section="STaR at a high temperature: the end-to-end and the CoT reward",
        statement="STaR with a high sampling temperature and the end-to-end reward fails (paper).",
        ours=False, status=status,
        key=f"hot end-to-end {e.hot_e2e:.3f}; controls {e.cool_e2e:.3f} (T = {e.temperature:g}), "
            f"{e.hot_cot:.3f} (hot, CoT reward); {plural(e.n_seeds, 'seed')}",
        measured=f"at T = {e.hot_temperature:g}: final greedy {e.hot_e2e:.3f} with the end-to-end "
                 f"reward, {e.hot_cot:.3f} with the CoT reward (ours); at T = {e.temperature:g}: "
                 f"{e.cool_e2e:.3f}, on {e.n_prompts:,} prompts",
        reason=f"{why}. {said[0].upper()}{said[1:]}", rule=doc(judge_hot_star),
        thresholds={"SOLVED": SOLVED, "Z": Z}, scale=scale, value=number(e.hot_e2e),
        target=SOLVED)


# --- RL from too early a checkpoint ---------------------------------------------------------------
@dataclass(frozen=True)
class TooEarlyEvidence:
    """GRPO from checkpoints of the start's NTP run, the last its final model."""

    d: int
    n_prompts: int
    steps: tuple[int, ...]  # the NTP checkpoints RL started from, in order
    acc_long: tuple[float | None, ...]  # per checkpoint: sampled long answers right (None: none)
    n_long: tuple[int, ...]  # ... how many sampled answers were long
    long_before: tuple[float, ...]  # ... greedy answers long, at RL's step 0
    long_after: tuple[float, ...]  # ... and after RL (well-formed long answers only)
    final: tuple[float, ...]  # ... final greedy accuracy after RL

    @classmethod
    def null(cls):
        n = 5  # the cpu profile's four early checkpoints and the final model
        return cls(d=50, n_prompts=1000, steps=(250, 375, 500, 625, 1000), acc_long=(0.5,) * n,
                   n_long=(250,) * n, long_before=(0.0,) * n, long_after=(0.0,) * n,
                   final=(0.5,) * n)


@dataclass(frozen=True)
class EarlyReading:
    """What RL did from each checkpoint, as the rule reads it."""

    control: int | None  # the first checkpoint (index) from which RL reaches SOLVED
    early: tuple[int, ...]  # the checkpoints before it (all, without a control)
    middle: tuple[int, ...]  # early ones where RL lengthened the answers, accuracy at chance
    partway: tuple[int, ...]  # early ones where it lengthened them, accuracy off chance

    @classmethod
    def of(cls, e: TooEarlyEvidence) -> EarlyReading:
        control = next((i for i, f in enumerate(e.final) if f >= SOLVED), None)
        early = tuple(range(len(e.steps) if control is None else control))
        longer = [i for i in early if rose(e.long_before[i], e.long_after[i], e.n_prompts)]
        middle = tuple(i for i in longer if at_chance(e.final[i], e.n_prompts))
        return cls(control, early, middle, tuple(i for i in longer if i not in middle))


@rule
def judge_too_early(e: TooEarlyEvidence) -> Outcome:
    """Reproduced: RL reaches SOLVED from a later checkpoint (the control), and from an earlier one
    it lengthens the greedy answers (their long fraction rises by more than Z SE) while greedy
    accuracy stays at chance (within CHANCE or Z SE of 1/2); partly: it lengthens them and
    accuracy leaves chance without reaching SOLVED. Not reproduced without the control, or when
    RL lengthens nothing from the earlier checkpoints. Below d = 50: a scaled analogue."""
    r = EarlyReading.of(e)
    steps = ", ".join(f"{k:,}" for k in e.steps)
    scale = Scale(ours=f"d = {e.d}; GRPO from NTP steps {steps}; 1 RL seed",
                  paper="d = 50; its checkpoints not known to us", met=e.d >= PAPER_D)

    def said(i: int) -> str:
        return (f"step {e.steps[i]:,}: greedy long {e.long_before[i]:.3f} -> {e.long_after[i]:.3f}"
                f" (band {_band(e.long_before[i], e.long_after[i], e.n_prompts):.3f}), final "
                f"greedy {e.final[i]:.3f}, sampled long answers {number_text(e.acc_long[i], '.2f')} right "
                f"at the start")

    shown = (r.middle or r.partway or r.early or (0,))[0]
    value = e.long_after[shown] - e.long_before[shown]
    target = _band(e.long_before[shown], e.long_after[shown], e.n_prompts)
    if r.control is None:
        raw = Status.NOT_REPRODUCED
        why = (f"RL reaches {SOLVED:g} from none of the checkpoints (best final "
               f"{max(e.final):.3f}): no control shows RL succeeds from this NTP run, so a failure "
               "from an early checkpoint says nothing")
        value, target = max(e.final), SOLVED
    elif not r.early:
        raw = Status.NOT_REPRODUCED
        why = (f"RL reaches {SOLVED:g} from the first checkpoint on (step {e.steps[0]:,}): none is "
               "too early")
    elif r.middle:
        raw = Status.REPRODUCED
        why = (f"RL reaches {SOLVED:g} from step {e.steps[r.control]:,}; from "
               f"{said(r.middle[0])}: longer answers, accuracy at chance")
    elif r.partway:
        raw = Status.PARTLY
        why = (f"RL reaches {SOLVED:g} from step {e.steps[r.control]:,}; from {said(r.partway[0])}:"
               f" longer answers, accuracy off chance but short of {SOLVED:g}")
    else:
        raw = Status.NOT_REPRODUCED
        why = (f"RL reaches {SOLVED:g} from step {e.steps[r.control]:,}, but lengthens the greedy "
               f"answers beyond {Z:g} SE from none of the earlier checkpoints ("
               + "; ".join(said(i) for i in r.early) + ")")
    status = capped(raw, scale)
    if status is not raw:
        why += f"; below the claim's scale (d = {e.d}): a scaled analogue"
    first = (f"RL solves from step {e.steps[r.control]:,} on" if r.control is not None else
             f"RL solves from no checkpoint")
    return Outcome(
        claim="too_early", title="Too-early checkpoint", chapter=CHAPTER,
        section="Too early: RL before the chain is learned",
        statement="RL from a too-early NTP checkpoint can lengthen the answers without "
                  "generalizing (paper).",
        ours=False, status=status,
        key=f"from step {e.steps[shown]:,}: greedy long {e.long_before[shown]:.3f} -> "
            f"{e.long_after[shown]:.3f}, final greedy {e.final[shown]:.3f}; {first}",
        measured="GRPO from NTP " + "; ".join(said(i) for i in range(len(e.steps))),
        reason=why, rule=doc(judge_too_early),
        thresholds={"SOLVED": SOLVED, "CHANCE": CHANCE, "Z": Z}, scale=scale,
        value=number(value), target=number(target))


# --- rare long data -------------------------------------------------------------------------------
@dataclass(frozen=True)
class RareLongEvidence:
    """GRPO from NTP runs with rare long data (one checkpoint each; the book runs one)."""

    d: int
    p_cot: float
    n_prompts: int
    long_seen: int  # long demonstrations the rare start's NTP run saw
    chain_long: int  # those the main start had seen when its chain appeared (or by its end)
    acc_long: tuple[float | None, ...]  # per checkpoint: sampled long answers right (None: none)
    n_long: tuple[int, ...]  # ... how many sampled answers were long
    long_before: tuple[float, ...]  # ... sampled answers long and well-formed, at RL's step 0
    long_after: tuple[float, ...]  # ... and after RL
    malformed_before: tuple[float, ...]  # ... sampled answers malformed (not counted as long)
    malformed_after: tuple[float, ...]
    final: tuple[float, ...]  # ... final greedy accuracy

    @classmethod
    def null(cls):
        return cls(d=50, p_cot=0.01, n_prompts=1000, long_seen=640, chain_long=40_000,
                   acc_long=(0.5,), n_long=(10,), long_before=(0.01,), long_after=(0.01,),
                   malformed_before=(0.0,), malformed_after=(0.0,), final=(0.5,))


def rare_rises(e: RareLongEvidence) -> tuple[list[int], list[int]]:
    """The checkpoints in the claim's regime (the chain learned) and those of them from which RL
    raised the long fraction of sampled answers by more than ``Z`` SE."""
    regime = [i for i in range(len(e.final)) if chain_learned(e.acc_long[i], e.n_long[i])]
    return regime, [i for i in regime if rose(e.long_before[i], e.long_after[i], e.n_prompts)]


@rule
def judge_rare_long(e: RareLongEvidence) -> Outcome:
    """Reproduced: from every checkpoint whose chain is learned (sampled long answers right at
    least KNOWN, clear of chance), RL raises the fraction of well-formed long sampled answers by
    more than Z SE (malformed answers counted apart), over at least two checkpoints; partly: from
    some, or from the only one run (the paper: almost every checkpoint). Not reproduced when no
    checkpoint's chain is learned (the regime is not reached) or nothing lengthens. Below d = 50:
    a scaled analogue."""
    regime, rises = rare_rises(e)
    scale = Scale(ours=f"d = {e.d}; p_cot = {e.p_cot:g}; {e.long_seen:,} long demonstrations; "
                       f"{plural(len(e.final), 'checkpoint')}",
                  paper="d = 50 (assumed: the headline's); p_cot = 0.01; almost every NTP "
                        "checkpoint",
                  met=e.d >= PAPER_D and e.p_cot <= PAPER_RARE_P_COT)

    def said(i: int) -> str:
        return (f"sampled long {e.long_before[i]:.3f} -> {e.long_after[i]:.3f} (band "
                f"{_band(e.long_before[i], e.long_after[i], e.n_prompts):.3f}), malformed "
                f"{e.malformed_before[i]:.3f} -> {e.malformed_after[i]:.3f}, final greedy "
                f"{e.final[i]:.3f}")

    start = ", ".join(f"{number_text(a, '.2f')} of {k}" for a, k in zip(e.acc_long, e.n_long))
    if not regime:
        raw = Status.NOT_REPRODUCED
        why = (f"the regime is not reached: the NTP phase is too short for the chain at this "
               f"rarity ({e.long_seen:,} long demonstrations; sampled long answers right {start}, "
               f"learned needs >= {KNOWN:g} clear of chance), so RL had no chain to lengthen")
    elif not rises:
        raw = Status.NOT_REPRODUCED
        why = ("the chain is learned, but RL does not lengthen the answers beyond noise: "
               + "; ".join(said(i) for i in regime))
    elif len(e.final) == 1:
        raw = Status.PARTLY
        why = f"from the one checkpoint run (the paper: almost every checkpoint): {said(0)}"
    else:
        raw = Status.REPRODUCED if len(rises) == len(regime) else Status.PARTLY
        why = f"RL lengthens from {len(rises)} of {len(regime)} checkpoints with the chain learned"
    status = capped(raw, scale)
    if status is not raw:
        why += f"; below the claim's scale (d = {e.d}): a scaled analogue"
    i = (rises or regime or [0])[0]
    return Outcome(
        claim="rare_long", title="Rare long data, $p_{cot} = 0.01$", chapter=CHAPTER,
        section="Rare long data",
        statement="At $p_{cot} = 0.01$ RL still lengthens the answers from almost every NTP "
                  "checkpoint (paper).",
        ours=False, status=status,
        key=f"sampled long {e.long_before[i]:.3f} -> {e.long_after[i]:.3f} from "
            f"{plural(len(e.final), 'checkpoint')}; start's long answers right {start}",
        measured=f"the NTP start at p_cot = {e.p_cot:g} saw {e.long_seen:,} long demonstrations "
                 f"(the main start {e.chain_long:,} when its chain appeared, or by its end), its "
                 f"sampled long answers right {start}; " + "; ".join(
                     said(k) for k in range(len(e.final))),
        reason=why, rule=doc(judge_rare_long),
        thresholds={"KNOWN": KNOWN, "CHANCE": CHANCE, "Z": Z}, scale=scale,
        value=number(e.long_after[i] - e.long_before[i]),
        target=number(_band(e.long_before[i], e.long_after[i], e.n_prompts)))


def _row(res: RLResult, decoding: str, last: bool = False) -> dict:
    """An RL run's evaluation at its step 0 (its NTP start) or at its last step."""
    c = res.curve(decoding)
    return c.iloc[-1 if last else 0].to_dict()


def _n_long(row: dict, n_prompts: int) -> int:
    """How many of ``n_prompts`` sampled answers were long (and well-formed)."""
    return round(float(row["long_frac"]) * n_prompts)


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

    @property
    def n_prompts(self) -> int:
        """Evaluation prompts behind every accuracy of the chapter (one eval config for all)."""
        return start_config(self.prof).eval.n_prompts

    def start_table(self) -> pd.DataFrame:
        h = self.start.history
        return h[h.step == self.start.config.train.steps].set_index("decoding")[
            ["accuracy", "long_frac", "mean_len", "acc_long", "acc_short"]]

    def early_table(self) -> pd.DataFrame:
        return summarize(self.early, SOLVED).assign(
            **{"sampled acc_long at start": [c["acc_long"] for c in self.early_start]})

    # --- evidence and outcomes ----------------------------------------------------------------
    def rl_evidence(self, kind: type[RLEvidence], algorithm: str) -> RLEvidence:
        """The evidence for ``algorithm``: its runs from the headline start and from each NTP
        seed, and each start as RL's step 0 measured it."""
        r, c, n = self.prof.rl_after_ntp, start_config(self.prof), self.n_prompts
        seeds = r.seeds if algorithm == "grpo" else r.other_seeds
        by_seed = [self.algorithms[f"{algorithm} seed {s}"] for s in seeds]
        others = [(self.across_ntp[f"NTP seed {s}"] if algorithm == "grpo" else
                   (self.across_others or {})[f"{algorithm}, NTP seed {s}"])
                  for s in other_ntp_seeds(self.prof)]
        starts = [by_seed[0], *others]  # one run from each NTP seed, the headline's first
        greedy = [_row(x, "greedy") for x in starts]
        sampled = [_row(x, "sampled") for x in starts]
        return kind(
            d=c.task.d, p_cot=c.task.p_cot, ntp_samples=c.train.steps * c.train.batch_size,
            model=f"{c.model.n_layer} x {c.model.n_embd} GPT", n_prompts=n,
            start_greedy=tuple(float(g["accuracy"]) for g in greedy),
            start_len=tuple(float(g["median_len"]) for g in greedy),
            start_acc_long=tuple(number(s["acc_long"]) for s in sampled),
            start_n_long=tuple(_n_long(s, n) for s in sampled),
            seed_final=tuple(float(x.final("greedy")["accuracy"]) for x in by_seed),
            other_ntp_final=tuple(float(x.final("greedy")["accuracy"]) for x in others),
            reach=tuple(number(x.responses_to_reach(SOLVED)) for x in by_seed),
            responses=int(max(x.curve("greedy").responses.max() for x in by_seed)))

    def hot_star_evidence(self) -> HotStarEvidence:
        r = self.prof.rl_after_ntp
        e2e, cot, cool = (float(x.final("greedy")["accuracy"]) for x in self.hot_star.values())
        return HotStarEvidence(d=start_config(self.prof).task.d, n_prompts=self.n_prompts,
                               temperature=r.rl.temperature, hot_temperature=r.hot_temperature,
                               hot_e2e=e2e, hot_cot=cot, cool_e2e=cool, n_seeds=1)

    def too_early_evidence(self) -> TooEarlyEvidence:
        n, runs = self.n_prompts, list(self.early.values())
        return TooEarlyEvidence(
            d=start_config(self.prof).task.d, n_prompts=n, steps=early_steps(self.prof),
            acc_long=tuple(number(c["acc_long"]) for c in self.early_start),
            n_long=tuple(_n_long(c, n) for c in self.early_start),
            long_before=tuple(float(_row(x, "greedy")["long_frac"]) for x in runs),
            long_after=tuple(float(_row(x, "greedy", last=True)["long_frac"]) for x in runs),
            final=tuple(float(x.final("greedy")["accuracy"]) for x in runs))

    def rare_evidence(self) -> RareLongEvidence:
        c, n = self.rare_start.config, self.n_prompts
        s0, s1 = _row(self.rare, "sampled"), _row(self.rare, "sampled", last=True)
        start = self.rare_start.final("sampled")
        return RareLongEvidence(
            d=c.task.d, p_cot=c.task.p_cot, n_prompts=n,
            long_seen=round(c.train.steps * c.train.batch_size * c.task.p_cot),
            chain_long=round(self._chain()[1]), acc_long=(number(start["acc_long"]),),
            n_long=(_n_long(start, n),), long_before=(float(s0["long_frac"]),),
            long_after=(float(s1["long_frac"]),), malformed_before=(float(s0["malformed_frac"]),),
            malformed_after=(float(s1["malformed_frac"]),),
            final=(float(self.rare.final("greedy")["accuracy"]),))

    def outcomes(self) -> list[Outcome]:
        """The chapter's claims, judged (the scorecard page renders them)."""
        return [judge_rl_grpo(self.rl_evidence(GRPOEvidence, "grpo")),
                judge_rl_reinforce(self.rl_evidence(ReinforceEvidence, "reinforce")),
                judge_rl_star(self.rl_evidence(STaREvidence, "star")),
                judge_hot_star(self.hot_star_evidence()),
                judge_too_early(self.too_early_evidence()),
                judge_rare_long(self.rare_evidence())]

    # --- the numbers the chapter cites ----------------------------------------------------------
    def numbers(self) -> dict:
        return {**self._start_numbers(), **self._algorithm_numbers(), **self._baseline_numbers(),
                **self._early_numbers(), **self._rare_numbers(), **self._hot_numbers(),
                **self._across_ntp_numbers()}

    def across_ntp_table(self) -> pd.DataFrame:
        """Per NTP seed: the start's greedy accuracy (RL's evaluation at step 0) and GRPO's
        result from it (then REINFORCE's and STaR's, when they ran from every seed)."""
        runs = self.across_ntp | (self.across_others or {})
        table = summarize(runs, SOLVED).set_index("run")
        start = {k: float(r.curve("greedy").accuracy.iloc[0]) for k, r in runs.items()}
        return table.assign(**{"NTP greedy accuracy": [start[k] for k in table.index]})[
            ["algorithm", "NTP greedy accuracy", "final greedy accuracy", "final mean length",
             f"responses to {SOLVED:g}"]]

    def _start_numbers(self) -> dict:
        c, g, smp = self.start.config, self.start.final("greedy"), self.start.final("sampled")
        n = self.n_prompts
        clean = (at_chance(g["accuracy"], n) and g["median_len"] < SHORT
                 and within(smp["long_frac"], c.task.p_cot, n, CALIBRATED)
                 and chain_learned(number(smp["acc_long"]), _n_long(smp, n)))
        verdict = ("Greedy decoding answers at chance with short answers; sampled at temperature 1, "
                   "the model goes long about as often as it saw long data, and its long answers are "
                   "nearly always right. The knowledge is in the model; greedy decoding does not use it."
                   if clean else
                   f"Greedy decoding answers {g['accuracy']:.3f} right with answers {g['mean_len']:.1f} "
                   f"tokens long; sampled, the model goes long {smp['long_frac']:.3f} of the time and "
                   f"its long answers are {number_text(number(smp['acc_long']), '.2f')} right: not the clean "
                   "starting point (chance, short, calibrated, chain learned) the argument needs.")
        return {"start_verdict": verdict, "d": c.task.d, "p_cot": c.task.p_cot,
                "ntp_samples": c.train.steps * c.train.batch_size,
                "ntp_greedy": self.start.final("greedy")["accuracy"],
                "ntp_acc_long": self.start.final("sampled")["acc_long"],
                "profile_name": self.prof.name, "n_layer": c.model.n_layer, "n_embd": c.model.n_embd}

    def _algorithm_numbers(self) -> dict:
        r = self.prof.rl_after_ntp
        table = summarize(self.algorithms, SOLVED)
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
                "rl_responses": int(table.responses.max()),
                "grpo_reach_text": (
                    f"after {reach.min()['grpo']:,.0f} to {reach.max()['grpo']:,.0f} sampled "
                    "responses" if grpo[f"responses to {SOLVED:g}"].notna().any() else
                    f"within the {int(table.responses.max()):,} responses each run sampled")}

    def _baseline_numbers(self) -> dict:
        bg = self.baseline.history[self.baseline.history.decoding == "greedy"]
        chance = at_chance(float(bg.accuracy.max()), self.n_prompts)
        short = float(bg.median_len.max()) < SHORT
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

    def _chain(self) -> tuple[int | None, float]:
        """The first NTP step of the start run with sampled long answers at least ``KNOWN`` right
        (None: none), and the long demonstrations seen by then (by the run's end when none)."""
        start = self.start
        hs = start.history[start.history.decoding == "sampled"].sort_values("step")
        learned = hs[hs.acc_long >= KNOWN]
        batch, p_cot = start.config.train.batch_size, start.config.task.p_cot
        if len(learned):
            k = int(learned.step.iloc[0])
            return k, k * batch * p_cot
        return None, start.config.train.steps * batch * p_cot  # a lower bound

    def _early_numbers(self) -> dict:
        e, prof = self.too_early_evidence(), self.prof
        table = summarize(self.early, SOLVED)
        out = {"early_step": e.steps[0],
               "early_final": float(table["final greedy accuracy"].iloc[0]),
               "early_len": float(table["final mean length"].iloc[0]),
               "early_acc_long": float(self.early_start[0]["acc_long"]),
               "early_acc_long_text": (f"{e.acc_long[0]:.2f} of the time (of {e.n_long[0]} long "
                                       "answers)" if e.acc_long[0] is not None else
                                       "never: no long answer was sampled")}
        no_chain = (not chain_learned(e.acc_long[0], e.n_long[0])
                    and at_chance(e.final[0], e.n_prompts))
        out["early_verdict"] = ("Without a working chain a long answer earns no more reward than a "
                                "short guess, and RL has nothing to amplify" if no_chain else
                                "RL from this checkpoint does not simply stay at chance")
        # the paper's middle ground, read as the rule reads it: from a checkpoint before the first
        # one RL solves from, RL lengthened the greedy answers (beyond Z SE) at chance; short of
        # it, it lengthened them and accuracy left chance without reaching SOLVED
        r = EarlyReading.of(e)
        out["early_key"] = judge_too_early(e).key  # the checkpoint the rule turned on
        middle = [f"NTP step {e.steps[i]}" for i in r.middle]
        partway = [f"from NTP step {e.steps[i]} RL lengthened the greedy answers (long "
                   f"{e.long_before[i]:.2f} to {e.long_after[i]:.2f}) while greedy accuracy rose to "
                   f"{e.final[i]:.3f}, above chance but short of {SOLVED:g}" for i in r.partway]
        out["early_middle"] = (f"here {', '.join(middle)} does" if middle else
                               f"none lands there exactly: {'; '.join(partway)}" if partway else
                               "none of our checkpoints lands there")
        # the window of checkpoints: from which one on RL succeeds
        out["early_window"] = ", ".join(f"{k:,}" for k in e.steps)
        out["early_first_reach"] = (f"GRPO first reaches {SOLVED:g} from the step-"
                                    f"{e.steps[r.control]:,} checkpoint" if r.control is not None
                                    else f"GRPO reaches {SOLVED:g} from none of them")
        # when the chain appeared in the start run: the first evaluation with sampled long
        # answers >= KNOWN right
        k, out["chain_long"] = self._chain()
        if k is not None:
            hs = self.start.history[self.start.history.decoding == "sampled"].sort_values("step")
            before = hs[hs.step < k]
            prev = (f"; at step {int(before.step.iloc[-1]):,} they were {before.acc_long.iloc[-1]:.0%} right"
                    if len(before) and before.acc_long.notna().iloc[-1] else "")
            out["chain_appears"] = (f"{prof.name} profile: sampled long answers are first at least "
                                    f"{KNOWN:.0%} right at NTP step {k:,}{prev}")
        else:
            out["chain_appears"] = (f"{prof.name} profile: sampled long answers never reach "
                                    f"{KNOWN:.0%} right in this NTP run")
        return out

    def _rare_numbers(self) -> dict:
        c, e = self.rare_start.config, self.rare_evidence()
        rs = self.rare.curve("sampled")
        regime, rises = rare_rises(e)
        band = _band(e.long_before[0], e.long_after[0], e.n_prompts)
        verdict = (
            "The chain was not learned at this rarity, so RL had no chain to lengthen: the regime "
            "of the paper's claim is not reached at this budget, and this run neither confirms "
            "nor refutes it." if not regime else
            f"The chain was learned, and RL raised the fraction of long sampled answers by more "
            f"than {Z:g} standard errors ({band:.3f})." if rises else
            f"The chain was learned, yet RL did not raise the fraction of long sampled answers by "
            f"more than {Z:g} standard errors ({band:.3f}).")
        acc0 = e.acc_long[0]
        return {"rare_p": self.prof.rl_after_ntp.rare_p_cot,
                "rare_long": c.train.steps * c.train.batch_size * c.task.p_cot,
                "rare_len0": float(rs.mean_len.iloc[0]), "rare_len1": float(rs.mean_len.iloc[-1]),
                "rare_final": self.rare.final("greedy")["accuracy"],
                "rare_acc_long0": float(self.rare_start.final("sampled")["acc_long"]),
                "rare_acc_long0_text": (f"{acc0:.2f} right (of {e.n_long[0]} long answers)"
                                        if acc0 is not None else "none (no long answer sampled)"),
                "rare_long_frac0": e.long_before[0], "rare_long_frac1": e.long_after[0],
                "rare_malformed0": e.malformed_before[0], "rare_malformed1": e.malformed_after[0],
                "rare_verdict": verdict}

    def _across_ntp_numbers(self) -> dict:
        t = self.across_ntp_table()
        others = self._across_others_numbers(t[t.algorithm != "grpo"])
        t = t[t.algorithm == "grpo"]
        chance = t["NTP greedy accuracy"].map(lambda a: at_chance(a, self.n_prompts))
        reached = t[f"responses to {SOLVED:g}"].notna()
        n, k = len(t), int(reached.sum())
        starts = ("every start answers at chance" if chance.all() else
                  f"{int(chance.sum())} of the {n} starts answer at chance")
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
        hot = summarize(self.hot_star, SOLVED).set_index("run")["final greedy accuracy"]
        outcome = judge_hot_star(self.hot_star_evidence())
        return {"hot_T": self.prof.rl_after_ntp.hot_temperature, "hot_e2e": float(hot.iloc[0]),
                "hot_cot": float(hot.iloc[1]), "hot_cool": float(hot.iloc[2]),
                "hot_verdict": outcome.sentence}


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
