"""The Llama-family path (chapter 6): Hugging Face causal LMs, SFT on short/long mixtures, then RL.

The paper's last experiment fine-tunes Llama models on GSM8K/MATH mixtures in which a fraction
p_cot of the targets are worked solutions, then applies RL with a correctness reward. This
package runs that recipe with ``transformers`` models, driven by Lightning, at the three scales
of an :class:`~companion.config.LLMConfig` (``model``: "tiny", "smollm2" or a checkpoint
directory). One concept per module:

``env``     the Hugging Face libraries' environment (offline, quiet), set when they are imported
``models``  the policies: a tiny random Llama, SmolLM2 converted from GGUF, a local checkpoint
``text``    prompts, SFT targets, sampled responses, the correctness reward, text evaluation
``data``    the word problems of a run and the SFT / RL streams
``fit``     SFT, the word-problem RL environment of the shared ``RLModule``, the evaluation
``runs``    the cached entry points (``run``, ``prompting``), the paper tier's inputs, ``summary``

Importing this package changes no environment variable and imports no Hugging Face library.
"""

from .data import MixtureStream, Problems, PromptBatches, problems
from .env import hf_environment
from .fit import Evaluator, SFTModule, TextRL
from .models import (CausalLM, check_checkpoint_dir, fingerprint, load_policy, smollm2_converted,
                     smollm2_dir, tiny_llama, word_tokenizer)
from .runs import (LLMResult, LLMRunConfig, prompting, prompting_key, require_accelerator,
                   require_paper_inputs, run, run_key, summary)
from .text import (LONG_INSTRUCTION, SHORT_INSTRUCTION, correctness, encode, evaluate_text, metrics,
                   prompt_text, response_texts, sample, sft_batch)

__all__ = ["CausalLM", "Evaluator", "LLMResult", "LLMRunConfig", "LONG_INSTRUCTION",
           "MixtureStream", "Problems", "PromptBatches", "SFTModule", "SHORT_INSTRUCTION", "TextRL",
           "check_checkpoint_dir", "correctness", "encode", "evaluate_text", "fingerprint",
           "hf_environment", "load_policy", "metrics", "problems", "prompt_text", "prompting",
           "prompting_key", "require_accelerator", "require_paper_inputs", "response_texts", "run", "run_key", "sample",
           "sft_batch", "smollm2_converted", "smollm2_dir", "summary", "tiny_llama",
           "word_tokenizer"]
