"""Chapter 6's claim: RL after SFT on short/long mixtures raises accuracy and length in Llama models.

The paper fine-tunes Llama-3.2-3B and Llama-3.1-8B on GSM8K/MATH mixtures in which a fraction
p_cot of the solutions are worked (long) and the rest the final answer only, then applies RL with
a correctness reward: accuracy and response length rise. Three tiers (``Llama`` in the profile):
(a) a small Llama from scratch on worded parity, (b) SmolLM2-135M on GSM-Symbolic problems,
(c) a local Llama checkpoint on GSM8K/MATH files (a GPU).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd

from .. import llm, parallel
from ..config import LLMConfig, Profile
from ..parallel import Run


@dataclass(frozen=True)
class _SmolLM2(Run):
    """The one-time conversion of SmolLM2 (kept under the cache root, not as a cached run)."""

    def done(self) -> bool:
        return llm.smollm2_converted()


def _needs(cfg: LLMConfig) -> tuple[Run, ...]:
    return (_SmolLM2("model", "smollm2", llm.smollm2_dir),) if cfg.model == "smollm2" else ()


def runs(prof: Profile) -> dict[str, Run]:
    """Tiers (a) and (b); tier (c) is given its inputs when the chapter runs, and runs there."""
    a, b = prof.llama.worded, prof.llama.pretrained
    return {"worded": Run("llm", llm.run_key(a), llm.run, (a,), _needs(a)),
            "prompting": Run("llm-prompting", llm.prompting_key(b), llm.prompting, (b,), _needs(b)),
            "pretrained": Run("llm", llm.run_key(b), llm.run, (b,), _needs(b))}


def paper_inputs(llama_dir: str | None = None, data_files: str | None = None) -> tuple[str | None, list[str]]:
    """Tier (c)'s inputs: the arguments, else ``$COMPANION_LLAMA_DIR`` / ``$COMPANION_LLM_DATA``
    (paths separated by ':')."""
    llama_dir = llama_dir or os.environ.get("COMPANION_LLAMA_DIR")
    files = [f for f in (data_files or os.environ.get("COMPANION_LLM_DATA", "")).split(":") if f]
    return llama_dir, files


@dataclass
class LlamaResult:
    prof: Profile
    worded: llm.LLMResult  # tier (a)
    prompting: pd.DataFrame  # tier (b)'s model before any fine-tuning, asked short and long
    pretrained: llm.LLMResult  # tier (b)
    paper: llm.LLMResult | None  # tier (c), when the profile has it

    def numbers(self) -> dict:
        return {**self._worded_numbers(), **self._pretrained_numbers()}

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

    def _pretrained_numbers(self) -> dict:
        b, res, prompting = self.prof.llama.pretrained, self.pretrained, self.prompting
        out = {"b_eval_templates": b.data.eval_templates, "b_n_eval": b.data.n_eval,
               "b_tokens": b.max_new_tokens, "b_lora": b.lora_r, "b_p": b.data.p_cot,
               "b_sft_steps": b.sft_steps, "b_batch": b.sft_batch_size, "b_rl_steps": b.rl.steps,
               "b_G": b.rl.G, "b_prompts": b.rl.prompts_per_step,
               "b_short": float(prompting.accuracy.iloc[0]), "b_long": float(prompting.accuracy.iloc[1]),
               "b_long_len": float(prompting.mean_len.iloc[1])}
        start, sft, rl = res.at("start"), res.at("sft"), res.at("rl")
        return out | {"b_acc0": start["accuracy"], "b_acc_sft": sft["accuracy"],
                      "b_acc_rl": rl["accuracy"], "b_len_sft": sft["mean_len"],
                      "b_len_rl": rl["mean_len"], "b_one": 1 / b.data.n_eval,
                      "b_bound": 1 - 0.05 ** (1 / b.data.n_eval)}  # 0 of n: one-sided 95%


def load(prof: Profile, llama_dir: str | None = None, data_files: str | None = None) -> LlamaResult:
    """Tiers (a) and (b) (trained ``prof.workers`` at a time), and tier (c) under a profile that
    has it, on the local checkpoint and files (checked before any compute)."""
    paper_cfg = None
    if prof.llama.paper is not None:
        model_dir, files = paper_inputs(llama_dir, data_files)
        llm.require_paper_inputs(model_dir, files)
        paper_cfg = prof.llama.paper.config(str(model_dir), tuple(files))
    res = parallel.fetch(runs(prof), prof.workers)
    return LlamaResult(prof, worded=res["worded"], prompting=res["prompting"],
                       pretrained=res["pretrained"],
                       paper=llm.run(paper_cfg) if paper_cfg is not None else None)
