"""Word problems as token ids: prompts, SFT targets, sampled responses and their scores.

Rollouts are left-padded for ``generate`` and then re-packed to the left, so that the shared
objective sees right-padded rows and needs no attention mask (causal attention never looks at
the padding after a row).
"""

from __future__ import annotations

import torch

from .. import mathdata
from ..objective import Rollout, response_mask
from .env import hf_environment
from .models import CausalLM

# instructions for measuring how a chat model answers before any fine-tuning
SHORT_INSTRUCTION = "Give only the final answer, in the form '#### <number>'."
LONG_INSTRUCTION = "Solve it step by step, then give the final answer in the form '#### <number>'."


def prompt_text(tokenizer, question: str, instruction: str = "", system: str | None = None) -> str:
    """The prompt of a question: the chat template when the model has one, else the bare text.

    ``system`` None keeps the template's default system prompt; a string replaces it."""
    content = f"{question}\n{instruction}" if instruction else question
    if getattr(tokenizer, "chat_template", None):
        messages = [{"role": "user", "content": content}]
        if system is not None:
            messages.insert(0, {"role": "system", "content": system})
        return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    return content


def encode(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def sft_batch(tokenizer, examples: list[mathdata.Example],
              system: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """tokens [B, T] (prompt, target, <eos>, right-padded) and the loss mask on target + <eos>."""
    rows = []
    for ex in examples:
        p = encode(tokenizer, prompt_text(tokenizer, ex.question, system=system))
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
    :func:`~companion.objective.rl_objective` expects. ``Rollout.bits`` holds each row's prompt
    index.
    """
    hf_environment()
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
    # as wide as the longest prompt + response: the objective's forward pass costs per column,
    # and columns past every row's <eos> would be padding (causal: no row's log-probs change)
    used = [len(p) + int(m.sum()) for p, m in zip(prompts, rmask)]
    tokens = torch.full((len(prompts), max(used)), tok.pad_token_id, dtype=torch.long)
    loss_mask = torch.zeros_like(tokens, dtype=torch.bool)
    for i, p in enumerate(prompts):
        n = used[i] - len(p)
        tokens[i, : len(p)] = torch.tensor(p)
        tokens[i, len(p): used[i]] = resp[i, :n]
        loss_mask[i, len(p): used[i]] = True
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
    """Accuracy, long fraction, mean length, answer rate; and the accuracy of the long and of
    the short responses apart (NaN where there are none): the paper's mechanism in two numbers."""
    n = max(len(texts), 1)
    right = correctness(texts, answers).bool().tolist()
    long = [mathdata.is_long(t) for t in texts]

    def acc(kind: bool) -> float:
        hits = [r for r, k in zip(right, long) if k == kind]
        return sum(hits) / len(hits) if hits else float("nan")

    return {"accuracy": sum(right) / n, "long_frac": sum(long) / n, "mean_len": sum(lengths) / n,
            "answered": sum(mathdata.extract_answer(t) is not None for t in texts) / n,
            "n": len(texts), "long_accuracy": acc(True), "short_accuracy": acc(False)}


def evaluate_text(policy: CausalLM, records: list[mathdata.Record], max_new_tokens: int,
                  temperature: float = 0.0, batch_size: int = 64, seed: int = 0,
                  instruction: str = "", prefill: str = "", keep_texts: bool = False,
                  system: str | None = None) -> dict:
    """Accuracy, long fraction, mean length (tokens) and answer rate on ``records``.

    ``instruction`` is appended to each question; ``prefill`` starts the response (e.g.
    ``"####"`` forces a direct answer) and is counted as part of it.
    """
    tok = policy.tokenizer
    texts, lengths = [], []
    for start in range(0, len(records), batch_size):
        chunk = records[start: start + batch_size]
        prompts = [encode(tok, prompt_text(tok, r.question, instruction, system) + prefill)
                   for r in chunk]
        roll = sample(policy, prompts, max_new_tokens, temperature, seed + start)
        t, n = response_texts(tok, roll.responses)
        texts += [prefill + x for x in t]
        lengths += n
    out = metrics(texts, lengths, [r.answer for r in records])
    if keep_texts:
        out["texts"] = texts
    return out
