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
# # 4. Test-time compute grows during RL
#
# **The paper's claim (Fig. 3).** While RL raises accuracy, the response length rises from 1 to
# $d$: the model learns to spend test-time compute on the chain of thought it saw only rarely. RL
# up-weights the rare long, correct demonstrations. For STaR this is exact in the model of
# chapter 1: each round maps the long fraction $p \mapsto 2p/(1+p)$. A "leap-2" partial chain lets
# next-token prediction alone generalize below $1/3$ (appendix, Fig. 15). Reviewers asked what a
# length penalty in the reward does; we try it.

# %% tags=["parameters", "remove-cell"]
profile = "cpu"
# the reader's knobs: None = the profile's value; companion/knobs.py checks and applies
# them (a name not listed here is refused), e.g. papermill ... -p p_cot 0.2
d = None  # input bits of the NTP run RL starts from (the headline run)
p_cot = None  # fraction of long (chain) data of that run (and of the leap-2 runs)
ntp_steps = None  # NTP steps of that run
rl_steps = None  # steps of the GRPO runs (with and without a length penalty)
rl_seeds = None  # GRPO seeds, a list, e.g. [0, 1, 2] (chapter 3's runs)
ntp_seeds = None  # NTP seeds of RL's start, e.g. [0, 1, 2] (chapter 3's runs)

# %% tags=["remove-cell"]
from companion import knobs, plots
from companion.experiments import glue_numbers, test_time
from companion.train import histories

prof = knobs.chapter_profile("04_test_time", globals())  # `profile` and the knobs, checked
plots.theme()
# every run of this chapter, `prof.workers` at a time, then read from the cache
ex = test_time.load(prof)
glue_numbers(ex.numbers())

# %% [markdown]
# ## From one token to $d$
#
# The GRPO runs of chapter 3 (cached), seen through what they *sample* during training: the
# fraction of long responses among the rollouts and their mean length. The band spans
# {glue:text}`n_seeds` seeds.

# %%
plots.rl_curves(histories(ex.grpo), hue="algorithm", decoding="rollout",
                title="What GRPO samples while it learns")

# %% [markdown]
# Greedy answers start {glue:text}`len_start:.1f` token(s) long and end {glue:text}`len_end_min:.1f`
# to {glue:text}`len_end_max:.1f` tokens long over the seeds (the full chain has $d =$
# {glue:text}`d` tokens); at least {glue:text}`long_end:.3f` of the greedy answers are long.
#
# ## Accuracy comes with length
#
# Every evaluation of every RL run of chapter 3 and this chapter: greedy accuracy against greedy
# response length. Measured: {glue:text}`with_length`.

# %%
plots.accuracy_vs_length(histories(ex.algorithms), hue="algorithm")

# %% [markdown]
# ## STaR, round by round, against $p \mapsto 2p/(1+p)$
#
# STaR in rounds: the sampler is frozen for a round of {glue:text}`round_steps` updates, during
# which the model is fitted by next-token prediction to the correct samples it drew
# ({glue:text}`round_responses:,` per round). If the long answers are right and the short ones a
# coin, a fraction $2p/(1+p)$ of the kept samples is long, and a model fitted to them is calibrated
# to that fraction (chapter 2). We measure the sampled long fraction at the end of each round.

# %%
rounds = ex.rounds
plots.star_rounds(rounds)

# %%
rounds.assign(gap=(rounds.measured - rounds.predicted).abs()).round(3)

# %% [markdown]
# From a sampled long fraction of {glue:text}`star_p0:.3f`, the first round measures
# {glue:text}`star_p1:.3f` against a predicted {glue:text}`star_pred1:.3f`; over the first three
# rounds the largest gap between measurement and closed form is {glue:text}`star_gap3:.3f`.
# {glue:text}`star_switch`
#
# ## Partial chains: leap 2
#
# The long demonstration now writes every second running parity only ($b_2, b_4, \dots, b_d$):
# half the tokens. This encoding is **(reconstructed)**: the paper's exact partial chain is not known to us. We train next-token prediction alone at the same $p_{cot}$, on $d =$
# {glue:text}`leap_d` bits, and compare with the full chain trained the same way
# ({glue:text}`leap_d_note`).

# %%
plots.accuracy_vs_samples(ex.leaps, hue="chain")

# %% [markdown]
# At $p_{cot} =$ {glue:text}`leap_p`, after {glue:text}`leap2_steps:,` steps, the leap-2 model ends at greedy accuracy
# {glue:text}`leap2_acc:.3f` (greedy length {glue:text}`leap2_len:.1f`; its sampled long answers are
# right {glue:text}`leap2_acc_long:.2f` of the time), against {glue:text}`leap1_acc:.3f` for the
# full chain after {glue:text}`leap1_steps:,` steps. Measured here: {glue:text}`leap_verdict` (A
# leap-2 step combines two new bits, which is harder to learn than one.)
#
# ## A length penalty
#
# The reward minus $\lambda \cdot$ (response tokens / chain length): a full chain costs $\lambda$,
# a short answer almost nothing. A short answer earns $1/2$ on average and a correct chain
# $1 - \lambda$, so for $\lambda < 1/2$ the chain still pays, above it guessing short pays more.

# %%
plots.rl_curves(histories(ex.penalised), hue="run", title="GRPO with a length penalty")

# %% [markdown]
# With $\lambda =$ {glue:text}`pen_lo` GRPO ends at greedy accuracy {glue:text}`pen_lo_acc:.3f`
# and length {glue:text}`pen_lo_len:.1f`; with $\lambda =$ {glue:text}`pen_hi` at
# {glue:text}`pen_hi_acc:.3f` and length {glue:text}`pen_hi_len:.1f`. {glue:text}`pen_verdict`
#
# ## The paper's numbers beside ours
#
# | | paper | this book ({glue:text}`profile_name`) |
# |---|---|---|
# | response length during RL | rises from 1 to $d = 50$ | from {glue:text}`len_start:.1f` to {glue:text}`len_end_min:.1f`-{glue:text}`len_end_max:.1f` ($d =$ {glue:text}`d`) |
# | STaR long fraction per round | $p \mapsto 2p/(1+p)$ (theory) | the first round: {glue:text}`star_p1:.3f` vs {glue:text}`star_pred1:.3f`; largest gap in rounds {glue:text}`star_gap_rounds`: {glue:text}`star_gap3:.3f` |
# | leap-2 chain, NTP alone below $1/3$ | generalizes | greedy accuracy {glue:text}`leap2_acc:.3f` |
# | length penalty | (reviewers' question) | $\lambda =$ {glue:text}`pen_lo`: {glue:text}`pen_lo_acc:.3f`; $\lambda =$ {glue:text}`pen_hi`: {glue:text}`pen_hi_acc:.3f` |
#
# The scale differs as in chapter 3: a small GPT trained for minutes on a CPU ($d =$ {glue:text}`d`)
# instead of larger transformers trained on GPUs ($d = 50$). The STaR rounds, the CoT reward and the length penalty are our constructions
# around the paper's recursion; the paper does not publish their settings.
