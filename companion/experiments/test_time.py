"""Chapter 4's claim: test-time compute (response length) grows from 1 to d during RL.

The paper (Fig. 3): while RL raises accuracy, responses lengthen from 1 token to the d-token
chain; for STaR the model of chapter 1 predicts each round maps the long fraction p to
2p/(1+p); a leap-2 partial chain lets NTP alone generalize below 1/3 (appendix, Fig. 15). Ours:
STaR in rounds against that recursion, a length penalty in the reward, and which chain the RL
policies learned (``faithfulness``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import parallel
from ..config import NTPRunConfig, Profile, RLConfig, with_
from ..evaluate import coin
from ..theory import continue_prob, first_c1_prob, star_long_fractions, star_step
from ..train import NTPResult, RLResult, histories, ntp_run, rl_run, rl_task, summarize
from . import faithfulness
from ..verdicts import CALIBRATED, CHANCE, KNOWN, SOLVED
from .ntp_threshold import COIN_PROMPTS, COIN_SEED
from .rl_after_ntp import algorithm_configs, hot_star_configs, start_config

GAP_ROUNDS = (1, 3)  # the STaR rounds whose measured long fraction is compared with 2p/(1+p)

__test__ = False  # pytest: this module's name starts with "test", it holds no tests


def leap_config(prof: Profile, leap: int = 2, chain: str = "running") -> NTPRunConfig:
    """The partial-chain NTP run at the headline's p_cot; ``leap=1`` is the full-chain run it is
    compared with (at the sweep's d, a run of chapter 2's sweep); ``chain="blocks"`` the other
    reading of the partial chain (:class:`~companion.config.TaskConfig`)."""
    t = prof.test_time
    return with_(prof.headline, d=t.leap_d, leap=leap, steps=t.leap_steps, chain=chain)


def penalty_configs(prof: Profile) -> dict[str, RLConfig]:
    """GRPO without and with each of ``length_penalties``."""
    rl = prof.rl_after_ntp.rl
    return {f"lambda = {lp:g}": dataclasses.replace(rl, length_penalty=lp)
            for lp in (0.0, *prof.test_time.length_penalties)}


def probed_configs(prof: Profile) -> dict[str, RLConfig]:
    """The RL policies whose chains ``faithfulness`` probes: chapter 3's, their CoT-reward twins,
    hot STaR with each reward, and GRPO with each length penalty."""
    return {**algorithm_configs(prof), **faithfulness.cot_configs(prof), **hot_star_configs(prof),
            **dict(list(penalty_configs(prof).items())[1:])}


def runs(prof: Profile) -> dict[str, parallel.Run]:
    start = start_config(prof)
    out = {"start": ntp_run(start), "star rounds": rl_task(rl_run(prof.test_time.star_rounds, start)),
           "leap 2": ntp_run(leap_config(prof)), "leap 1": ntp_run(leap_config(prof, 1)),
           "leap 2 blocks": ntp_run(leap_config(prof, 2, "blocks"))}
    out |= {name: rl_task(rl_run(c, start)) for name, c in penalty_configs(prof).items()}
    out |= {name: rl_task(rl_run(c, start))
            for name, c in (algorithm_configs(prof) | hot_star_configs(prof)).items()}
    return out | faithfulness.runs(prof, probed_configs(prof))


def star_round_table(res: RLResult) -> pd.DataFrame:
    """Per STaR round: the sampled (T=1) long fraction measured at the round's end, beside the
    closed form p -> 2p/(1+p) iterated from the measured start (``predicted``) and applied to the
    previous round's measurement (``one_step``); ``kept`` is the long fraction among the samples
    the round actually kept."""
    k = res.config.rl.round_steps
    s = res.curve("sampled").set_index("step")
    rounds = [r for r in range(res.config.rl.steps // k + 1) if r * k in s.index]
    measured = [float(s.loc[r * k, "long_frac"]) for r in rounds]
    predicted = star_long_fractions(measured[0], len(rounds) - 1)
    ro = res.curve("rollout")
    rows = []
    for i, r in enumerate(rounds):
        kept = ro[(ro.step >= (r - 1) * k) & (ro.step < r * k)].kept_long_frac.mean() if r else np.nan
        rows.append({"round": r, "measured": measured[i], "predicted": predicted[i],
                     "one_step": star_step(measured[i - 1]) if i else measured[0], "kept": kept})
    return pd.DataFrame(rows)


@dataclass
class TestTimeResult:
    __test__ = False

    prof: Profile
    start: NTPResult
    grpo: dict[str, RLResult]  # "seed <s>"
    algorithms: dict[str, RLResult]  # chapter 3's GRPO, REINFORCE and STaR runs
    star_rounds: RLResult
    leap2: NTPResult
    full: NTPResult  # the full chain (leap 1) at the same d
    blocks: NTPResult  # the other reading of leap 2: the parity of every 2 bits, then y
    penalised: dict[str, RLResult]  # "lambda = <penalty>", the first without
    chains: faithfulness.FaithfulnessResult  # which chain the RL policies learned (ours)

    @property
    def rounds(self) -> pd.DataFrame:
        return star_round_table(self.star_rounds)

    @property
    def leaps(self) -> pd.DataFrame:
        return pd.concat([self.full.history.assign(chain="full (leap 1)"),
                          self.leap2.history.assign(chain="leap 2"),
                          self.blocks.history.assign(chain="leap 2, block parities")],
                         ignore_index=True)

    def numbers(self) -> dict:
        return {"d": self.start.config.task.d, "profile_name": self.prof.name,
                **self._length_numbers(), **self._star_numbers(), **self._leap_numbers(),
                **self._penalty_numbers(), **self.chains.numbers()}

    def _length_numbers(self) -> dict:
        g = histories(self.grpo)
        g = g[g.decoding == "greedy"]
        first, last = g[g.step == 0], g[g.step == g.step.max()]
        every = histories(self.algorithms)
        every = every[every.decoding == "greedy"]
        above = every[every.accuracy >= 0.6]
        out = {"with_length": "Accuracy above chance appears only together with long answers" if
               len(above) == 0 or float(above.mean_len.min()) > 2 else
               f"Some evaluations are above chance with answers as short as "
               f"{float(above.mean_len.min()):.1f} tokens"}
        return out | {"n_seeds": len(self.prof.rl_after_ntp.seeds),
                "len_start": float(first.mean_len.mean()), "len_end_min": float(last.mean_len.min()),
                "len_end_max": float(last.mean_len.max()), "long_end": float(last.long_frac.min())}

    def _star_numbers(self) -> dict:
        star, rounds = self.prof.test_time.star_rounds, self.rounds
        early_rounds = rounds[rounds["round"].between(*GAP_ROUNDS)]
        return {"round_steps": star.round_steps,
                "round_responses": star.round_steps * star.prompts_per_step * star.G,
                "star_gap3": float((early_rounds.measured - early_rounds.predicted).abs().max()),
                "star_gap_rounds": f"{GAP_ROUNDS[0]} to {GAP_ROUNDS[1]}",
                "star_p0": float(rounds.measured.iloc[0]), "star_p1": float(rounds.measured.iloc[1]),
                "star_pred1": float(rounds.predicted.iloc[1]),
                "star_switch": self._switch_verdict()}

    def _switch_verdict(self) -> str:
        """Whether greedy decoding went long in the rounds whose sampled long fraction passed 1/3."""
        k, g = self.prof.test_time.star_rounds.round_steps, self.star_rounds.curve("greedy")
        past = self.rounds[self.rounds.measured > 1 / 3]
        if not len(past):
            return "The long fraction never passes 1/3 in these rounds."
        greedy_long = g.set_index("step").long_frac.reindex(past["round"] * k)
        if bool((greedy_long > 0.5).all()):
            return "In every round whose long fraction is past 1/3, greedy decoding answers with the chain (chapter 1)."
        return (f"Yet greedy decoding does not switch to the chain in every round past 1/3 (greedy "
                f"long fraction {float(greedy_long.min()):.2f} at the lowest), unlike the closed form.")

    def _leap_numbers(self) -> dict:
        leap2, full, blocks, d = self.leap2, self.full, self.blocks, self.start.config.task.d
        acc, acc_long = leap2.final("greedy")["accuracy"], leap2.final("sampled")["acc_long"]
        return {**self._leap_coin_numbers(), "leap_p": leap2.config.task.p_cot,
                "leap_d": leap2.config.task.d,
                "leap_d_note": "the headline's d" if leap2.config.task.d == d else
                f"smaller than the headline's d = {d}, for the {self.prof.name} profile's time "
                "budget; the full-chain run is chapter 2's sweep run at this d",
                "leap1_steps": full.config.train.steps, "leap2_steps": leap2.config.train.steps,
                "leap2_acc": acc, "leap2_len": leap2.final("greedy")["mean_len"],
                "leap2_acc_long": acc_long, "leap1_acc": full.final("greedy")["accuracy"],
                "leap_verdict": partial_chain_verdict("leap-2", acc, acc_long),
                "blocks_tokens": blocks.task.chain_len,
                "blocks_last": blocks.task.chain_len - 1,
                "blocks_acc": blocks.final("greedy")["accuracy"],
                "blocks_len": blocks.final("greedy")["mean_len"],
                "blocks_acc_long": blocks.final("sampled")["acc_long"],
                "blocks_verdict": partial_chain_verdict(
                    "block-parity", blocks.final("greedy")["accuracy"],
                    blocks.final("sampled")["acc_long"])}

    def _leap_coin_numbers(self) -> dict:
        """Chapter 1's coin after each chain's first token, against 2p/(1+p): the closed form
        holds for any chain whose first token says nothing about y (reconstructed)."""
        p = self.leap2.config.task.p_cot
        pred, first_pred = float(continue_prob(p)), float(first_c1_prob(p))
        leap, full, blocks = (coin(r.load_model(), r.task, COIN_PROMPTS, COIN_SEED)
                              for r in (self.leap2, self.full, self.blocks))
        return {"leap_coin": leap["continue"], "leap_coin_full": full["continue"],
                "leap_first": leap["first_c1"], "leap_first_pred": first_pred,
                "leap_coin_pred": pred, "leap_coin_tol": CALIBRATED, "leap_coin_prompts": COIN_PROMPTS,
                "leap_coin_verdict": coin_verdict("leap-2", leap, p),
                "blocks_coin": blocks["continue"], "blocks_first": blocks["first_c1"],
                "blocks_coin_verdict": coin_verdict("block-parity", blocks, p)}

    def _penalty_numbers(self) -> dict:
        pen, lp = summarize(self.penalised).set_index("run"), self.prof.test_time.length_penalties
        return {"pen_lo": lp[0], "pen_hi": lp[-1],
                "pen_lo_acc": float(pen["final greedy accuracy"].iloc[1]),
                "pen_lo_len": float(pen["final mean length"].iloc[1]),
                "pen_hi_acc": float(pen["final greedy accuracy"].iloc[-1]),
                "pen_hi_len": float(pen["final mean length"].iloc[-1]),
                "pen_verdict": self._penalty_verdict(pen)}

    @staticmethod
    def _penalty_verdict(pen: pd.DataFrame) -> str:
        lo_acc, lo_len = pen["final greedy accuracy"].iloc[1], pen["final mean length"].iloc[1]
        hi_acc, hi_len = pen["final greedy accuracy"].iloc[-1], pen["final mean length"].iloc[-1]
        if lo_acc >= 0.9 and lo_len > 2:
            lo = "Below 1/2 the chain still pays and GRPO learns it"
        elif lo_acc - 0.5 > CHANCE and lo_len > 2:
            lo = "Below 1/2 the chain still pays, but at the end of the run GRPO has only partly learned it"
        else:
            lo = "Below 1/2 GRPO does not learn the chain in this run"
        hi = ("above 1/2 guessing short pays more, and the model stays at chance with short answers"
              if abs(hi_acc - 0.5) <= CHANCE and hi_len < 2 else
              "above 1/2 the model does not simply fall back to guessing here")
        return f"{lo}; {hi}."


def partial_chain_verdict(name: str, acc: float, acc_long: float) -> str:
    """What a partial-chain NTP run shows: greedy ``acc`` and sampled long answers' ``acc_long``
    (``name``: "leap-2" or "block-parity", the reading of the partial chain)."""
    if acc >= 0.9:
        return (f"the partial chain lets next-token prediction alone generalize below 1/3 "
                f"({name}), as the paper reports.")
    if not acc_long >= 0.9:
        return (f"the chain itself is not learned at this budget ({name}), so this run can "
                "neither confirm nor refute the paper's claim: it needs a longer NTP phase "
                "(the `paper` profile).")
    return (f"the chain is learned, yet greedy decoding still answers short ({name}): the "
            "paper's claim is not reproduced at this scale.")


def coin_verdict(name: str, measured: dict, p: float) -> str:
    """The coin (:func:`companion.evaluate.coin`) of a partial-chain model against 2p/(1+p)."""
    pred = float(continue_prob(p))
    if abs(measured["continue"] - pred) <= CALIBRATED:
        return (f"the {name} model's coin is the closed form's "
                + ("and below 1/2, so greedy decoding answers short: this encoding leaves "
                   "the threshold at 1/3, as chapter 1 predicts" if pred < 0.5 else
                   "and above 1/2, so greedy decoding goes long"))
    if abs(measured["first_c1"] - 0.5) <= CALIBRATED and abs(measured["continue"] - p) <= CALIBRATED:
        return (f"the {name} model has not learned even the chain's first token: it emits "
                "it half the time and then continues about as often as long data is "
                "(p_cot), so the argument's premise does not hold for it at this budget")
    return (f"the {name} model's coin is {abs(measured['continue'] - pred):.3f} away from "
            "the closed form: chapter 1's argument does not describe this model")


def load(prof: Profile) -> TestTimeResult:
    res = parallel.fetch(runs(prof), prof.workers)
    algorithms = {k: res[k] for k in algorithm_configs(prof)}
    grpo = {f"seed {s}": algorithms[f"grpo seed {s}"] for s in prof.rl_after_ntp.seeds}
    return TestTimeResult(prof, start=res["start"], grpo=grpo, algorithms=algorithms,
                          star_rounds=res["star rounds"], leap2=res["leap 2"], full=res["leap 1"],
                          blocks=res["leap 2 blocks"],
                          penalised={k: res[k] for k in penalty_configs(prof)},
                          chains=faithfulness.load(prof, res, probed_configs(prof)))
