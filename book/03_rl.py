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
# # 3. RL after next-token prediction
#
# **The paper's claim (Fig. 1 right, Fig. 3).** Start from the model of chapter 2: trained by
# next-token prediction on $\mathcal{D}(p_{cot})$ with $p_{cot} < 1/3$, it answers at chance under
# greedy decoding. Post-train it with reinforcement learning whose only reward is a correct final
# answer. GRPO, REINFORCE and STaR all take greedy accuracy from chance to about 100% after few
# sampled responses. From a too-early NTP checkpoint RL can lengthen the answers without making
# them right; STaR fails at a high sampling temperature with the end-to-end reward; and with rare
# long data ($p_{cot} = 0.01$) RL still lengthens the answers from almost every checkpoint.
#
# **Ours, not the paper's.** A matched-compute baseline: next-token prediction continued from the
# same start for the same compute. Each claim below is judged by a rule with its controls (a
# negative result counts only where a control shows the capacity was there); the statuses and
# the rules are on the scorecard page.

# %% tags=["parameters", "remove-cell"]
profile = "cpu"
# the reader's knobs: None = the profile's value; companion/knobs.py checks and applies
# them (a name not listed here is refused), e.g. papermill ... -p p_cot 0.2
d = None  # input bits of the NTP run RL starts from (the headline run)
p_cot = None  # fraction of long (chain) data of that run
ntp_steps = None  # NTP steps of that run (also the matched-compute baseline's start)
rl_steps = None  # steps of every RL run of the chapter
rl_seeds = None  # GRPO seeds, a list, e.g. [0, 1, 2]
ntp_seeds = None  # NTP seeds of RL's start, the headline's 0 first, e.g. [0, 1, 2]

# %% tags=["remove-cell"]
from companion import knobs, plots
from companion.experiments import glue_numbers, rl_after_ntp
from companion.train import histories, summarize
from companion.verdicts import glue_outcomes

prof = knobs.chapter_profile("03_rl", globals())  # `profile` and the knobs, checked
plots.theme()
# every run of this chapter, `prof.workers` at a time, then read from the cache
ex = rl_after_ntp.load(prof)
glue_numbers(ex.numbers())
glue_outcomes(ex.outcomes())  # each claim's status, for the scorecard page

# %% [markdown]
# ## The starting point
#
# RL starts from next-token prediction at $d =$ {glue:text}`d` and $p_{cot} =$
# {glue:text}`p_cot` after {glue:text}`ntp_samples:,` fresh training sequences (cached: it is
# trained once). Measured: {glue:text}`start_verdict`

# %%
ex.start_table().round(3)

# %% [markdown]
# ## GRPO, REINFORCE and STaR
#
# Each RL step samples $G =$ {glue:text}`G` responses to each of {glue:text}`prompts` fresh
# prompts at temperature {glue:text}`temp` and rewards a response with 1 when its last token before
# `<eos>` is the parity (0 otherwise, malformed answers included). GRPO normalises the rewards
# within each group of $G$; REINFORCE subtracts the batch mean; STaR keeps the correct responses
# and fits them by next-token prediction. The three differ only in that argument of one objective
# (`companion/objective.py`). Learning rate {glue:text}`lr` with cosine decay, no KL term, token
# log-probabilities summed per response. GRPO runs with {glue:text}`n_seeds` RL seeds (one NTP
# start; the band spans the seeds), REINFORCE and STaR with {glue:text}`n_other_seeds`.

# %%
hist = histories(ex.algorithms)
plots.rl_curves(hist, hue="algorithm")

# %%
# NBVAL_CHECK_OUTPUT
summarize(ex.algorithms).round(3)

# %% [markdown]
# GRPO reached greedy accuracy {glue:text}`reached_at` in {glue:text}`grpo_n_reached` of
# {glue:text}`n_seeds` seeds, {glue:text}`grpo_reach_text`;
# its final greedy accuracy is at least {glue:text}`grpo_final_min:.3f`, with greedy answers
# {glue:text}`grpo_len:.1f` tokens long on average (the chain has $d =$ {glue:text}`d`).
# REINFORCE ends at {glue:text}`reinforce_final:.3f` and STaR at {glue:text}`star_final:.3f`
# after {glue:text}`rl_responses:,` responses. A response that is *not*
# rewarded is not free either: RL pays for every sample, right or wrong.
#
# ## Across NTP seeds
#
# The runs above all start from one NTP run. The paper trains its transformers with 3 seeds; here
# the same NTP run is trained from {glue:text}`n_ntp_seeds` seeds, and GRPO, REINFORCE and STaR
# (the first RL seed of each) run from each; the bands span the NTP seeds.

# %%
plots.rl_curves(histories(ex.across_ntp | ex.across_others), hue="algorithm",
                title="RL from each NTP seed")

# %%
# NBVAL_CHECK_OUTPUT
ex.across_ntp_table().round(3)

# %% [markdown]
# The starts' greedy accuracy is {glue:text}`ntp_seed_greedy_min:.3f` to
# {glue:text}`ntp_seed_greedy_max:.3f`; GRPO ends at {glue:text}`across_final_min:.3f` to
# {glue:text}`across_final_max:.3f`. {glue:text}`across_verdict` REINFORCE ends at
# {glue:text}`reinforce_across_min:.3f` to {glue:text}`reinforce_across_max:.3f`, STaR at
# {glue:text}`star_across_min:.3f` to {glue:text}`star_across_max:.3f`;
# {glue:text}`others_across_verdict`
#
# ## The matched-compute baseline: more next-token prediction
#
# Is it RL, or just more training? Continue next-token prediction from the same start, on
# {glue:text}`baseline_factor` fresh demonstrations per response RL sampled. Counted in FLOPs
# (`companion/flops.py`: forward and backward passes run to each sequence's end, the GRPO run's
# rollouts decoded as long as they were; evaluation left out of both), that gives the baseline
# {glue:text}`baseline_flop_ratio:.2f` times the compute of the GRPO run. This baseline is ours,
# not the paper's.

# %%
plots.rl_curves(hist[hist.algorithm == "grpo"], hue="algorithm", ntp=ex.baseline.history,
                title="RL (GRPO) against continued next-token prediction")

# %% [markdown]
# Over {glue:text}`baseline_samples:,` further demonstrations the best greedy accuracy of the
# continued NTP run is {glue:text}`baseline_max:.3f`, with greedy answers
# {glue:text}`baseline_len:.1f` token(s) long. {glue:text}`baseline_verdict`
#
# ## Too early: RL before the chain is learned
#
# The same GRPO run started from earlier checkpoints of the same NTP run. The paper reports that
# RL from a too-early checkpoint can lengthen the answers without making them right. A later
# checkpoint from which RL succeeds is the control: without one, a failure from an early
# checkpoint says nothing about timing.

# %%
plots.rl_curves(histories(ex.early), hue="run", title="GRPO from earlier and later NTP checkpoints")

# %%
ex.early_table().round(3)

# %% [markdown]
# From NTP step {glue:text}`early_step`, where sampled long answers are right
# {glue:text}`early_acc_long_text`, GRPO ends at greedy accuracy
# {glue:text}`early_final:.3f` with greedy answers {glue:text}`early_len:.1f` token(s) long.
# {glue:text}`early_verdict` ({glue:text}`chain_appears`). Across the checkpoints at steps
# {glue:text}`early_window`, {glue:text}`early_first_reach`. The paper's middle ground is longer
# answers that are still wrong (here: the fraction of long greedy answers rises beyond its noise
# while greedy accuracy stays at chance); we would look for it at a checkpoint where the chain is
# partly learned (ours); {glue:text}`early_middle`.
#
# ## Rare long data: $p_{cot} =$ {glue:text}`rare_p`
#
# The paper reports that at $p_{cot} = 0.01$ RL still lengthens the answers from almost every
# checkpoint. Here GRPO runs from one checkpoint, the end of an NTP run that sees
# {glue:text}`rare_long:,.0f` long demonstrations; our start run at $p_{cot} =$ {glue:text}`p_cot`
# had seen {glue:text}`chain_long:,.0f` when its chain appeared (or by its end, if it never did).

# %%
summarize({f"p_cot = {prof.rl_after_ntp.rare_p_cot:g}": ex.rare}).round(3)

# %% [markdown]
# Before RL, the rare-data model's sampled long answers were {glue:text}`rare_acc_long0_text`.
# During RL the sampled answers are long (and well-formed) {glue:text}`rare_long_frac0:.3f` of the
# time at the start and {glue:text}`rare_long_frac1:.3f` at the end; malformed
# {glue:text}`rare_malformed0:.3f` and {glue:text}`rare_malformed1:.3f` of the time, counted apart
# (their mean length, a malformed answer counted at full length, goes from
# {glue:text}`rare_len0:.2f` to {glue:text}`rare_len1:.2f` tokens). Greedy accuracy ends at
# {glue:text}`rare_final:.3f`. {glue:text}`rare_verdict`
#
# ## STaR at a high temperature: the end-to-end and the CoT reward
#
# With the end-to-end reward STaR keeps every sampled answer whose last bit is right and fits it
# by next-token prediction. At a high sampling temperature more long answers contain a wrong
# step, and a long answer with wrong steps can still end on the right bit; STaR would then fit
# wrong chains (our reading of why it would fail; how many such answers it keeps is not measured
# here). Rewarding the chain itself ("CoT reward": a long answer counts only if every step is
# right) keeps none of them. Two controls tell the heat and the reward apart: STaR at the usual
# temperature, and hot STaR with the CoT reward.

# %%
plots.rl_curves(histories(ex.hot_star), hue="run", title="STaR at a high sampling temperature")

# %% [markdown]
# At $T =$ {glue:text}`hot_T` STaR ends at greedy accuracy {glue:text}`hot_e2e:.3f` with the
# end-to-end reward and {glue:text}`hot_cot:.3f` with the CoT reward; at $T =$ {glue:text}`temp`
# with the end-to-end reward, {glue:text}`hot_cool:.3f`. The rule's reading:
# {glue:text}`hot_verdict`.
#
# ## The paper's numbers beside ours
#
# | | paper | this book ({glue:text}`profile_name`) |
# |---|---|---|
# | setting | $d = 50$, $p_{cot} = 0.25$, transformers of depth 2, 4 or 8 and width 128 or 256 (which size went with which figure is not known to us), 3 seeds, $\sim 10^7$ NTP samples | $d =$ {glue:text}`d`, $p_{cot} =$ {glue:text}`p_cot`, depth {glue:text}`n_layer`, width {glue:text}`n_embd`, {glue:text}`ntp_samples:,` NTP samples |
# | NTP greedy accuracy before RL | chance | {glue:text}`ntp_greedy:.3f` |
# | RL (GRPO) greedy accuracy | $\approx 100\%$ after few samples | reached {glue:text}`reached_at` in {glue:text}`grpo_n_reached` of {glue:text}`n_seeds` seeds, {glue:text}`grpo_reach_text`; final $\geq$ {glue:text}`grpo_final_min:.3f` |
# | GRPO across NTP seeds | 3 seeds | {glue:text}`n_ntp_seeds` NTP seeds: final {glue:text}`across_final_min:.3f`-{glue:text}`across_final_max:.3f`, {glue:text}`across_n_reached` reached {glue:text}`reached_at` |
# | REINFORCE and STaR across NTP seeds | 3 seeds | final {glue:text}`reinforce_across_min:.3f`-{glue:text}`reinforce_across_max:.3f` (REINFORCE), {glue:text}`star_across_min:.3f`-{glue:text}`star_across_max:.3f` (STaR) |
# | REINFORCE / STaR | also succeed | {glue:text}`reinforce_final:.3f` / {glue:text}`star_final:.3f` |
# | more NTP, same compute | (not in the paper; ours) | best {glue:text}`baseline_max:.3f` |
# | RL from a too-early NTP checkpoint | can lengthen without generalizing | {glue:text}`early_key` |
# | $p_{cot} = 0.01$ | length still increases, from almost every checkpoint | one checkpoint, after {glue:text}`rare_long:,.0f` long demonstrations: sampled answers long {glue:text}`rare_long_frac0:.3f` to {glue:text}`rare_long_frac1:.3f` |
# | STaR, high temperature, end-to-end reward | fails | {glue:text}`hot_e2e:.3f` (CoT reward: {glue:text}`hot_cot:.3f`; usual temperature: {glue:text}`hot_cool:.3f`) |
#
# What differs is scale: the paper trains transformers of depth 2 to 8 and width 128 or 256 on
# $d = 50$, about $10^7$ NTP samples for its headline, on GPUs; here the {glue:text}`profile_name`
# profile trains a GPT of depth {glue:text}`n_layer` and width {glue:text}`n_embd` on $d =$
# {glue:text}`d` for {glue:text}`ntp_samples:,` NTP samples. The RL recipe (group size, learning
# rate, no KL) is ours: the paper does not publish it.
