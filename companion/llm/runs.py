"""The cached entry points of chapter 6: a run (SFT then RL), prompting the untouched model, the
paper tier's inputs, and the summary table of a run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .. import cache
from ..config import LLMConfig, check
from ..runtime import set_threads
from .data import problems
from .fit import _fit_llm
from .models import check_checkpoint_dir, fingerprint, load_policy
from .text import LONG_INSTRUCTION, SHORT_INSTRUCTION, evaluate_text


@dataclass(frozen=True)
class LLMRunConfig:
    """Everything that determines a run (its cache key): the config and its files' content."""

    llm: LLMConfig
    files: tuple[tuple[str, str], ...]


@dataclass
class LLMResult:
    config: LLMConfig
    folder: Path
    history: pd.DataFrame  # phase ("start", "sft", "rl"), step, decoding, accuracy, long_frac, ...
    samples: pd.DataFrame  # a few greedy responses before and after each phase

    def curve(self, phase: str, decoding: str = "greedy") -> pd.DataFrame:
        h = self.history
        return h[(h.phase == phase) & (h.decoding == decoding)].reset_index(drop=True)

    def at(self, phase: str, decoding: str = "greedy") -> dict:
        """The last evaluation of a phase ("start": before any training)."""
        c = self.curve(phase, decoding)
        return c.iloc[-1].to_dict() if len(c) else {}


def run_key(cfg: LLMConfig) -> LLMRunConfig:
    return LLMRunConfig(cfg, tuple(sorted(fingerprint(cfg).items())))


def prompting_key(cfg: LLMConfig) -> LLMRunConfig:
    """Training settings do not change how the untouched model answers: they are left out."""
    return run_key(dataclasses.replace(cfg, sft_steps=0, gradient_checkpointing=False,
                                       rl=dataclasses.replace(cfg.rl, steps=1)))


def run(cfg: LLMConfig, progress: bool = False) -> LLMResult:
    """SFT on the mixture then RL, evaluated along the way; cached by the full config."""
    require_accelerator(cfg)
    hit = cache.computed("llm", run_key(cfg), lambda folder: _fit_llm(cfg, folder, progress))
    return LLMResult(cfg, hit, pd.read_csv(hit / "history.csv"),
                     pd.read_json(hit / "samples.json", orient="records"))


def prompting(cfg: LLMConfig) -> pd.DataFrame:
    """How the untouched model answers the held-out problems when asked for the answer only
    (the response is started with '####') and when asked to reason step by step; cached."""
    check(cfg.model != "tiny", "model", cfg.model,
          "must be a pretrained model ('smollm2' or a checkpoint directory) to measure prompting")

    def measure(folder: Path) -> None:
        set_threads()
        probs = problems(cfg, with_train=False)
        policy = load_policy(cfg, [], 0)
        rows = []
        # a direct answer is a number: 16 tokens hold it (the model may ramble on after it)
        for style, instruction, prefill, budget in (
                ("short (answer only)", SHORT_INSTRUCTION, "#### ", min(16, cfg.max_new_tokens)),
                ("long (step by step)", LONG_INSTRUCTION, "", cfg.max_new_tokens)):
            m = evaluate_text(policy, probs.eval, budget, 0.0, cfg.eval_batch_size,
                              instruction=instruction, prefill=prefill, system=cfg.system_prompt)
            rows.append({"prompt": style, **m})
        pd.DataFrame(rows).to_csv(folder / "prompting.csv", index=False)

    hit = cache.computed("llm-prompting", prompting_key(cfg), measure)
    return pd.read_csv(hit / "prompting.csv")


def require_accelerator(cfg: LLMConfig) -> None:
    """A config that asks for a GPU is refused where there is none, before any compute."""
    import torch

    check(cfg.accelerator != "gpu" or torch.cuda.is_available(), "accelerator", cfg.accelerator,
          "asks for a CUDA GPU and none is visible here; on a CPU use the 'cpu' profile's tier (b) "
          "or a config with accelerator='auto'")


def require_paper_inputs(model_dir: str | None, files: list[str]) -> None:
    """The paper tier's inputs, checked before any compute (no GPU check here: see profiles)."""
    check(bool(model_dir), "llama_dir", model_dir,
          "must be a local Llama checkpoint directory (e.g. Llama-3.2-3B saved with "
          "save_pretrained); set COMPANION_LLAMA_DIR or the chapter's llama_dir parameter")
    check_checkpoint_dir(model_dir)  # type: ignore[arg-type]
    check(len(files) > 0, "data_files", files,
          "must name GSM8K/MATH JSON-lines files; set COMPANION_LLM_DATA (paths separated by ':')")
    for f in files:
        check(Path(f).is_file(), "data_files", f, "must be an existing JSON-lines file")


def summary(res: LLMResult) -> pd.DataFrame:
    """Before training, after SFT and after RL: greedy and sampled accuracy, length, long fraction."""
    rows = []
    for phase, label in (("start", "before training"), ("sft", "after SFT"), ("rl", "after RL")):
        g, s = res.at(phase, "greedy"), res.at(phase, "sampled")
        if not g:
            continue
        row = {"": label, "greedy accuracy": g["accuracy"], "greedy length": g["mean_len"],
               "greedy long fraction": g["long_frac"]}
        if s:  # not measured when cfg.eval_sampled is False
            row.update({"sampled accuracy": s["accuracy"], "sampled length": s["mean_len"],
                        "sampled long fraction": s["long_frac"]})
        rows.append(row)
    return pd.DataFrame(rows).set_index("")
