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
# # 3. RL after next-token prediction succeeds
#
# **The paper's claim (Fig. 1 right, Fig. 3).** Start from the model of chapter 2: trained by
# next-token prediction on $\mathcal{D}(p_{cot})$ with $p_{cot} < 1/3$, it answers at chance under
# greedy decoding. Post-train it with reinforcement learning whose only reward is a correct final
# answer. GRPO, REINFORCE and STaR all take greedy accuracy from chance to about 100% after few
# sampled responses, while continuing next-token prediction for the same compute does not move.
# RL fails when it starts too early, and STaR fails at a high sampling temperature with the
# end-to-end reward.

# %% tags=["parameters", "remove-cell"]
profile = "cpu"

# %% tags=["remove-cell"]
from myst_nb import glue

from companion import plan, plots
from companion.evaluate import evaluate
from companion.pretrain import train_ntp
from companion.profiles import get_profile
from companion.rl import (baseline_steps, compare_algorithms, continue_ntp, histories,
                          hot_star_configs, rare_start_config, start_config, summarize, train_rl)

prof = get_profile(profile)
plots.theme()
rl = prof.rl
# every run of this chapter, `prof.workers` at a time (the cells below read them from the cache)
plan.prefetch(prof, 3)

# %% [markdown]
# ## The starting point
#
# RL starts from next-token prediction at $d =$ {glue:text}`d` and $p_{cot} =$
# {glue:text}`p_cot` after {glue:text}`ntp_samples:,` fresh training sequences (cached: it is
# trained once). Greedy decoding answers at chance with short answers; sampled at temperature 1,
# the model goes long about as often as it saw long data, and its long answers are nearly always
# right. The knowledge is in the model; greedy decoding does not use it.

# %%
start = train_ntp(start_config(prof))
start.history[start.history.step == start.config.train.steps].set_index("decoding")[
    ["accuracy", "long_frac", "mean_len", "acc_long", "acc_short"]].round(3)

# %% tags=["remove-cell"]
s0 = start.final("sampled")
glue("d", start.config.task.d, display=False)
glue("p_cot", start.config.task.p_cot, display=False)
glue("ntp_samples", start.config.train.steps * start.config.train.batch_size, display=False)
glue("ntp_greedy", start.final("greedy")["accuracy"], display=False)
glue("ntp_acc_long", s0["acc_long"], display=False)

# %% [markdown]
# ## GRPO, REINFORCE and STaR
#
# Each RL step samples $G =$ {glue:text}`G` responses to each of {glue:text}`prompts` fresh
# prompts at temperature {glue:text}`temp` and rewards a response with 1 when its last token before
# `<eos>` is the parity (0 otherwise, malformed answers included). GRPO normalises the rewards
# within each group of $G$; REINFORCE subtracts the batch mean; STaR keeps the correct responses
# and fits them by next-token prediction. The three differ only in that argument of one objective
# (`companion/rl.py`). Learning rate {glue:text}`lr` with cosine decay, no KL term, token
# log-probabilities summed per response. GRPO runs with {glue:text}`n_seeds` RL seeds (one NTP
# start; the band spans the seeds), REINFORCE and STaR with {glue:text}`n_other_seeds`.

# %%
runs = compare_algorithms(prof, start)
hist = histories(runs)
plots.rl_curves(hist, hue="algorithm")

# %%
# NBVAL_CHECK_OUTPUT
table = summarize(runs)
table.round(3)

# %% tags=["remove-cell"]
glue("G", rl.G, display=False)
glue("prompts", rl.prompts_per_step, display=False)
glue("temp", rl.temperature, display=False)
glue("lr", rl.lr, display=False)
glue("n_seeds", len(prof.rl_seeds), display=False)
glue("n_other_seeds", len(prof.rl_other_seeds), display=False)
by_algo = table.groupby("algorithm")
reach = by_algo["responses to 0.95"]
glue("grpo_reach_max", float(reach.max()["grpo"]), display=False)
glue("grpo_reach_min", float(reach.min()["grpo"]), display=False)
glue("grpo_n_reached", int(table[table.algorithm == "grpo"]["responses to 0.95"].notna().sum()),
     display=False)
glue("grpo_final_min", float(by_algo["final greedy accuracy"].min()["grpo"]), display=False)
glue("grpo_len", float(by_algo["final mean length"].mean()["grpo"]), display=False)
glue("reinforce_final", float(by_algo["final greedy accuracy"].mean()["reinforce"]), display=False)
glue("star_final", float(by_algo["final greedy accuracy"].mean()["star"]), display=False)
glue("rl_responses", int(table.responses.max()), display=False)

# %% [markdown]
# GRPO reached greedy accuracy 0.95 in {glue:text}`grpo_n_reached` of {glue:text}`n_seeds` seeds,
# after {glue:text}`grpo_reach_min:,.0f` to {glue:text}`grpo_reach_max:,.0f` sampled responses;
# its final greedy accuracy is at least {glue:text}`grpo_final_min:.3f`, with greedy answers
# {glue:text}`grpo_len:.1f` tokens long on average (the chain has $d =$ {glue:text}`d`).
# REINFORCE ends at {glue:text}`reinforce_final:.3f` and STaR at {glue:text}`star_final:.3f`
# after {glue:text}`rl_responses:,` responses. A response that is *not*
# rewarded is not free either: RL pays for every sample, right or wrong.
#
# ## The matched-compute baseline: more next-token prediction
#
# Is it RL, or just more training? Continue next-token prediction from the same start, on
# {glue:text}`baseline_factor` fresh demonstrations per response RL sampled (a rollout plus one
# backward pass per response costs less than that). Greedy decoding stays at chance: the longer
# NTP run is still calibrated in length, and $p_{cot} < 1/3$ keeps the greedy answer short.

# %%
baseline = continue_ntp(start, steps=baseline_steps(prof, start.config))
plots.rl_curves(hist[hist.algorithm == "grpo"], hue="algorithm", ntp=baseline,
                title="RL (GRPO) against continued next-token prediction")

# %% tags=["remove-cell"]
bg = baseline[baseline.decoding == "greedy"]
glue("baseline_factor", prof.rl_baseline_factor, display=False)
glue("baseline_samples", int(bg.samples.max()), display=False)
glue("baseline_max", float(bg.accuracy.max()), display=False)
glue("baseline_len", float(bg.mean_len.iloc[-1]), display=False)

# %% [markdown]
# Over {glue:text}`baseline_samples:,` further demonstrations the best greedy accuracy of the
# continued NTP run is {glue:text}`baseline_max:.3f`, with greedy answers
# {glue:text}`baseline_len:.1f` token(s) long.
#
# ## Too early: RL needs the chain to have been learned
#
# The same GRPO run started from earlier checkpoints of the same NTP run. The paper reports that
# RL from a too-early checkpoint can lengthen the answers without making them right.

# %%
steps = (*prof.rl_early_steps, start.config.train.steps)
early = {f"NTP step {k}": train_rl(rl, start, step=k) for k in steps}
early_hist = histories(early)
plots.rl_curves(early_hist, hue="run", title="GRPO from earlier and later NTP checkpoints")

# %%
ckpt = [{"NTP step": k, **evaluate(start.load_model(k), start.task, start.config.eval,
                                   ("sampled",))[0]} for k in steps]
summarize(early).assign(**{"sampled acc_long at start": [c["acc_long"] for c in ckpt]}).round(3)

# %% tags=["remove-cell"]
early_table = summarize(early)
glue("early_step", steps[0], display=False)
glue("early_final", float(early_table["final greedy accuracy"].iloc[0]), display=False)
glue("early_len", float(early_table["final mean length"].iloc[0]), display=False)
glue("early_acc_long", float(ckpt[0]["acc_long"]), display=False)
# when the chain appeared in the start run: the first evaluation with sampled long answers >= 90% right
hs = start.history[start.history.decoding == "sampled"].sort_values("step")
learned = hs[hs.acc_long >= 0.9]
if len(learned):
    k = int(learned.step.iloc[0])
    before = hs[hs.step < k]
    prev = (f"; at step {int(before.step.iloc[-1]):,} they were {before.acc_long.iloc[-1]:.0%} right"
            if len(before) and before.acc_long.notna().iloc[-1] else "")
    glue("chain_appears", f"{prof.name} profile: sampled long answers are first at least 90% right at "
         f"NTP step {k:,}{prev}", display=False)
    glue("chain_long", k * start.config.train.batch_size * start.config.task.p_cot, display=False)
else:
    glue("chain_long", start.config.train.steps * start.config.train.batch_size
         * start.config.task.p_cot, display=False)  # a lower bound: not learned within the run
    glue("chain_appears", f"{prof.name} profile: sampled long answers never reach 90% right in "
         f"this NTP run", display=False)

# %% [markdown]
# From NTP step {glue:text}`early_step`, where sampled long answers are right only
# {glue:text}`early_acc_long:.2f` of the time, GRPO ends at greedy accuracy
# {glue:text}`early_final:.3f` with greedy answers {glue:text}`early_len:.1f` token(s) long. Without
# a working chain a long answer earns no more reward than a short guess, and RL has nothing to
# amplify ({glue:text}`chain_appears`). The paper's middle
# ground, longer answers that are still wrong, needs a checkpoint where the chain is partly learned;
# our checkpoints do not land there.
#
# ## Rare long data: $p_{cot} =$ {glue:text}`rare_p`
#
# The paper reports that at $p_{cot} = 0.01$ RL still lengthens the answers from almost every
# checkpoint. Its NTP phase sees about $10^5$ long demonstrations; at our budget the NTP run sees
# {glue:text}`rare_long:,.0f`, far fewer than the {glue:text}`chain_long:,.0f` our start run at
# $p_{cot} =$ {glue:text}`p_cot` had seen when its chain appeared.

# %%
rare_start = train_ntp(rare_start_config(prof))
rare = train_rl(rl, rare_start)
summarize({f"p_cot = {prof.rl_rare_p_cot:g}": rare}).round(3)

# %% tags=["remove-cell"]
rare_cfg = rare_start.config
glue("rare_p", prof.rl_rare_p_cot, display=False)
glue("rare_long", rare_cfg.train.steps * rare_cfg.train.batch_size * rare_cfg.task.p_cot, display=False)
rs = rare.curve("sampled")
glue("rare_len0", float(rs.mean_len.iloc[0]), display=False)
glue("rare_len1", float(rs.mean_len.iloc[-1]), display=False)
glue("rare_final", rare.final("greedy")["accuracy"], display=False)
glue("rare_acc_long0", float(rare_start.final("sampled")["acc_long"]), display=False)

# %% [markdown]
# The sampled answers go from {glue:text}`rare_len0:.2f` to {glue:text}`rare_len1:.2f` tokens on
# average and greedy accuracy ends at {glue:text}`rare_final:.3f`: the rare long answers were right
# only {glue:text}`rare_acc_long0:.2f` of the time at the start, so there was no chain to reward.
# This is a limit of our compute, not a contradiction of the paper: rare long data needs a
# correspondingly longer NTP phase before RL can take off (PAPER.md section 5: at $d = 16$,
# $p_{cot} = 0.02$, GRPO was stuck after 800 NTP steps and reached 0.89 after 5,000).
#
# ## When STaR fails: high temperature and the end-to-end reward
#
# At a high sampling temperature many long answers contain mistakes in the chain, yet half of
# those still end on the right bit by luck. STaR with the end-to-end reward keeps them and fits
# them, teaching the model wrong chains. Rewarding the chain itself ("CoT reward": a long answer
# counts only if every step is right) removes those samples.

# %%
star_hot = {name: train_rl(cfg, start) for name, cfg in hot_star_configs(prof).items()}
star_hot["T=1, end_to_end reward"] = runs[f"star seed {prof.rl_other_seeds[0]}"]
plots.rl_curves(histories(star_hot), hue="run", title="STaR at a high sampling temperature")

# %% tags=["remove-cell"]
hot_table = summarize(star_hot).set_index("run")["final greedy accuracy"]
glue("hot_T", prof.rl_hot_temperature, display=False)
glue("hot_e2e", float(hot_table.iloc[0]), display=False)
glue("hot_cot", float(hot_table.iloc[1]), display=False)

# %% [markdown]
# At $T =$ {glue:text}`hot_T` STaR ends at greedy accuracy {glue:text}`hot_e2e:.3f` with the
# end-to-end reward and {glue:text}`hot_cot:.3f` with the CoT reward.
#
# ## The paper's numbers beside ours
#
# | | paper | this book ({glue:text}`profile_name`) |
# |---|---|---|
# | setting | $d = 50$, $p_{cot} = 0.25$, depth 4-8, width 128-256, $\sim 10^7$ NTP samples | $d =$ {glue:text}`d`, $p_{cot} =$ {glue:text}`p_cot`, depth {glue:text}`n_layer`, width {glue:text}`n_embd`, {glue:text}`ntp_samples:,` NTP samples |
# | NTP greedy accuracy before RL | chance | {glue:text}`ntp_greedy:.3f` |
# | RL (GRPO) greedy accuracy | $\approx 100\%$ after few samples | $\geq 0.95$ after {glue:text}`grpo_reach_min:,.0f`-{glue:text}`grpo_reach_max:,.0f` responses; final $\geq$ {glue:text}`grpo_final_min:.3f` |
# | REINFORCE / STaR | also succeed | {glue:text}`reinforce_final:.3f` / {glue:text}`star_final:.3f` |
# | more NTP, same compute | stays at chance | best {glue:text}`baseline_max:.3f` |
# | RL from a too-early NTP checkpoint | can lengthen without generalizing | {glue:text}`early_final:.3f`, length {glue:text}`early_len:.1f` (no chain yet: nothing to amplify) |
# | $p_{cot} = 0.01$ | length still increases | sampled length {glue:text}`rare_len0:.2f` to {glue:text}`rare_len1:.2f` after {glue:text}`rare_long:,.0f` long demonstrations (too few here) |
# | STaR, high temperature, end-to-end reward | fails | {glue:text}`hot_e2e:.3f` (CoT reward: {glue:text}`hot_cot:.3f`) |
#
# What differs is scale: the paper trains larger transformers on $d = 50$ for about $10^7$
# samples on GPUs; here a 2-core CPU trains a small GPT on $d =$ {glue:text}`d` for minutes. The RL
# recipe (group size, learning rate, no KL) is ours: the paper does not publish it.

# %% tags=["remove-cell"]
glue("profile_name", prof.name, display=False)
glue("n_layer", start.config.model.n_layer, display=False)
glue("n_embd", start.config.model.n_embd, display=False)
