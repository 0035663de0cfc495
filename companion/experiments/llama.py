"""Chapter 6's claim: RL after SFT on short/long mixtures raises accuracy and length in Llama models.

The paper fine-tunes Llama-3.2-3B and Llama-3.1-8B on GSM8K/MATH mixtures in which a fraction
p_cot of the solutions are worked (long) and the rest the final answer only, then applies RL with
a correctness reward: accuracy and response length rise. Three tiers (``Llama`` in the profile):
(a) a small Llama from scratch on worded parity, (b) SmolLM2-135M on running-totals word problems
(ours; the untouched model is also asked GSM-Symbolic problems, a measured row), (c) a local
Llama checkpoint on GSM8K/MATH files (a GPU) - and, under ``paper``, SmolLM2 fully fine-tuned on
tier (b)'s problems at a GPU's budget.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from .. import cache, llm, parallel, runtime
from ..config import LLMConfig, Profile
from ..parallel import Run
from . import spread, wilson


@dataclass(frozen=True)
class _SmolLM2(Run):
    """The one-time conversion of SmolLM2 (kept under the cache root, not as a cached run)."""

    def done(self) -> bool:
        return llm.smollm2_converted()


def _needs(cfg: LLMConfig) -> tuple[Run, ...]:
    return (_SmolLM2("model", "smollm2", llm.smollm2_dir),) if cfg.model == "smollm2" else ()


TARGET = "make pretrained"


def seeded(cfg: LLMConfig, seed: int) -> LLMConfig:
    """Tier (b) at one seed: LoRA initialisation, SFT stream and RL sampling (the problems,
    training and held out, stay those of ``cfg.data.seed``)."""
    return dataclasses.replace(cfg, seed=seed, rl=dataclasses.replace(cfg.rl, seed=seed))


def _prompting_cfg(cfg: LLMConfig) -> LLMConfig:
    # untouched, an instruct model explains at length: three times tier (b)'s response budget
    return dataclasses.replace(cfg, max_new_tokens=3 * cfg.max_new_tokens)


def pretrained_runs(prof: Profile) -> dict[str, Run]:
    """Tier (b): the untouched model asked short and long (its problems, and GSM-Symbolic's),
    then SFT + RL at each seed; under cpu `make pretrained` trains these, not `make book`."""
    b, gsm = prof.llama.pretrained, prof.llama.gsm
    out = {"prompting": Run("llm-prompting", llm.prompting_key(_prompting_cfg(b)), llm.prompting,
                            (_prompting_cfg(b),), _needs(b)),
           "prompting gsm": Run("llm-prompting", llm.prompting_key(gsm), llm.prompting, (gsm,),
                                _needs(gsm))}
    for s in prof.llama.pretrained_seeds:
        c = seeded(b, s)
        out[f"pretrained seed {s}"] = Run("llm", llm.run_key(c), llm.run, (c,), _needs(c))
    return out


def runs(prof: Profile) -> dict[str, Run]:
    """Tier (a), tier (b) where the book trains it, and the GPU tier's SmolLM2 run when the
    profile has one; tier (c) is given its inputs when the chapter runs, and runs there."""
    a = prof.llama.worded
    out = {"worded": Run("llm", llm.run_key(a), llm.run, (a,), _needs(a))}
    if prof.llama.pretrained_in_book:
        out |= pretrained_runs(prof)
    g = prof.llama.gpu_smollm2
    if g is not None:
        out["gpu smollm2"] = Run("llm", llm.run_key(g), llm.run, (g,), _needs(g))
    return out


def book_runs(prof: Profile) -> dict[str, Run]:
    """The runs the book's runner may train with other chapters' runs: all but tier (b)'s, which
    train one at a time on every core (:func:`compute`, below)."""
    return {k: r for k, r in runs(prof).items() if k not in pretrained_runs(prof)}


# Tier (b) trains one run at a time, on every core, whatever ``prof.workers`` says: a SmolLM2
# GRPO step holds ~9 GB even with activation checkpointing (~16 GB without), so two side by
# side would not fit a 16 GB machine (two ran a 24 GB one out of memory), and a
# 135M-parameter model keeps two threads busy (an update 1.4x faster on two than on one).
WORKERS = 1


def compute(prof: Profile, log: Callable[[str], None] | None = None) -> int:
    """Train tier (b)'s runs that are not cached (what ``make pretrained`` runs)."""
    with runtime.all_cores():
        return parallel.compute(pretrained_runs(prof), WORKERS, log=log)


def paper_inputs(llama_dir: str | None = None, data_files: str | None = None) -> tuple[str | None, list[str]]:
    """Tier (c)'s inputs: the arguments, else ``$COMPANION_LLAMA_DIR`` / ``$COMPANION_LLM_DATA``
    (paths separated by ':')."""
    llama_dir = llama_dir or os.environ.get("COMPANION_LLAMA_DIR")
    files = [f for f in (data_files or os.environ.get("COMPANION_LLM_DATA", "")).split(":") if f]
    return llama_dir, files


@dataclass
class Pretrained:
    """Tier (b)'s runs: the untouched model asked short and long, and SFT + RL at each seed."""

    prof: Profile
    prompting: pd.DataFrame  # family, prompt, accuracy, mean_len, n, ...
    runs: dict[int, llm.LLMResult]  # seed -> SFT then RL

    computed = True

    def table(self) -> pd.DataFrame:
        """Per seed, after SFT and after RL, greedy and sampled: accuracy with its 95% interval,
        length, long fraction, and the accuracy of the long and of the short responses apart."""
        rows = []
        for seed, res in self.runs.items():
            for phase, label in (("sft", "after SFT"), ("rl", "after RL")):
                for decoding in ("greedy", "sampled"):
                    m = res.at(phase, decoding)
                    if not m:
                        continue
                    lo, hi = wilson(m["accuracy"] * m["n"], int(m["n"]))
                    rows.append({"seed": seed, "": label, "decoding": decoding,
                                 "accuracy": m["accuracy"], "95% interval": f"{lo:.2f}-{hi:.2f}",
                                 "length (tokens)": m["mean_len"], "long fraction": m["long_frac"],
                                 "accuracy of long answers": m["long_accuracy"],
                                 "accuracy of short answers": m["short_accuracy"]})
        return pd.DataFrame(rows).set_index(["seed", "", "decoding"])

    def examples(self, n: int = 2) -> str:
        """Greedy responses of the first seed to the same held-out problems after SFT and after RL."""
        smp = next(iter(self.runs.values())).samples
        sft, rl = (smp[smp.phase == p].head(n).to_dict("records") for p in ("sft", "rl"))
        return "\n\n".join(
            f"question: {a['question']}\n(answer {a['answer']})\n"
            f"after SFT: {a['response'].strip()}\nafter RL:  {b['response'].strip()}"
            for a, b in zip(sft, rl))

    def _greedy(self, seed: int, phase: str) -> tuple[dict, tuple[float, float]]:
        m = self.runs[seed].at(phase, "greedy")
        return m, wilson(m["accuracy"] * m["n"], int(m["n"]))

    def raised(self, seed: int) -> bool:
        """RL raised greedy accuracy above SFT's, the 95% intervals apart, and lengthened it."""
        (sft, (_, sft_hi)), (rl, (rl_lo, _)) = self._greedy(seed, "sft"), self._greedy(seed, "rl")
        return rl_lo > sft_hi and rl["mean_len"] > sft["mean_len"]

    def numbers(self) -> dict:
        b, seeds = self.prof.llama.pretrained, list(self.runs)
        ok = [s for s in seeds if self.raised(s)]
        out = {**_config_numbers(self.prof), "b_computed": True, "b_raised": len(ok)}
        short, long = self._prompting(b.data.source), self._prompting("gsm-symbolic")
        out["b_prompting"] = (
            f"untouched and asked for the answer only, SmolLM2-135M answers {_acc(short.iloc[0])} "
            f"of the {int(short.n.iloc[0])} held-out running-totals problems correctly; asked to "
            f"reason step by step, {_acc(short.iloc[1])} (mean {short.mean_len.iloc[1]:.0f} "
            f"tokens). On {int(long.n.iloc[0])} GSM-Symbolic problems it gets {_acc(long.iloc[0])} "
            f"answering directly and {_acc(long.iloc[1])} step by step")
        sft_s = [self.runs[s].at("sft", "sampled") for s in seeds]
        out["b_mechanism"] = (
            f"sampled at temperature 1, it answers long {_range(sft_s, 'long_frac')} "
            f"of the time (p_cot = {b.data.p_cot}), and its long answers are right "
            f"{_range(sft_s, 'long_accuracy')} of the time, its short ones "
            f"{_range(sft_s, 'short_accuracy')} (seeds {', '.join(map(str, seeds))})")
        sft_g = [self.runs[s].at("sft", "greedy") for s in seeds]
        long_better = all(m["long_accuracy"] > m["short_accuracy"] for m in sft_s)
        greedy_short = all(m["long_frac"] < 0.5 for m in sft_g)
        out["b_mechanism_verdict"] = (
            "the long mode is there and more often right than the short one, but greedy decoding "
            "mostly answers short" if long_better and greedy_short else
            "here the picture differs from the paper's starting point: " +
            ("greedy decoding already answers long more often than not" if not greedy_short else
             "the long answers are not more often right than the short ones in every seed"))
        parts = []
        for s in seeds:
            (sft, (a, b_)), (rl, (c, d)) = self._greedy(s, "sft"), self._greedy(s, "rl")
            parts.append(f"seed {s}: {sft['accuracy']:.2f} [{a:.2f}, {b_:.2f}] at "
                         f"{sft['mean_len']:.1f} tokens after SFT, {rl['accuracy']:.2f} "
                         f"[{c:.2f}, {d:.2f}] at {rl['mean_len']:.1f} tokens after RL")
        out["b_measured"] = "; ".join(parts)
        for phase in ("sft", "rl"):
            out[f"b_{phase}_cell"] = "; ".join(
                f"seed {s}: greedy accuracy {m['accuracy']:.2f}, length {m['mean_len']:.0f}"
                for s in seeds for m in [self.runs[s].at(phase, "greedy")])
        n = len(seeds)
        which = ("in the one seed" if n == 1 else f"in every one of the {n} seeds" if len(ok) == n
                 else f"in {len(ok)} of the {n} seeds")
        out["b_verdict"] = (
            f"{which} RL raised greedy accuracy above SFT's with 95% intervals that do not "
            "overlap, and lengthened the responses: the paper's trend, on a real pretrained model"
            if ok else
            f"in {'the one seed' if n == 1 else f'none of the {n} seeds'} did RL raise greedy "
            "accuracy above SFT's with 95% intervals that do not overlap while lengthening the "
            "responses")
        return out

    def _prompting(self, source: str) -> pd.DataFrame:
        return self.prompting[self.prompting.source == source].reset_index(drop=True)


@dataclass
class PretrainedNotComputed:
    """Tier (b)'s runs are not in the cache and this profile's ``make book`` does not train them."""

    prof: Profile
    missing: list[str]

    computed = False

    @property
    def message(self) -> str:
        return (f"Not computed in this build: {len(self.missing)} of tier (b)'s runs are not in "
                f"the cache under profile '{self.prof.name}'. Run `{TARGET} PROFILE="
                f"{self.prof.name}` (it trains them into the cache; the README says how long it "
                "takes), then build the book again.")

    def numbers(self) -> dict:
        return {**_config_numbers(self.prof), "b_computed": False, "b_raised": 0,
                **{k: self.message for k in ("b_prompting", "b_mechanism", "b_mechanism_verdict",
                                             "b_measured", "b_verdict")},
                **{k: f"not computed in this build (`{TARGET}`)" for k in ("b_sft_cell",
                                                                           "b_rl_cell")}}


def _acc(row) -> str:
    lo, hi = wilson(row.accuracy * row.n, int(row.n))
    return f"{row.accuracy:.2f} [{lo:.2f}, {hi:.2f}]"


def _range(rows: list[dict], key: str) -> str:
    vals = [r[key] for r in rows if r[key] == r[key]]  # NaN: no such answers in that seed
    return spread(min(vals), max(vals), 2) if vals else "n/a (there were none)"


def _n(k: int, noun: str) -> str:
    return f"{k} {noun}{'' if k == 1 else 's'}"


def _config_numbers(prof: Profile) -> dict:
    b = prof.llama.pretrained
    return {"b_seeds": len(prof.llama.pretrained_seeds), "b_terms": b.data.additions + 1,
            "b_setup": _setup(prof)}


def _setup(prof: Profile) -> str:
    b = prof.llama.pretrained
    seeds = prof.llama.pretrained_seeds
    return (f"{b.data.additions} additions per problem, {b.data.n_train:,} training problems, "
            f"{b.data.n_eval} held out (from stories never trained on); LoRA rank {b.lora_r} on "
            f"{'the attention and MLP projections' if b.lora_mlp else 'the attention projections'}"
            f"; SFT at p_cot = {b.data.p_cot} for {_n(b.sft_steps, 'step')} of {b.sft_batch_size} "
            f"problems (learning rate {b.sft_lr:g}); then {_n(b.rl.steps, 'GRPO step')} of {b.rl.G} "
            f"responses to each of {b.rl.prompts_per_step} problems (learning rate {b.rl.lr:g}); "
            f"{_n(len(seeds), 'seed')} ({', '.join(map(str, seeds))})")


@dataclass
class LlamaResult:
    prof: Profile
    worded: llm.LLMResult  # tier (a)
    pretrained: Pretrained | PretrainedNotComputed  # tier (b)
    gpu: llm.LLMResult | None  # SmolLM2 fully fine-tuned on a GPU, when the profile has it
    paper: llm.LLMResult | None  # tier (c), when the profile has it

    def numbers(self) -> dict:
        return {**self._worded_numbers(), **self.pretrained.numbers()}

    def _worded_numbers(self) -> dict:
        a, res = self.prof.llama.worded, self.worded
        out = {"a_layers": a.n_layer, "a_width": a.hidden_size, "a_d": a.data.d,
               "a_p": a.data.p_cot, "a_sft_steps": a.sft_steps, "a_batch": a.sft_batch_size,
               "a_G": a.rl.G, "a_prompts": a.rl.prompts_per_step, "a_lr": a.rl.lr,
               "a_rl_steps": a.rl.steps, "a_n_eval": a.data.n_eval}
        sft, rl = res.at("sft"), res.at("rl")
        out |= {"a_sft_acc": sft["accuracy"], "a_sft_len": sft["mean_len"],
                "a_sft_sampled_long": res.at("sft", "sampled")["long_frac"],
                "a_rl_acc": rl["accuracy"], "a_rl_len": rl["mean_len"]}
        # the prose follows the measurements: a verdict is computed, never assumed
        short_at_chance = sft["mean_len"] < 3 and abs(sft["accuracy"] - 0.5) < 0.1
        out["a_sft_verdict"] = ("like the parity model of chapter 2 it answers short, at chance"
                                if short_at_chance else "unlike the parity model of chapter 2, it "
                                "does not simply answer short at chance here")
        raised = rl["accuracy"] > sft["accuracy"] + 0.1 and rl["mean_len"] > sft["mean_len"] + 1
        out["a_closing"] = ("a model fine-tuned on rare worked solutions answers short and at "
                            "chance, and RL with nothing but a correctness reward makes it answer step "
                            "by step and correctly" if short_at_chance and raised else
                            "whether a model fine-tuned on rare worked solutions, then RL with nothing "
                            "but a correctness reward, behaves like the parity model; in this run it "
                            "did not fully (see the verdicts above)")
        out["a_rl_verdict"] = ("RL raised both, by making the model use the long, step-by-step "
                               "answer it had seen rarely" if raised else "RL did not raise both in this run")
        return out


def load_pretrained(prof: Profile) -> Pretrained | PretrainedNotComputed:
    """Tier (b): trained first where the profile's book trains it, else read from the cache."""
    todo = pretrained_runs(prof)
    if not prof.llama.pretrained_in_book:
        missing = [name for name, r in todo.items() if not cache.cache_enabled() or not r.done()]
        if missing:
            return PretrainedNotComputed(prof, missing)
    compute(prof)  # the profiles whose book trains tier (b): one at a time, as `make pretrained`
    res = parallel.fetch(todo)
    b = prof.llama.pretrained
    prompting = pd.concat([res["prompting"].assign(source=b.data.source),
                           res["prompting gsm"].assign(source="gsm-symbolic")], ignore_index=True)
    return Pretrained(prof, prompting,
                      {s: res[f"pretrained seed {s}"] for s in prof.llama.pretrained_seeds})


def load(prof: Profile, llama_dir: str | None = None, data_files: str | None = None) -> LlamaResult:
    """Tier (a), tier (b) (trained ``prof.workers`` at a time where the book trains it), the GPU
    SmolLM2 run and tier (c) under a profile that has them (inputs checked before any compute)."""
    paper_cfg = None
    if prof.llama.paper is not None:
        model_dir, files = paper_inputs(llama_dir, data_files)
        llm.require_paper_inputs(model_dir, files)
        paper_cfg = prof.llama.paper.config(str(model_dir), tuple(files))
    if prof.llama.gpu_smollm2 is not None:
        llm.require_accelerator(prof.llama.gpu_smollm2)
    res = parallel.fetch(runs(prof), prof.workers)
    return LlamaResult(prof, worded=res["worded"], pretrained=load_pretrained(prof),
                       gpu=res.get("gpu smollm2"),
                       paper=llm.run(paper_cfg) if paper_cfg is not None else None)
