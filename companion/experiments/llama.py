"""Chapter 6's claim: RL after SFT on short/long mixtures raises accuracy and length in Llama models.

The paper post-trains Llama-family models (which ones is not certain to us) on GSM8K/MATH
mixtures in which a fraction p_cot of the solutions are worked (long) and the rest the final
answer only, then applies RL with a correctness reward: accuracy and response length rise. Three
tiers (``Llama`` in the profile): (a) a small Llama from scratch on worded parity (the mechanism
in a language model; not post-training, so it does not count for the claim), (b) SmolLM2-135M,
pretrained, on running-totals word problems (ours; the untouched model is also asked GSM-Symbolic
problems, a measured row): the claim's scaled analogue, (c) a local Llama checkpoint on
GSM8K/MATH files (a GPU) - and, under ``paper``, SmolLM2 fully fine-tuned on tier (b)'s problems
at a GPU's budget.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from .. import llm, parallel, runtime
from ..config import LLMConfig, Profile
from ..parallel import Run
from ..verdicts import Z, Outcome, Scale, Status, at_chance, capped, doc, number, rule
from . import plural, spread, wilson
from .not_computed import NotComputed, missing


@dataclass(frozen=True)
class _SmolLM2(Run):
    """The one-time conversion of SmolLM2 (kept under the cache root, not as a cached run)."""

    def done(self) -> bool:
        return llm.smollm2_converted()


def _needs(cfg: LLMConfig) -> tuple[Run, ...]:
    return (_SmolLM2("model", "smollm2", llm.smollm2_dir),) if cfg.model == "smollm2" else ()


TARGET = "make pretrained"
CHAPTER = "06_llama"


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


def above(before: float, after: float, n: int) -> bool:
    """``after`` is above ``before`` (proportions of ``n`` problems) with their Wilson intervals at
    Z standard errors apart: unlike a plug-in standard error, Wilson's does not vanish at 0 or 1,
    so 0 of 2 problems to 2 of 2 is no rise."""
    return wilson(after * n, n, Z)[0] > wilson(before * n, n, Z)[1]


def raised(sft_acc: float, rl_acc: float, sft_long: float, rl_long: float, n: int) -> bool:
    """The paper's trend in one run: RL raised greedy accuracy and the greedy long fraction (the
    length, as a proportion of ``n`` problems) above SFT's, each beyond noise (:func:`above`)."""
    return above(sft_acc, rl_acc, n) and above(sft_long, rl_long, n)


@dataclass(frozen=True)
class LlamaEvidence:
    """Tier (b), SmolLM2-135M pretrained, SFT on the mixture then GRPO: one entry per seed,
    greedy on the held-out problems."""

    computed: bool  # False: tier (b)'s runs were not in this build's cache
    profile: str
    model: str  # e.g. "SmolLM2-135M-Instruct, LoRA rank 16"
    seeds: int
    n: tuple[int, ...]  # held-out problems per evaluation
    sft_accuracy: tuple[float, ...]
    rl_accuracy: tuple[float, ...]
    sft_long: tuple[float, ...]  # greedy long fraction
    rl_long: tuple[float, ...]
    sft_length: tuple[float, ...]  # greedy mean length in tokens (for the text)
    rl_length: tuple[float, ...]

    @classmethod
    def null(cls) -> LlamaEvidence:
        from ..profiles import CPU

        k = len(CPU.llama.pretrained_seeds)
        n = CPU.llama.pretrained.data.n_eval
        return cls(computed=True, profile="null", model=_model(CPU), seeds=k, n=(n,) * k,
                   sft_accuracy=(0.5,) * k, rl_accuracy=(0.5,) * k, sft_long=(0.0,) * k,
                   rl_long=(0.0,) * k, sft_length=(1.0,) * k, rl_length=(1.0,) * k)

    @classmethod
    def not_run(cls, prof: Profile) -> LlamaEvidence:
        return cls(computed=False, profile=prof.name, model=_model(prof),
                   seeds=len(prof.llama.pretrained_seeds), n=(), sft_accuracy=(), rl_accuracy=(),
                   sft_long=(), rl_long=(), sft_length=(), rl_length=())


def _model(prof: Profile) -> str:
    b = prof.llama.pretrained
    return f"SmolLM2-135M-Instruct, {f'LoRA rank {b.lora_r}' if b.lora_r else 'full fine-tuning'}"


@rule
def judge_llama(e: LlamaEvidence) -> Outcome:
    """Tier (b) only (a pretrained model post-trained; tier (a) is trained from scratch and does
    not count). Per seed: RL raised greedy accuracy and the greedy long fraction above SFT's, each
    with Wilson intervals at Z standard errors apart on the held-out problems. Every seed: a scaled
    analogue (not the
    paper's models or data: never more); some seed: partly; none: not reproduced. Not run: tier
    (b)'s runs were not in this build's cache."""
    scale = Scale(ours=f"{e.model}; running totals (ours); {e.seeds} seed(s)",
                  paper="Llama-family models (which ones: not certain to us); GSM8K and MATH "
                        "mixtures", met=False)
    common = dict(claim="llama", title="Llama-family post-training", chapter=CHAPTER,
                  section="The paper's trend beside ours",
                  statement="Post-trained on short/long GSM8K and MATH mixtures, Llama-family "
                            "models gain accuracy and response length under RL with a correctness "
                            "reward (paper).",
                  ours=False, rule=doc(judge_llama), thresholds={"Z": Z}, scale=scale)
    if not e.computed:
        return Outcome(**common, status=Status.NOT_RUN, key="tier (b) not run in this build",
                       measured=f"tier (b)'s runs were not in this build's cache under profile "
                                f"'{e.profile}' (tier (a), from scratch, does not count)",
                       reason=f"not run: `{TARGET} PROFILE={e.profile}` trains them")
    runs = list(zip(e.n, e.sft_accuracy, e.rl_accuracy, e.sft_long, e.rl_long))
    ok = [raised(a, b, c, d, n) for n, a, b, c, d in runs]
    k = sum(ok)
    raw = (Status.REPRODUCED if runs and k == len(runs) else
           Status.PARTLY if k else Status.NOT_REPRODUCED)
    rises = [b - a for _, a, b, _, _ in runs]
    per_seed = "; ".join(
        f"accuracy {a:.2f} -> {b:.2f}, long fraction {c:.2f} -> {d:.2f}, length {la:.1f} -> "
        f"{lb:.1f} tokens ({n} problems)"
        for (n, a, b, c, d), la, lb in zip(runs, e.sft_length, e.rl_length))
    return Outcome(
        **common, status=capped(raw, scale),
        key=f"greedy accuracy {spread(min(e.sft_accuracy), max(e.sft_accuracy), 2)} after SFT, "
            f"{spread(min(e.rl_accuracy), max(e.rl_accuracy), 2)} after RL over {len(runs)} "
            "seed(s) (SmolLM2-135M)" if runs else "no seed",
        measured=f"tier (b), {e.model}, greedy after SFT -> after RL: {per_seed or 'no seed'}",
        reason=f"RL raised both greedy accuracy and the long fraction (Wilson intervals at {Z:g} "
               f"standard errors apart) in {k} of {len(runs)} seed(s); SmolLM2-135M on running "
               "totals is not the "
               "paper's models or data: a scaled analogue at most",
        value=number(min(rises)) if rises else None, target=0.0)


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
        """RL raised greedy accuracy and the greedy long fraction above SFT's, each beyond noise
        (:func:`raised`)."""
        sft, rl = (self.runs[seed].at(phase, "greedy") for phase in ("sft", "rl"))
        return raised(sft["accuracy"], rl["accuracy"], sft["long_frac"], rl["long_frac"],
                      int(rl["n"]))

    def evidence(self) -> LlamaEvidence:
        seeds = list(self.runs)
        sft, rl = ([self.runs[s].at(phase, "greedy") for s in seeds] for phase in ("sft", "rl"))
        return LlamaEvidence(
            computed=True, profile=self.prof.name, model=_model(self.prof), seeds=len(seeds),
            n=tuple(int(m["n"]) for m in rl),
            sft_accuracy=tuple(float(m["accuracy"]) for m in sft),
            rl_accuracy=tuple(float(m["accuracy"]) for m in rl),
            sft_long=tuple(float(m["long_frac"]) for m in sft),
            rl_long=tuple(float(m["long_frac"]) for m in rl),
            sft_length=tuple(float(m["mean_len"]) for m in sft),
            rl_length=tuple(float(m["mean_len"]) for m in rl))

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
            f"{which} RL raised greedy accuracy and the share of long greedy answers above SFT's, "
            f"each with intervals at {Z:g} standard errors apart: the paper's trend, on a real "
            "pretrained model" if ok else
            ("in the one seed RL did not raise" if n == 1 else f"in none of the {n} seeds did RL "
             "raise") + f" both greedy accuracy and the share of long greedy answers above SFT's "
            f"with intervals at {Z:g} standard errors apart")
        return out

    def _prompting(self, source: str) -> pd.DataFrame:
        return self.prompting[self.prompting.source == source].reset_index(drop=True)


def pretrained_not_computed(prof: Profile, names: tuple[str, ...]) -> NotComputed:
    """Tier (b) without its runs (``names``, not cached): what the page glues in their place."""
    return NotComputed(
        profile=prof.name, missing=names, target=TARGET, what="tier (b)'s runs",
        texts=("b_prompting", "b_mechanism", "b_mechanism_verdict", "b_measured", "b_verdict"),
        values={**_config_numbers(prof), "b_computed": False, "b_raised": 0,
                **{k: f"not computed in this build (`{TARGET}`)" for k in ("b_sft_cell",
                                                                           "b_rl_cell")}})


def _acc(row) -> str:
    lo, hi = wilson(row.accuracy * row.n, int(row.n))
    return f"{row.accuracy:.2f} [{lo:.2f}, {hi:.2f}]"


def _range(rows: list[dict], key: str) -> str:
    vals = [r[key] for r in rows if r[key] == r[key]]  # NaN: no such answers in that seed
    return spread(min(vals), max(vals), 2) if vals else "n/a (there were none)"


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
            f"; SFT at p_cot = {b.data.p_cot} for {plural(b.sft_steps, 'step')} of {b.sft_batch_size} "
            f"problems (learning rate {b.sft_lr:g}); then {plural(b.rl.steps, 'GRPO step')} of {b.rl.G} "
            f"responses to each of {b.rl.prompts_per_step} problems (learning rate {b.rl.lr:g}); "
            f"{plural(len(seeds), 'seed')} ({', '.join(map(str, seeds))})")


@dataclass
class LlamaResult:
    prof: Profile
    worded: llm.LLMResult  # tier (a)
    pretrained: Pretrained | NotComputed  # tier (b)
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
        # the prose follows the measurements: typed booleans, judged against the noise of the
        # held-out problems (tier (a) shows the mechanism; it does not count for the claim)
        n = int(rl["n"])
        short_at_chance = sft["long_frac"] < 0.5 and at_chance(sft["accuracy"], int(sft["n"]))
        lifted = raised(sft["accuracy"], rl["accuracy"], sft["long_frac"], rl["long_frac"], n)
        out["a_sft_verdict"] = ("like the parity model of chapter 2 it answers short, at chance"
                                if short_at_chance else "unlike the parity model of chapter 2, it "
                                "does not simply answer short at chance here")
        out["a_closing"] = ("a model fine-tuned on rare worked solutions answers short and at "
                            "chance, and RL with nothing but a correctness reward makes it answer step "
                            "by step and correctly" if short_at_chance and lifted else
                            "whether a model fine-tuned on rare worked solutions, then RL with nothing "
                            "but a correctness reward, behaves like the parity model; in this run it "
                            "did not fully (see the verdicts above)")
        out["a_rl_verdict"] = (f"RL raised both beyond noise ({Z:g} standard errors), by making "
                               "the model use the long, step-by-step answer it had seen rarely"
                               if lifted else f"RL did not raise both beyond noise ({Z:g} standard "
                               "errors) in this run")
        return out

    def outcomes(self) -> list[Outcome]:
        """The Llama-family claim, judged on tier (b) alone."""
        e = (self.pretrained.evidence() if self.pretrained.computed else
             LlamaEvidence.not_run(self.prof))
        return [judge_llama(e)]


def load_pretrained(prof: Profile) -> Pretrained | NotComputed:
    """Tier (b): trained first where the profile's book trains it, else read from the cache."""
    todo = pretrained_runs(prof)
    if not prof.llama.pretrained_in_book:
        absent = missing(todo)
        if absent:
            return pretrained_not_computed(prof, absent)
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
