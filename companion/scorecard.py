"""The reproduction scorecard page (``book/scorecard``): each claim of the paper, our measurement
of it, and a status computed from the values the executed chapters glued.

The runner (:func:`companion.run.stage`) writes the page for each build, from the executed
notebooks: it reads the glued values (no experiment is loaded, nothing is trained), so it always
shows the numbers of the build it is part of. Each claim's status comes from a named rule below
(one module-level function per claim, its docstring the rule in words) that uses the chapters'
own verdicts and the thresholds their experiment modules define.
"""

from __future__ import annotations

import ast
import json
import math
import re
import string
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .experiments.linear_theory import DOUBLING
from .experiments.ntp_threshold import CALIBRATED, COIN_TOL
from .experiments.rl_after_ntp import ACCURACY, CHANCE, KNOWN
from .theory import THRESHOLD

GLUE_MIME = "application/papermill.record/"  # how papermill/myst-nb record a glued value

REPRODUCED = "reproduced"
PARTLY = "partly"
NOT_REPRODUCED = "not reproduced at this budget"
NOT_RUN = "not run under this profile"
STATUSES = (REPRODUCED, PARTLY, NOT_REPRODUCED, NOT_RUN)

# the thresholds the rules use, as the page lists them: (value, where it is defined)
THRESHOLDS = {
    "CHANCE": (CHANCE, "companion.experiments.rl_after_ntp"),
    "ACCURACY": (ACCURACY, "companion.experiments.rl_after_ntp"),
    "KNOWN": (KNOWN, "companion.experiments.rl_after_ntp"),
    "CALIBRATED": (CALIBRATED, "companion.experiments.ntp_threshold"),
    "COIN_TOL": (COIN_TOL, "companion.experiments.ntp_threshold"),
    "DOUBLING": (DOUBLING, "companion.experiments.linear_theory"),
}


class ScorecardError(RuntimeError):
    """A built chapter lacks a value the scorecard reads, or says something it cannot read."""


# --- reading the executed notebooks -------------------------------------------------------------
def _value(text: str) -> object:
    """A glued value from its recorded repr: a Python literal, a float (nan, inf), a numpy scalar
    (``np.float64(0.5)``), else the text itself."""
    for parse in (ast.literal_eval, float):
        try:
            return parse(text)
        except (ValueError, SyntaxError, TypeError):
            pass
    scalar = re.fullmatch(r"np\.\w+\((.*)\)", text)
    return _value(scalar.group(1)) if scalar else text


def glued(notebook: Path) -> dict[str, object]:
    """{name: value} of every value an executed notebook glued (``myst_nb.glue``)."""
    nb = json.loads(Path(notebook).read_text())
    values: dict[str, object] = {}
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            text = out.get("data", {}).get(GLUE_MIME + "text/plain")
            if name is not None and text is not None:
                values[name] = _value("".join(text) if isinstance(text, list) else text)
    return values


# --- the rules: one per claim, from the glued values ----------------------------------------------
@dataclass(frozen=True)
class Verdict:
    """A rule's outcome: one of ``STATUSES``, and why when the status alone does not say."""

    status: str
    note: str = ""


def _chance(acc: float) -> bool:
    return abs(acc - 0.5) <= CHANCE


def _two_sided(a: bool, b: bool) -> str:
    return REPRODUCED if a and b else PARTLY if a or b else NOT_REPRODUCED


# What a chapter's verdict sentence means, by the words it starts with: the experiment module writes
# one of a few fixed sentences. A sentence not listed is an error, not a guess: the experiment's
# wording changed and the rule must follow. Keyed by glue name (and the part of it read).
SENTENCES: dict[str, dict[str, object]] = {
    "early_middle": {"none of our checkpoints": False, "here ": True,
                     "none lands there exactly": "partway"},
    **{f"{key}_verdict": {
        "the partial chain lets": Verdict(REPRODUCED, f"with the {name} chain"),
        "the chain itself is not learned": Verdict(
            NOT_REPRODUCED, f"the {name} chain itself is not learned: the run can neither "
            "confirm nor refute the claim"),
        "the chain is learned, yet": Verdict(
            NOT_REPRODUCED, f"the {name} chain is learned, yet greedy decoding still answers "
            "short")} for key, name in (("leap", "leap-2"), ("blocks", "block-parity"))},
    "pen_verdict (below 1/2)": {"Below 1/2 the chain still pays and GRPO learns it": 1.0,
                                "Below 1/2 the chain still pays, but": 0.5,
                                "Below 1/2 GRPO does not learn": 0.0},
    "pen_verdict (above 1/2)": {"above 1/2 guessing short pays more": True,
                                "above 1/2 the model does not": False},
    "lin_star_at_dmax": {"more than the search allowed": False, "": True},
    "a_rl_verdict": {"RL raised both": True, "RL did not raise both": False},
}


def _meaning(name: str, text: object) -> object:
    """What the verdict sentence ``text`` (the glued value ``name``) means (see ``SENTENCES``)."""
    for start, meaning in SENTENCES[name].items():
        if str(text).startswith(start):
            return meaning
    raise ScorecardError(f"the scorecard cannot read {name} = {text!r}: it starts with none of "
                         f"{list(SENTENCES[name])} (the experiment's wording changed?)")


def rule_ntp_threshold(g: Mapping) -> Verdict:
    """Reproduced: the sweep on the closed form off 1/3 and the headline at chance; partly: one."""
    # companion.evaluate.verdict: "all <n> settings ..." or "<k> of <n> settings ... off by ..."
    text = str(g["sweep_verdict"])
    if not re.match(r"(all|\d+ of) \d+ settings ", text):
        raise ScorecardError(f"the scorecard cannot read sweep_verdict = {text!r}")
    sweep = text.startswith("all ")
    return Verdict(_two_sided(sweep, _chance(g["long_final_acc"])))


def rule_calibration(g: Mapping) -> Verdict:
    """Reproduced: the sampled long fraction within CALIBRATED of p_cot at every sweep point."""
    return Verdict(REPRODUCED if g["calib_gap"] <= CALIBRATED else NOT_REPRODUCED)


def rule_coin(g: Mapping) -> Verdict:
    """Reproduced: the coin within COIN_TOL of 2p/(1+p) at every run and for any y; partly: one."""
    return Verdict(_two_sided(g["coin_gap"] <= COIN_TOL, g["coin_y_gap"] <= COIN_TOL))


def _rl_lifts(final: float, g: Mapping) -> Verdict:
    """Reproduced: a start at chance below 1/3 and ``final`` at ACCURACY; partly: above chance."""
    start_ok = g["p_cot"] < THRESHOLD and _chance(g["ntp_greedy"])
    if final >= ACCURACY and start_ok:
        return Verdict(REPRODUCED)
    note = "" if start_ok else "the NTP start is not at chance below 1/3, as the claim needs"
    if final - 0.5 > CHANCE:
        return Verdict(PARTLY, note or f"above chance but below {ACCURACY:g}")
    return Verdict(NOT_REPRODUCED, note)


def rule_rl_grpo(g: Mapping) -> Verdict:
    """Reproduced: starts at chance below 1/3, every RL and every NTP seed at ACCURACY; partly: some."""
    v = _rl_lifts(g["grpo_final_min"], g)
    n, k = g["n_ntp_seeds"], g["across_n_reached"]
    starts = _chance(g["ntp_seed_greedy_min"]) and _chance(g["ntp_seed_greedy_max"])
    if v.status == REPRODUCED and not (starts and k == n):
        return Verdict(PARTLY, f"GRPO reached {ACCURACY:g} from {k} of {n} NTP seeds"
                       + ("" if starts else ", not every start at chance"))
    return v


def _across(v: Verdict, g: Mapping, algorithm: str, name: str) -> Verdict:
    """Partly, when the run from the first NTP seed reproduces but not every NTP seed's does."""
    n, k = g[f"{algorithm}_across_n"], g[f"{algorithm}_across_reached"]
    if v.status == REPRODUCED and k < n:
        return Verdict(PARTLY, f"{name} reached {ACCURACY:g} from {k} of {n} NTP seeds")
    return v


def rule_rl_reinforce(g: Mapping) -> Verdict:
    """Reproduced: start at chance below 1/3, REINFORCE at ACCURACY from every NTP seed; partly: some."""
    return _across(_rl_lifts(g["reinforce_final"], g), g, "reinforce", "REINFORCE")


def rule_rl_star(g: Mapping) -> Verdict:
    """Reproduced: start at chance below 1/3, STaR at ACCURACY from every NTP seed; partly: some."""
    return _across(_rl_lifts(g["star_final"], g), g, "star", "STaR")


def rule_length_growth(g: Mapping) -> Verdict:
    """Reproduced: every seed lengthens, ACCURACY of its final answers long; partly: lengthens."""
    if g["len_end_min"] <= g["len_start"]:
        return Verdict(NOT_REPRODUCED)
    return Verdict(REPRODUCED if g["long_end"] >= ACCURACY else PARTLY)


def rule_star_recursion(g: Mapping) -> Verdict:
    """Reproduced: the rounds within CALIBRATED of the iterated 2p/(1+p); partly: round 1 grows."""
    if g["star_gap3"] <= CALIBRATED:
        return Verdict(REPRODUCED)
    return Verdict(PARTLY if g["star_p1"] > g["star_p0"] else NOT_REPRODUCED,
                   f"largest gap above {CALIBRATED:g}")


def rule_hot_star(g: Mapping) -> Verdict:
    """Reproduced: hot end-to-end STaR fails, STaR at T = 1 reaches ACCURACY; partly: both fail."""
    if g["hot_e2e"] >= ACCURACY:
        return Verdict(NOT_REPRODUCED)
    if g["star_final"] >= ACCURACY:
        return Verdict(REPRODUCED)
    return Verdict(PARTLY, "STaR at temperature 1 fails too at this budget")


def rule_too_early(g: Mapping) -> Verdict:
    """Reproduced: RL lengthens at chance; partly: lengthens below ACCURACY, or fails before the chain."""
    middle = _meaning("early_middle", g["early_middle"])
    if middle == "partway":
        return Verdict(PARTLY, "from a checkpoint inside the window RL lengthened the answers and "
                       f"accuracy rose above chance, but not to {ACCURACY:g}")
    if middle:
        return Verdict(REPRODUCED)
    if _chance(g["early_final"]) and g["early_acc_long"] < KNOWN:
        return Verdict(PARTLY, "RL fails from the too-early checkpoint, but from none of the "
                       "checkpoints does it lengthen the answers without making them right")
    return Verdict(NOT_REPRODUCED)


def rule_rare(g: Mapping) -> Verdict:
    """Partly at most: RL from the one rare-data start lengthens the sampled answers."""
    if g["rare_len1"] > g["rare_len0"]:
        return Verdict(PARTLY, "from the one checkpoint run (the paper: almost every checkpoint)")
    if g["rare_acc_long0"] < KNOWN:
        return Verdict(NOT_REPRODUCED, "the NTP phase is too short for the chain at this rarity: "
                       "the regime is not reached in this profile")
    return Verdict(NOT_REPRODUCED)


def rule_leap(g: Mapping) -> Verdict:
    """The chapter's verdicts on both readings. Reproduced: NTP alone generalizes with either."""
    readings = [_meaning(f"{k}_verdict", g[f"{k}_verdict"]) for k in ("leap", "blocks")]
    won = [v for v in readings if v.status == REPRODUCED]
    if won:
        return won[0]
    return Verdict(NOT_REPRODUCED, "; ".join(v.note for v in readings))


def rule_length_penalty(g: Mapping) -> Verdict:
    """The chapter's verdict. Reproduced: learned below 1/2, short at chance above; partly: one."""
    below_half, _, above_half = str(g["pen_verdict"]).partition("; ")
    below = _meaning("pen_verdict (below 1/2)", below_half)
    above = _meaning("pen_verdict (above 1/2)", above_half)
    if below == 1.0 and above:
        return Verdict(REPRODUCED)
    return Verdict(PARTLY if below or above else NOT_REPRODUCED)


def rule_linear_threshold(g: Mapping) -> Verdict:
    """Reproduced: the switch within a sweep step of 1/3, chance for p_cot up to 0.3; partly: one."""
    switch = abs(g["lin_threshold"] - THRESHOLD) <= g["lin_threshold_step"]
    below = _chance(g["lin_below_acc_min"]) and _chance(g["lin_below_acc_max"])
    return Verdict(_two_sided(switch, below))


def rule_linear_star(g: Mapping) -> Verdict:
    """Reproduced: DOUBLING of the rounds double the odds, only p_cot = 2^-d fails; partly: one."""
    doubles = g["lin_star_within"] >= DOUBLING
    failed = [p.strip() for p in str(g["lin_star_failed"]).split(",") if p.strip() != "none"]
    exponential = f"{2.0 ** -g['lin_d']:.2g}"  # as the chapter lists the failed p_cot values
    only_exponential = all(p == exponential for p in failed)
    note = "" if only_exponential else "p_cot = " + ", ".join(
        p for p in failed if p != exponential) + " also fails within the rounds"
    return Verdict(_two_sided(doubles, only_exponential), note)


def rule_linear_samples(g: Mapping) -> Verdict:
    """Reproduced: STaR reaches the target at the largest d, slope under the table's; partly: reaches."""
    reached = _meaning("lin_star_at_dmax", g["lin_star_at_dmax"])
    if not reached:
        return Verdict(NOT_REPRODUCED, "NTP + STaR misses the target at the largest d")
    return Verdict(REPRODUCED if g["lin_slope_star"] < g["lin_slope_table"] else PARTLY)


def rule_multiplication(g: Mapping) -> Verdict:
    """Reproduced: NTP fails and NTP + GRPO solves it in every seed; partly: in some; not run: not cached."""
    if not g["mult_computed"]:
        return Verdict(NOT_RUN, "its runs were not in this build's cache (`make multiplication`)")
    k, n = g["mult_separated"], g["mult_seeds"]
    status = REPRODUCED if k == n else PARTLY if k else NOT_REPRODUCED
    return Verdict(status, f"at {g['mult_n']} digits (the paper's failing case: 7)")


def rule_llama(g: Mapping) -> Verdict:
    """Partly (never more: not the paper's models) when tier (a) or tier (b) shows the trend."""
    a = _meaning("a_rl_verdict", g["a_rl_verdict"])
    if not g["b_computed"]:
        return Verdict(PARTLY if a else NOT_REPRODUCED,
                       "tier (a) only: tier (b)'s runs were not in this build's cache "
                       "(`make pretrained`); not the paper's models and data")
    k, n = g["b_raised"], g["b_seeds"]
    b = f"tier (b) in {k} of {n} seeds"
    return Verdict(PARTLY if a or k else NOT_REPRODUCED,
                   f"tier (a) {'shows it' if a else 'does not'}, {b}: not the paper's models "
                   "and data")


# --- the claims ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Claim:
    """One row of the scorecard: a claim, what the paper says, and how we measure it."""

    title: str
    chapter: str | None  # the chapter that measures it ("02_ntp"); None: no chapter does
    section: str  # the chapter's section, in words
    paper: str  # the statement, attributed: (paper, figure), (reconstructed) or (ours)
    measured: str  # format string over the chapter's glued values
    rule: Callable[[Mapping], Verdict]
    uses: tuple[str, ...] = ()  # glued values the rule reads beyond those ``measured`` shows

    @property
    def reads(self) -> tuple[str, ...]:
        """Every glued value the row reads, in order."""
        shown = [f for _, f, _, _ in string.Formatter().parse(self.measured) if f]
        return tuple(dict.fromkeys([*shown, *self.uses]))


# ``measured`` is a format string over the glued values: its math braces are doubled
CLAIMS: tuple[Claim, ...] = (
    Claim("NTP threshold at $p_{cot} = 1/3$", "02_ntp",
          "A sweep over $p_{cot}$; More samples do not help",
          "NTP alone stays at chance under greedy decoding below $p_{cot} = 1/3$, with short "
          "answers, even after $\\sim 10^7$ samples at $d = 50$; above $1/3$ it generalizes "
          "(paper, Fig. 2, Theorem 1).",
          "sweep ($d =$ {sweep_d}): greedy {acc_low:.3f} at $p_{{cot}} = 0.1$, {acc_high:.3f} at "
          "$p_{{cot}} = 0.5$, {sweep_verdict}; nearest $1/3$, {near_text}: {near_verdict}; "
          "headline ($d =$ {long_d}): greedy at most "
          "{long_final_acc:.3f} after {long_samples:,} samples, median length {long_final_len:.0f}",
          rule_ntp_threshold),
    Claim("Calibration", "02_ntp", "Calibrated in length",
          "Sampled at temperature 1, the NTP model answers long with probability $\\approx p_{cot}$, "
          "\"calibrated in length\" (reconstructed: chapter 1's closed form, consistent with the "
          "paper's Theorem 1).",
          "largest gap between the sampled long fraction and $p_{{cot}}$ over the sweep: "
          "{calib_gap:.3f}",
          rule_calibration),
    Claim("The coin $P(\\text{continue} \\mid b_1) = 2p/(1+p)$", "02_ntp", "The coin, measured",
          "(reconstructed) After $b_1$ the model continues the chain with probability $2p/(1+p)$, "
          "so greedy decoding goes long iff $p_{cot} > 1/3$ (chapter 1); measuring it on the "
          "trained models is (ours).",
          "largest gap to $2p/(1+p)$ over {coin_n} runs ({coin_prompts:,} prompts each): "
          "{coin_gap:.3f}; largest dependence on $y$: {coin_y_gap:.3f}; the measured coin crosses "
          "$1/2$ {coin_crossing_text}",
          rule_coin),
    Claim("RL after NTP: GRPO", "03_rl", "GRPO, REINFORCE and STaR",
          "From an NTP model at chance ($p_{cot} < 1/3$), RL with a correctness reward (GRPO, "
          "REINFORCE and STaR all work) reaches $\\approx 100\\%$ greedy accuracy after few samples "
          "(paper, Fig. 1 right, Fig. 3).",
          "from greedy {ntp_greedy:.3f} ($d =$ {d}, $p_{{cot}} =$ {p_cot}): final greedy at least "
          "{grpo_final_min:.3f} over {n_seeds} RL seeds; {grpo_n_reached} of {n_seeds} reached "
          "{reached_at} (after {grpo_reach_min:,.0f} to {grpo_reach_max:,.0f} responses); from "
          "{n_ntp_seeds} NTP seeds (starts {ntp_seed_greedy_min:.3f} to "
          "{ntp_seed_greedy_max:.3f}): final {across_final_min:.3f} to {across_final_max:.3f}, "
          "{across_n_reached} of {n_ntp_seeds} reached {reached_at}",
          rule_rl_grpo),
    Claim("RL after NTP: REINFORCE", "03_rl", "GRPO, REINFORCE and STaR",
          "REINFORCE also takes it to $\\approx 100\\%$ (paper, Fig. 1 right, Fig. 3).",
          "from greedy {ntp_greedy:.3f} ($p_{{cot}} =$ {p_cot}): final greedy {reinforce_final:.3f} "
          "(mean over {n_other_seeds} seed(s)) after {rl_responses:,} responses; from "
          "{reinforce_across_n} NTP seeds: final {reinforce_across_min:.3f} to "
          "{reinforce_across_max:.3f}, {reinforce_across_reached} reached {reached_at}",
          rule_rl_reinforce),
    Claim("RL after NTP: STaR", "03_rl", "GRPO, REINFORCE and STaR",
          "STaR also takes it to $\\approx 100\\%$ (paper, Fig. 1 right, Fig. 3).",
          "from greedy {ntp_greedy:.3f} ($p_{{cot}} =$ {p_cot}): final greedy {star_final:.3f} "
          "(mean over {n_other_seeds} seed(s)) after {rl_responses:,} responses; from "
          "{star_across_n} NTP seeds: final {star_across_min:.3f} to {star_across_max:.3f}, "
          "{star_across_reached} reached {reached_at}",
          rule_rl_star),
    Claim("Length grows during RL", "04_test_time", "From one token to $d$",
          "While RL raises accuracy, the response length rises from 1 to $d$ (paper, Fig. 3).",
          "greedy length {len_start:.1f} at the start, {len_end_min:.1f} to {len_end_max:.1f} at the "
          "end over {n_seeds} GRPO seeds ($d =$ {d}); at least {long_end:.3f} of the final greedy "
          "answers long. {with_length}",
          rule_length_growth),
    Claim("STaR recursion", "04_test_time", "STaR, round by round",
          "Each STaR round maps the long fraction $p \\mapsto 2p/(1+p)$: the odds double (the "
          "paper's recursion; its derivation in chapter 1 is (reconstructed), running STaR in rounds "
          "(ours)).",
          "round 1: {star_p1:.3f} measured against {star_pred1:.3f} predicted, from {star_p0:.3f}; "
          "largest gap in rounds {star_gap_rounds}: {star_gap3:.3f}. {star_switch}",
          rule_star_recursion),
    Claim("STaR fails when hot", "03_rl", "When STaR fails",
          "STaR with a high sampling temperature and the end-to-end reward fails (paper).",
          "at $T =$ {hot_T}: final greedy {hot_e2e:.3f} with the end-to-end reward, {hot_cot:.3f} "
          "with the CoT reward (ours); at $T =$ {temp}: {star_final:.3f}",
          rule_hot_star),
    Claim("Too-early checkpoint", "03_rl", "Too early",
          "RL from a too-early NTP checkpoint can lengthen the answers without generalizing (paper).",
          "from NTP step {early_step} (sampled long answers {early_acc_long:.2f} right): final "
          "greedy {early_final:.3f}, length {early_len:.1f}; over the checkpoints at steps "
          "{early_window}, {early_first_reach}; longer answers still wrong: {early_middle} "
          "({chain_appears})",
          rule_too_early),
    Claim("Rare long data, $p_{cot} = 0.01$", "03_rl", "Rare long data",
          "At $p_{cot} = 0.01$ RL still lengthens the answers from almost every NTP checkpoint "
          "(paper).",
          "the NTP start at $p_{{cot}} =$ {rare_p} saw {rare_long:,.0f} long demonstrations "
          "(the main start {chain_long:,.0f} when its chain appeared, or by its end), its long "
          "answers {rare_acc_long0:.2f} right; sampled length {rare_len0:.2f} to {rare_len1:.2f}, final "
          "greedy {rare_final:.3f}",
          rule_rare),
    Claim("Partial chains (leap 2)", "04_test_time", "Partial chains: leap 2",
          "A leap-2 partial chain lets NTP alone generalize below $1/3$ (paper, appendix, Fig. 15); "
          "our leap-2 encoding, every second running parity, is (reconstructed), and so is the "
          "other reading we test, the parity of every 2 bits and then $y$.",
          "at $p_{{cot}} =$ {leap_p}, $d =$ {leap_d}, {leap2_steps:,} NTP steps: leap-2 greedy "
          "{leap2_acc:.3f} (its sampled long answers {leap2_acc_long:.2f} right), block parities "
          "{blocks_acc:.3f} ({blocks_acc_long:.2f}), full chain {leap1_acc:.3f}; the coin after "
          "the first chain token {leap_coin:.3f} (leap 2) and {blocks_coin:.3f} (block parities) "
          "against $2p/(1+p) =$ {leap_coin_pred:.3f}: {leap_coin_verdict}",
          rule_leap, uses=("leap_verdict", "blocks_verdict")),
    Claim("Length penalty", "04_test_time", "A length penalty",
          "(ours; a reviewers' question) With a penalty $\\lambda$ per full chain, the chain still "
          "pays for $\\lambda < 1/2$; above, guessing short pays more.",
          "$\\lambda =$ {pen_lo}: greedy {pen_lo_acc:.3f}, length {pen_lo_len:.1f}; $\\lambda =$ "
          "{pen_hi}: greedy {pen_hi_acc:.3f}, length {pen_hi_len:.1f}. {pen_verdict}",
          rule_length_penalty),
    Claim("Linear model: threshold", "05_linear", "Theorem 1",
          "A linear autoregressive model after NTP answers short and at chance under greedy "
          "decoding iff $p_{cot} < 1/3$ (paper, Theorem 1; our linear model is (reconstructed)).",
          "greedy switches at $p_{{cot}} \\approx$ {lin_threshold:.3f} (sweep step "
          "{lin_threshold_step:.2f}, $d =$ {lin_d}); greedy {lin_below_acc_min:.3f} to "
          "{lin_below_acc_max:.3f} for $p_{{cot}} \\le 0.3$; the coin within {lin_cont_err:.3f} of "
          "$2p/(1+p)$",
          rule_linear_threshold),
    Claim("Linear model: STaR rounds", "05_linear", "Theorem 2",
          "After NTP, STaR learns parity as long as $p_{cot} = \\Omega(d^{-\\kappa})$ (paper, "
          "Theorem 2); each round doubles the odds of a long answer, so "
          "$O(\\log\\frac{1-p}{p})$ rounds reach the chain (reconstructed: chapter 1's recursion).",
          "{lin_star_within:.0%} of the one-round steps within $0.05$ of $2p/(1+p)$; the rounds "
          "{lin_rounds_growth}; not learned within {lin_star_rounds} rounds: $p_{{cot}} =$ "
          "{lin_star_failed} ($d =$ {lin_d})",
          rule_linear_star),
    Claim("Linear model: sample complexity", "05_linear", "Sample complexity",
          "NTP followed by RL learns parity with $\\mathrm{poly}(d)$ samples; NTP alone needs "
          "resources exponential in $d$ (paper).",
          "NTP + STaR: samples $\\propto d^b$ with $b =$ {lin_slope_star:.2f} "
          "({lin_slope_star_seeds}) up to $d =$ "
          "{lin_d_max} ({lin_star_at_dmax} there), $b =$ {lin_slope_kappa:.2f} at $p_{{cot}} = "
          "d^{{-\\kappa}}$, $\\kappa =$ {lin_kappa:g}, up to $d =$ {lin_kappa_d_max}, and "
          "{lin_slope_steep:.2f} at $\\kappa =$ {lin_steep_kappa:g}, up to $d =$ "
          "{lin_steep_d_max}; the one-step "
          "$2^d$-feature table: "
          "{lin_bits_table:.2f} doublings per bit ({lin_table_at_dmax} at $d =$ {lin_d_max})",
          rule_linear_samples, uses=("lin_slope_table",)),
    Claim("Multiplication", "07_multiplication", "The runs",
          "$n$-digit multiplication from scratch with GPT-2/Mistral-style models: NTP alone fails "
          "at 7 digits with $p_{cot} = 0.1$, even after 38 GPU-hours (paper); that RL after NTP "
          "succeeds there is the paper's general claim carried to this setting, and our chain "
          "format is ours (both reconstructed).",
          "{mult_measured}", rule_multiplication,
          uses=("mult_computed", "mult_separated", "mult_seeds", "mult_n")),
    Claim("Llama-family post-training", "06_llama", "The paper's trend beside ours",
          "Fine-tuned on short/long GSM8K and MATH mixtures, Llama-family models gain accuracy and "
          "response length under RL with a correctness reward (paper).",
          "(a) worded parity, a small Llama from scratch: greedy {a_sft_acc:.3f} (length "
          "{a_sft_len:.1f}) after SFT, {a_rl_acc:.3f} (length {a_rl_len:.1f}) after RL; (b) "
          "SmolLM2-135M on running totals: {b_measured}",
          rule_llama, uses=("a_rl_verdict", "b_computed", "b_raised", "b_seeds")),
)


@dataclass(frozen=True)
class Finding:
    """A question of ours beyond the paper's claims, and what this build measured: no status
    (there is no claim of the paper to reproduce), only the chapter's computed verdicts."""

    title: str
    chapter: str
    section: str
    question: str
    measured: str  # format string over the chapter's glued values

    @property
    def reads(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f for _, f, _, _ in string.Formatter().parse(self.measured) if f))


FINDINGS: tuple[Finding, ...] = (
    Finding("Which chain RL learns", "04_test_time", "Exact chains, position by position",
            "Are the RL policies' long answers the chain they were shown, token for token?",
            "sampled long answers exact: {chain_e2e_min:.3f} to {chain_e2e_max:.3f} (end-to-end "
            "reward), {chain_cot_min:.3f} to {chain_cot_max:.3f} (CoT reward), {chain_ntp:.3f} (NTP "
            "start); end-to-end reward: {chain_loose_text}. {chain_verdict}"),
    Finding("A forced wrong token", "04_test_time", "A wrong token forced in",
            "Is each chain token computed from the previous one, or from the prompt?",
            "from position 2 on, the policies continue from a forced wrong token at least "
            "{iv_later_own_min:.3f} of the time; at position 1 the end-to-end policies ignore it "
            "{iv_k1_true_e2e_min:.3f} to {iv_k1_true_e2e_max:.3f} of the time. {iv_verdict}"),
    Finding("Off-distribution prompts", "04_test_time", "Prompts off the training distribution",
            "Do the policies still answer right when the prompt bits are not uniform?",
            "bit biases $q =$ {off_biases}: {off_verdict}; at the worst bias, greedy accuracy "
            "{off_e2e_mean:.3f} (end-to-end reward) and {off_cot_mean:.3f} (CoT reward) on "
            "average: {off_reward_verdict}"),
)


# --- the rows and the page ------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """A claim as this build measured it."""

    claim: Claim
    built: bool  # its chapter was part of the build
    measured: str  # the measured values, as the page shows them
    verdict: Verdict


def _md(text: str) -> str:
    # a value in a table cell: no column breaks, math or emphasis (inline code left as it is)
    parts = str(text).split("`")
    return "`".join(p if i % 2 else "".join("\\" + c if c in "|$*_<[" else c for c in p)
                    for i, p in enumerate(parts))


class _Cells(string.Formatter):
    """Formats a claim's measured values: each value escaped for a table cell, nan as "n/a"."""

    def format_field(self, value, format_spec):
        if isinstance(value, float) and math.isnan(value):
            return "n/a"
        return _md(format(value, format_spec))


def _chapter_word(name: str) -> str:
    return f"chapter {name.split('_')[0].lstrip('0')}"


def row(claim: Claim, values: Mapping | None) -> Row:
    """The claim's row from its chapter's glued values (None: the chapter was not built).

    Raises :class:`ScorecardError` naming the chapter and the value when a built chapter lacks one
    the row reads."""
    if claim.chapter is None:
        return Row(claim, False, claim.measured, claim.rule({}))
    if values is None:
        return Row(claim, False, f"{_chapter_word(claim.chapter)} was not part of this build",
                   Verdict(NOT_RUN))
    missing = [k for k in claim.reads if k not in values]
    if missing:
        raise ScorecardError(
            f"chapter {claim.chapter} glued no value named {', '.join(map(repr, missing))}, which "
            f"the scorecard's row {claim.title!r} reads: the chapter's numbers() must return it "
            "(or companion/scorecard.py must stop reading it)")
    # the rule sees only what the row declares it reads: an undeclared value is a KeyError
    used = {k: values[k] for k in claim.reads}
    return Row(claim, True, _Cells().vformat(claim.measured, (), used), claim.rule(used))


def rows(values: Mapping[str, Mapping]) -> list[Row]:
    """Every claim's row, from {chapter name: its glued values} of the chapters built."""
    return [row(c, values.get(c.chapter) if c.chapter else None) for c in CLAIMS]


def _where(r: Row) -> str:
    c = r.claim
    if c.chapter is None:
        return "no chapter"
    word = _chapter_word(c.chapter)
    # a link only to a page of this build: a chapter left out has none (and -n fails on it)
    link = f"{{doc}}`{word} <{c.chapter}>`" if r.built else word
    return f"{link}, *{c.section}*"


def finding_measured(f: Finding, values: Mapping | None) -> str:
    """A finding's measured cell from its chapter's glued values (None: not built); a built
    chapter that lacks a value is an error naming it."""
    if values is None:
        return f"{_chapter_word(f.chapter)} was not part of this build"
    missing = [k for k in f.reads if k not in values]
    if missing:
        raise ScorecardError(f"chapter {f.chapter} glued no value named "
                             f"{', '.join(map(repr, missing))}, which the scorecard's finding "
                             f"{f.title!r} reads")
    return _Cells().vformat(f.measured, (), {k: values[k] for k in f.reads})


def _where_finding(f: Finding, values: Mapping) -> str:
    word = _chapter_word(f.chapter)
    return f"{{doc}}`{word} <{f.chapter}>`, *{f.section}*" if f.chapter in values else word


def _status(v: Verdict, rule: Callable) -> str:
    note = f": {v.note}" if v.note else ""
    return f"**{v.status}** (`{rule.__name__}`){note}"


def summary(found: list[Row]) -> str:
    """The count per status, in the order of ``STATUSES``."""
    n = Counter(r.verdict.status for r in found)
    return ", ".join(f"{n[s]} {s}" for s in STATUSES if n[s])


def scorecard_page(values: Mapping[str, Mapping], profile: str) -> str:
    """The MyST page ``book/scorecard`` from {chapter name: glued values} of the chapters built."""
    found = rows(values)
    lines = [
        "# Reproduction scorecard", "",
        "Each claim of the paper this book checks, what this build measured, and a status "
        "computed from the values the executed chapters glued (`companion/scorecard.py`: one "
        "named rule per claim, listed below). Items marked (reconstructed) are our derivations, "
        "(ours) our additions.", "",
        f"**Under the `{profile}` profile:** {summary(found)}.", "",
        "| claim: what the paper says | measured in this build | status |",
        "|---|---|---|",
    ]
    for r in found:
        lines.append(f"| **{r.claim.title}** ({_where(r)}): {r.claim.paper} | {r.measured} "
                     f"| {_status(r.verdict, r.claim.rule)} |")
    lines += ["", "## Beyond the paper (ours)", "",
              "Questions of ours beyond the paper's claims, measured in this build: no status, only "
              "what the chapter computed.", "",
              "| question (ours) | measured in this build |", "|---|---|"]
    for f in FINDINGS:
        lines.append(f"| **{f.title}** ({_where_finding(f, values)}): {f.question} "
                     f"| {finding_measured(f, values.get(f.chapter))} |")
    lines += ["", "## The rules", "",
              "Each rule reads its chapter's glued values; where none of its conditions holds the "
              f"status is *{NOT_REPRODUCED}*, and a chapter left out of the build is *{NOT_RUN}*.", "",
              "| rule | status from the glued values |", "|---|---|"]
    for c in CLAIMS:
        lines.append(f"| `{c.rule.__name__}` | {_md(c.rule.__doc__.strip())} |")
    lines += ["", "Thresholds, from the experiment modules: " + "; ".join(
        f"`{name}` = {value:g} (`{where}`)" for name, (value, where) in THRESHOLDS.items()) + ".", ""]
    return "\n".join(lines)


def page_from_notebooks(notebooks: Mapping[str, Path], profile: str) -> str:
    """The scorecard page from the executed notebooks of a build ({chapter name: path})."""
    return scorecard_page({name: glued(path) for name, path in notebooks.items()}, profile)
