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
# # 1. The setup: parity with a short/long mixture
#
# The paper studies learning from a *mixture* of short and long demonstrations of one task
# {cite:p}`tsilivis2026rl`. This chapter builds that mixture and derives what a model that
# learned "everything it can" from next-token prediction will do with it. No training yet:
# everything here is exact.

# %% tags=["parameters", "remove-cell"]
profile = "cpu"
# the reader's knobs: None = the profile's value; companion/knobs.py checks and applies
# them (a name not listed here is refused), e.g. papermill ... -p p_cot 0.2
d = None  # input bits of the headline runs (chapters 2-4)
p_cot = None  # fraction of long (chain) data in the headline runs

# %% tags=["remove-cell"]
import torch
from myst_nb import glue

from companion import knobs, plots, theory
from companion.config import TaskConfig
from companion.task import ParityMixture, examples, render

prof = knobs.chapter_profile("01_setup", globals())  # `profile` and the knobs, checked
plots.theme()
task_cfg = prof.headline.task

# %% [markdown]
# ## The task
#
# **(paper)** A prompt is $d$ uniformly random bits $x_1 \dots x_d$; the target is their
# parity $y = x_1 \oplus \dots \oplus x_d$. Two kinds of demonstration encode the same answer:
#
# * **short**: the answer right away, `y <eos>` (response length 1);
# * **long** (chain of thought): the running parities $b_1 b_2 \dots b_d$ `<eos>` with
#   $b_k = x_1 \oplus \dots \oplus x_k$, so $b_1 = x_1$ and $b_d = y$ (length $d$).
#
# Each step of the chain is easy ($b_k = b_{k-1} \oplus x_k$ looks at two bits); the short
# answer needs all $d$ bits at once, which gradient methods learn only with resources
# exponential in $d$ {cite:p}`barak2022hidden`. Here are a few prompts with both encodings
# ($d = 8$ for readability; the book's runs use larger $d$):

# %%
# NBVAL_CHECK_OUTPUT
examples(TaskConfig(d=8, p_cot=0.5), n=4, seed=0)

# %% [markdown]
# The model sees one token stream, `x_1 .. x_d = response <eos>`, padded to a fixed length;
# the loss is on the response only. **(reconstructed)** Token ids are `0`, `1`, `=`, `<eos>`
# and `<pad>`. A response is *correct* when its last token before `<eos>` equals $y$, so a
# short and a long response are judged by the same end-to-end rule.

# %%
# NBVAL_CHECK_OUTPUT
task = ParityMixture(TaskConfig(d=8, p_cot=0.5))
batch = task.encode(torch.tensor([[1, 0, 1, 1, 0, 0, 1, 0]] * 2), torch.tensor([False, True]))
print("short:", render(batch.tokens[0]), "\nlong: ", render(batch.tokens[1]))
print("loss on:", batch.loss_mask[1].int().tolist())

# %% [markdown]
# ## The mixture $\mathcal{D}(p_{cot})$
#
# **(paper)** Each training sequence is long with probability $p_{cot}$, else short, and training
# is *online*: a fresh batch every step, never a fixed data set. Under this book's profile
# ({glue:text}`profile_name`) the headline runs use $d =$ {glue:text}`d_headline` and
# $p_{cot} =$ {glue:text}`p_headline`; a fresh batch of {glue:text}`n_batch:,` sequences has a long fraction of
# {glue:text}`long_frac_batch:.3f`.

# %% tags=["remove-cell"]
batch = ParityMixture(task_cfg).sample(10_000, torch.Generator().manual_seed(0))
glue("n_batch", len(batch.y), display=False)
glue("profile_name", prof.name, display=False)
glue("d_headline", task_cfg.d, display=False)
glue("p_headline", task_cfg.p_cot, display=False)
glue("long_frac_batch", float(batch.is_long.float().mean()), display=False)

# %% [markdown]
# ## What next-token prediction can learn, in closed form
#
# **(reconstructed; it matches the paper's Theorem 1 and its STaR recursion.)** Take a model that
# has learned everything about the mixture *except* the map $x \mapsto y$. For it, a short
# answer is a fair coin. Then:
#
# * The first response token $b_1 = x_1$ is the most likely one: the long answer always starts
#   with $x_1$ and the short answer agrees with it half of the time, so
#   $P(x_1) = p + \tfrac{1-p}{2}$.
# * Having emitted $x_1$, the model has to decide whether it is in a long answer (and continue)
#   or a short one (and stop). By Bayes, it continues with probability
#   $P(\text{continue} \mid b_1) = \frac{p}{p + (1-p)/2} = \frac{2p}{1+p}$.
# * **Greedy decoding** continues iff $\frac{2p}{1+p} > \frac12$, i.e. iff $p_{cot} > \frac13$. Below
#   the threshold it answers short, and its accuracy is chance, $\tfrac12$. Above it, it follows the
#   chain, which it *has* learned, and is always right.
# * **Sampling at temperature 1** is long with probability $p_{cot}$ ("calibrated in length") and
#   right with probability $p_{cot} \cdot 1 + (1-p_{cot}) \cdot \tfrac12 = \tfrac{1+p_{cot}}{2}$.

# %%
# NBVAL_CHECK_OUTPUT
import pandas as pd

ps = [0.01, 0.05, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5]
pd.DataFrame({"p_cot": ps, "P(continue | b_1)": theory.continue_prob(ps).round(3),
              "greedy accuracy": theory.greedy_accuracy(ps), "sampled accuracy": theory.sampled_accuracy(ps),
              "sampled long fraction": theory.sampled_long(ps)}).set_index("p_cot")

# %%
plots.predicted_accuracy()

# %% [markdown]
# The sharp step at $1/3$ is the paper's threshold: below it, next-token prediction produces a
# model that *could* answer correctly (sampling finds the chain a fraction $p_{cot}$ of the time)
# but *does not* under greedy decoding. Chapter 2 measures this with real transformers.
#
# ## Why reinforcement learning helps: the STaR recursion
#
# **(reconstructed)** STaR {cite:p}`zelikman2022star` samples answers, keeps the correct ones and
# fits them by next-token prediction. Among samples, all long answers are correct (fraction $p$) and
# half of the short ones are (fraction $\tfrac{1-p}{2}$), so the kept data has long fraction
# $$p \;\mapsto\; \frac{p}{p + (1-p)/2} = \frac{2p}{1+p}:$$
# the *odds* $p/(1-p)$ of a long answer double every round, and $O(\log\frac{1-p}{p})$ rounds push the
# long fraction past $1/3$, where greedy decoding switches to the chain.

# %%
# NBVAL_CHECK_OUTPUT
pd.DataFrame({f"p_0={p0}": [round(p, 3) for p in theory.star_long_fractions(p0, 6)]
              for p0 in (0.01, 0.1, 0.25)}).rename_axis("round")

# %%
plots.star_recursion((0.01, 0.05, 0.1, 0.25))

# %% [markdown]
# | start $p_0$ | $0.01$ | $0.05$ | $0.1$ | $0.25$ |
# |---|---|---|---|---|
# | rounds until $p > 1/3$ | {glue:text}`rounds_0.01` | {glue:text}`rounds_0.05` | {glue:text}`rounds_0.1` | {glue:text}`rounds_0.25` |
#
# From $p_0 = 0.25$ the sequence is {glue:text}`star_seq_0.25`, ...: one round already crosses
# the threshold. Chapters 3 and 4 test this recursion (and GRPO and REINFORCE) on transformers.

# %% tags=["remove-cell"]
for p0 in (0.01, 0.05, 0.1, 0.25):
    glue(f"rounds_{p0}", theory.star_rounds_to_threshold(p0), display=False)
glue("star_seq_0.25", ", ".join(f"{p:.3g}" for p in theory.star_long_fractions(0.25, 4)), display=False)
