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
# # 7. Multiplication: next-token prediction vs NTP + RL
#
# **The paper's claim (its second synthetic setting).** Small GPT-2/Mistral-style transformers
# trained from scratch on $n$-digit multiplication, with a short/long mixture (short: the product;
# long: a worked chain), fail under next-token prediction when long demonstrations are rare:
# 7-digit multiplication at $p_{cot} = 0.1$ still fails after 38 GPU-hours. That RL after
# next-token prediction succeeds here is the paper's general claim carried to this setting
# **(reconstructed)**: its RL numbers for multiplication are not known to us.
#
# Here the recipe of chapters 2-3 runs on multiplication at a CPU's scale: next-token prediction
# on the mixture from three seeds, GRPO (the package's one RL objective) from each, a
# matched-compute NTP baseline, and the same recipe at fewer digits, to see where the separation
# holds.

# %% tags=["parameters", "remove-cell"]
profile = "cpu"

# %% tags=["remove-cell"]
from companion import knobs, plots
from companion.experiments import glue_numbers, multiplication
from companion.multiplication import examples
from companion.verdicts import glue_outcomes

prof = knobs.chapter_profile("07_multiplication", globals())  # `profile`, checked
plots.theme()
# under cpu and paper the runs come from the cache (`make multiplication` trains them);
# under tiny the book trains them
ex = multiplication.load(prof)
glue_numbers(ex.numbers())
glue_outcomes(ex.outcomes())  # the claim's status, judged from typed numbers (the scorecard)

# %% [markdown]
# ## The task
#
# The paper's long format is not known to us; this one is **(reconstructed)**. Numbers are
# written least significant digit first, so that the carry of a digit comes from digits already
# written. The long response is the running products $S_j = a \cdot (b \bmod 10^j)$ for
# $j = 1..n$: each line adds one partial product $a \cdot b_j \cdot 10^{j-1}$ to the line before,
# and each line opens with `;`. The last line is $a \cdot b$. The short response is the product
# alone. The end-to-end reward is $1$ when the response's last line is the product (else $0$).

# %%
examples(prof.multiplication.start.task, 4)

# %% [markdown]
# **Where the two answers part (ours).** The short and the long response differ at their first
# token: `;` or the product's last digit, $a_1 b_1 \bmod 10$, which a model learns early. A model
# that has learned that digit and the chain, but not the rest of the product, puts probability
# $p_{cot}$ on `;` and about $1 - p_{cot}$ on the digit, so greedy decoding answers short when
# $p_{cot} < 1/2$ (in the parity mixture the parting comes at the second token, hence $1/3$).
# Without the opening `;` the two answers would share their first digit and part at a digit the
# chain predicts and the unlearned product does not: greedy decoding would follow the chain at any
# $p_{cot}$.
#
# ## The runs
#
# {glue:text}`mult_setup`

# %%
# NBVAL_CHECK_OUTPUT
ex.seeds_table().round(3) if ex.computed else ex.message

# %%
# a figure only when computed (the table above says what is missing)
title = "Next-token prediction alone (the baseline continues seed 0)"
plots.chain_under_ntp(ex.ntp_history(), title=title) if ex.computed else None

# %% [markdown]
# Left and middle, greedy decoding; right, how often the long answers among the sampled ones are
# right: the chain that RL can amplify. {glue:text}`mult_chain_verdict`

# %%
plots.rl_curves(ex.rl_history(), hue="run", chance=None,
                title="GRPO from each NTP seed") if ex.computed else None

# %% [markdown]
# {glue:text}`mult_verdict`
#
# ## The matched-compute baseline
#
# Next-token prediction continued from the first seed's run, on
# {glue:text}`mult_baseline_factor` fresh demonstrations per response GRPO sampled (ours, as in
# chapter 3). {glue:text}`mult_baseline_verdict`
#
# ## Fewer digits
#
# The same recipe, from the first seed, at other digit counts: whether next-token prediction
# alone succeeds there, and where the separation begins.

# %%
ex.sweep_table().round(3) if ex.computed else ex.message

# %% [markdown]
# {glue:text}`mult_sweep_verdict`
#
# Greedy answers of the first seed's models to fresh problems, digits least significant first:

# %%
ex.examples() if ex.computed else ex.message

# %% [markdown]
# ## The paper's numbers beside ours

# %%
multiplication.comparison(ex)

# %% [markdown]
# The scale differs by orders of magnitude: the paper's failing case is 7 digits after 38
# GPU-hours; the `cpu` profile trains a small GPT for minutes on two CPU cores. The settings of
# the profiles, the `paper` one for a GPU (not run here: it has not been measured on a GPU):

# %%
multiplication.settings(prof)
