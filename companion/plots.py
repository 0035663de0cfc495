"""Seaborn figures for the book: a tidy DataFrame in, a matplotlib Figure out, one theme.

Functions never show or save: the chapter displays what they return.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from . import theory

PAPER_COLOR = "0.35"  # closed-form / paper curves in grey, our measurements in colour


def finish(fig: plt.Figure) -> plt.Figure:
    """Lay out and detach the figure from pyplot, so a notebook shows it once (as the cell's value)."""
    fig.tight_layout()
    plt.close(fig)
    return fig


def theme() -> None:
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "figure.figsize": (6.4, 3.8),
                         "axes.titlesize": "medium",
                         # opaque white figures: black text on a transparent PNG is unreadable
                         # under the book's dark theme (matplotlib-inline < 0.1.4 made them
                         # transparent; IPython saves with the figure's facecolor)
                         "figure.facecolor": "white", "savefig.facecolor": "white",
                         "savefig.transparent": False})


def _threshold_line(ax) -> None:
    ax.axvline(1 / 3, color=PAPER_COLOR, ls=":", lw=1)
    ax.text(1 / 3, 1.02, " 1/3", color=PAPER_COLOR, va="bottom", ha="center",
            transform=ax.get_xaxis_transform(), fontsize="small")


def predicted_accuracy(p_grid: np.ndarray | None = None) -> plt.Figure:
    """Chapter 1: closed-form greedy and sampled accuracy vs p_cot."""
    p = np.linspace(0, 1, 401) if p_grid is None else p_grid
    df = pd.concat([
        pd.DataFrame({"p_cot": p, "accuracy": theory.greedy_accuracy(p), "decoding": "greedy"}),
        pd.DataFrame({"p_cot": p, "accuracy": theory.sampled_accuracy(p), "decoding": "sampled (T=1)"}),
    ])
    fig, ax = plt.subplots()
    sns.lineplot(df, x="p_cot", y="accuracy", hue="decoding", ax=ax)
    _threshold_line(ax)
    ax.set(ylim=(0.45, 1.02), xlabel="fraction of long demonstrations $p_{cot}$",
           ylabel="predicted accuracy", title="A model that learned everything but x -> y")
    return finish(fig)


def star_recursion(p0s: tuple[float, ...], rounds: int = 8) -> plt.Figure:
    """Chapter 1: long fraction after each STaR round, p -> 2p/(1+p)."""
    rows = [{"round": r, "long fraction": p, "start": f"p_0={p0:g}"}
            for p0 in p0s for r, p in enumerate(theory.star_long_fractions(p0, rounds))]
    fig, ax = plt.subplots()
    sns.lineplot(pd.DataFrame(rows), x="round", y="long fraction", hue="start", marker="o", ax=ax)
    ax.axhline(1 / 3, color=PAPER_COLOR, ls=":", lw=1)
    ax.set(ylim=(0, 1.02), title="STaR doubles the odds of a long answer each round")
    return finish(fig)


def sweep_accuracy(final: pd.DataFrame) -> plt.Figure:
    """Chapter 2: measured final greedy accuracy and long fraction vs p_cot, with the closed form."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    p = np.linspace(0, 1, 401)
    g = final[final.decoding == "greedy"]
    for ax, col, pred, label in ((axes[0], "accuracy", theory.greedy_accuracy(p), "greedy accuracy"),
                                 (axes[1], "long_frac", theory.greedy_long(p), "greedy long fraction")):
        ax.plot(p, pred, color=PAPER_COLOR, lw=1.5, label="closed form")
        sns.lineplot(g, x="p_cot", y=col, marker="o", errorbar=("pi", 100), ax=ax, label="measured (NTP)")
        _threshold_line(ax)
        ax.set(xlabel="$p_{cot}$", ylabel=label, ylim=(-0.02 if col == "long_frac" else 0.4, 1.04))
    axes[0].legend(loc="upper left")
    axes[1].legend(loc="upper left")
    return finish(fig)


def calibration(final: pd.DataFrame) -> plt.Figure:
    """Chapter 2: fraction of long answers under temperature-1 sampling vs p_cot (should be ~p_cot)."""
    s = final[final.decoding == "sampled"]
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.plot([0, 1], [0, 1], color=PAPER_COLOR, lw=1, ls="--", label="calibrated: $= p_{cot}$")
    sns.scatterplot(s, x="p_cot", y="long_frac", s=60, ax=ax, label="measured (T=1)")
    ax.set(xlim=(0, 0.55), ylim=(0, 0.55), xlabel="$p_{cot}$ in the training data",
           ylabel="long fraction when sampling", title="Calibrated in length")
    ax.legend(loc="upper left")
    return finish(fig)


def coin(table: pd.DataFrame) -> plt.Figure:
    """Chapter 2: the measured coin (P(continue | b_1), P(first token = b_1)) of every NTP run
    against chapter 1's closed forms 2p/(1+p) and (1+p)/2."""
    p = np.linspace(0, 0.55, 201)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, col, pred, form, label in (
            (axes[0], "continue", theory.continue_prob(p), "$2p/(1+p)$", "P(continue | $b_1$)"),
            (axes[1], "first_c1", theory.first_c1_prob(p), "$(1+p)/2$", "P(first token $= b_1$)")):
        ax.plot(p, pred, color=PAPER_COLOR, lw=1.5, label=f"closed form {form}")
        sns.scatterplot(table, x="p_cot", y=col, hue="run", style="run", s=60, ax=ax)
        _threshold_line(ax)
        ax.set(xlabel="$p_{cot}$", ylabel=label, xlim=(0, 0.55))
    axes[0].axhline(0.5, color=PAPER_COLOR, ls="--", lw=1)
    axes[0].text(0.54, 0.48, "greedy continues above 1/2", color=PAPER_COLOR, fontsize="small",
                 va="top", ha="right")
    axes[0].legend(loc="upper left", fontsize="small")
    axes[1].get_legend().remove()
    return finish(fig)


def accuracy_vs_samples(history: pd.DataFrame, hue: str = "p_cot") -> plt.Figure:
    """Chapter 2: greedy accuracy during NTP against training samples seen."""
    g = history[(history.decoding == "greedy") & (history.step > 0)].copy()  # step 0: untrained
    g[hue] = g[hue].map(lambda v: f"{v:g}") if g[hue].dtype.kind == "f" else g[hue]
    fig, ax = plt.subplots()
    sns.lineplot(g, x="samples", y="accuracy", hue=hue, marker="o", ax=ax)
    ax.axhline(0.5, color=PAPER_COLOR, ls=":", lw=1)
    ax.set(ylim=(0.4, 1.02), xlabel="training samples seen", ylabel="greedy accuracy",
           title="Next-token prediction alone, p_cot < 1/3")
    ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
    return finish(fig)


def chain_under_ntp(hist: pd.DataFrame, hue: str = "run", title: str | None = None) -> plt.Figure:
    """Next-token prediction alone: greedy accuracy and length beside the accuracy of the sampled
    long answers, against the training sequences seen - the chain can be learned while greedy
    decoding answers short."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    for ax, decoding, col, label in (
            (axes[0], "greedy", "accuracy", "greedy accuracy"),
            (axes[1], "greedy", "mean_len", "greedy mean response length"),
            (axes[2], "sampled", "acc_long", "sampled long answers: accuracy")):
        h = hist[hist.decoding == decoding]
        sns.lineplot(h, x="samples", y=col, hue=hue, marker="o", markersize=4, ax=ax)
        ax.set(xlabel="training sequences seen", ylabel=label,
               ylim=None if col == "mean_len" else (-0.02, 1.02))
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
        ax.legend(fontsize="small", title=hue if hue != "run" else None)
    if title:
        fig.suptitle(title)
    return finish(fig)


# --- chapters 3-4: RL
def rl_curves(hist: pd.DataFrame, hue: str = "algorithm", x: str = "responses",
              decoding: str = "greedy", title: str | None = None,
              ntp: pd.DataFrame | None = None, chance: float | None = 0.5) -> plt.Figure:
    """Accuracy and mean response length during RL against responses sampled, one line per ``hue``.

    Runs sharing a ``hue`` value (seeds) are drawn as their mean with a min-max band.
    ``ntp`` (optional): an NTP history with ``samples`` and ``accuracy``, drawn in grey.
    ``chance``: the accuracy of a guess, drawn dotted (None: no line, the full 0-1 axis).
    ``x="samples"`` draws an NTP history against the training sequences seen.
    """
    h = hist[hist.decoding == decoding]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, col, label in ((axes[0], "accuracy", f"{decoding} accuracy"),
                           (axes[1], "mean_len", f"{decoding} mean response length")):
        sns.lineplot(h, x=x, y=col, hue=hue, errorbar=("pi", 100), marker="o", markersize=4, ax=ax)
        if ntp is not None:
            g = ntp[ntp.decoding == decoding]
            ax.plot(g.samples, g[col], color=PAPER_COLOR, ls="--", marker="s", ms=4,
                    label="more NTP (x = sequences)")
        ax.set(xlabel={"responses": "responses sampled",
                       "samples": "training sequences seen"}.get(x, x), ylabel=label)
        ax.legend(fontsize="small", title=hue if hue != "run" else None)
    if chance is None:
        axes[0].set_ylim(-0.02, 1.02)
    else:
        axes[0].axhline(chance, color=PAPER_COLOR, ls=":", lw=1)
        axes[0].set_ylim(chance - 0.1, 1.02)
    if title:
        fig.suptitle(title)
    return finish(fig)


def star_rounds(table: pd.DataFrame) -> plt.Figure:
    """Long fraction after each STaR round: measured (sampled, T=1) vs the closed form 2p/(1+p)."""
    fig, ax = plt.subplots()
    ax.plot(table["round"], table["predicted"], color=PAPER_COLOR, marker="s", ls="--",
            label="closed form $p \\to 2p/(1+p)$ from the measured $p_0$")
    ax.plot(table["round"], table["measured"], marker="o", label="measured (sampled, T=1)")
    ax.axhline(1 / 3, color=PAPER_COLOR, ls=":", lw=1)
    ax.set(xlabel="STaR round", ylabel="long-response fraction", ylim=(0, 1.02),
           title="STaR doubles the odds of a long answer each round")
    ax.legend(loc="upper left", fontsize="small")
    return finish(fig)


def accuracy_vs_length(hist: pd.DataFrame, hue: str = "algorithm") -> plt.Figure:
    """Greedy accuracy against greedy mean response length, every evaluation of every run."""
    g = hist[hist.decoding == "greedy"]
    fig, ax = plt.subplots()
    sns.scatterplot(g, x="mean_len", y="accuracy", hue=hue, alpha=0.7, ax=ax)
    ax.axhline(0.5, color=PAPER_COLOR, ls=":", lw=1)
    ax.set(xlabel="greedy mean response length (tokens before <eos>)", ylabel="greedy accuracy",
           ylim=(0.4, 1.02), title="Accuracy comes with length")
    return finish(fig)


def _legend_right(axes) -> None:
    """One legend for panels that share their hue, right of the last panel."""
    axes[0].get_legend().remove()
    sns.move_legend(axes[-1], "upper left", bbox_to_anchor=(1.01, 1), fontsize="small", title=None)


def _positions_axis(ax, ticks) -> None:
    """Chain positions on a log axis: position 1, where RL's chains go wrong, gets room."""
    ax.set_xscale("log")
    ticks = sorted({int(k) for k in ticks})
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()


def chain_errors(positions: pd.DataFrame) -> plt.Figure:
    """Chapter 4 (ours): how often sampled long answers first go wrong at each chain position,
    one line per policy group (seeds as a min-max band)."""
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    sns.lineplot(positions, x="k", y="error", hue="group", errorbar=("pi", 100), marker="o",
                 markersize=3, ax=ax)
    d = int(positions.k.max())
    _positions_axis(ax, [k for k in (1, 2, 5, 10, 20) if k < d / 1.5] + [d])
    ax.set(xlabel="chain position k", ylabel="long answers first wrong at k",
           title="Where the sampled chain (T = 1) first goes wrong", ylim=(-0.01, None))
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1), fontsize="small", title=None)
    return finish(fig)


def interventions(table: pd.DataFrame) -> plt.Figure:
    """Chapter 4 (ours): after a forced wrong chain token at position k, how often the next token
    continues from it or from the true chain, and how often the final answer is still right."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8), sharex=True)
    for ax, col, label in ((axes[0], "follows_own", "next token continues from the forced one"),
                           (axes[1], "follows_true", "next token continues the true chain"),
                           (axes[2], "final_right", "final answer still right")):
        sns.lineplot(table, x="k", y=col, hue="group", errorbar=("pi", 100), marker="o",
                     markersize=4, ax=ax)
        _positions_axis(ax, table.k)
        ax.set(xlabel="position k of the forced wrong token", ylabel=label, ylim=(-0.02, 1.02))
    for ax in axes[:-2]:
        ax.get_legend().remove()
    _legend_right(axes[1:])
    fig.suptitle("A wrong chain token forced in: is it used?")
    return finish(fig)


def off_distribution(table: pd.DataFrame) -> plt.Figure:
    """Chapter 4 (ours): greedy accuracy and exact long answers against the prompts' bias q."""
    g = table[table.decoding == "greedy"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), sharex=True)
    for ax, col, label in ((axes[0], "accuracy", "greedy accuracy"),
                           (axes[1], "exact", "greedy long answers that are exact")):
        sns.lineplot(g, x="q", y=col, hue="group", errorbar=("pi", 100), marker="o", ax=ax)
        ax.axvline(0.5, color=PAPER_COLOR, ls=":", lw=1)
        ax.set(xlabel="P(prompt bit = 1), training: 0.5", ylabel=label, ylim=(-0.02, 1.02))
    _legend_right(axes)
    fig.suptitle("Prompts off the training distribution")
    return finish(fig)


# --- chapter 5: linear models
def linear_threshold(sweep: pd.DataFrame) -> plt.Figure:
    """Chapter 5: the linear model after NTP vs p_cot - greedy/sampled behaviour and the two
    decision probabilities, each beside its closed form."""
    p = np.linspace(0.15, 0.55, 401)
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.9))
    ax = axes[0]
    ax.plot(p, theory.greedy_long(p), color=PAPER_COLOR, lw=1.5, label="closed form: greedy long")
    ax.plot(p, theory.sampled_long(p), color=PAPER_COLOR, lw=1.5, ls="--", label="closed form: sampled long")
    sns.lineplot(sweep, x="p_cot", y="greedy_long_frac", marker="o", errorbar=("pi", 100), ax=ax,
                 label="measured: greedy long fraction")
    sns.lineplot(sweep, x="p_cot", y="greedy_accuracy", marker="s", errorbar=("pi", 100), ax=ax,
                 label="measured: greedy accuracy")
    sns.lineplot(sweep, x="p_cot", y="sampled_long_frac", marker="^", errorbar=("pi", 100), ax=ax,
                 label="measured: sampled long fraction")
    _threshold_line(ax)
    ax.set(xlabel="$p_{cot}$", ylabel="fraction", ylim=(-0.02, 1.04))
    ax.set_title("After NTP", pad=14)
    ax.legend(fontsize="x-small", loc="lower right")
    ax = axes[1]
    ax.plot(p, theory.continue_prob(p), color=PAPER_COLOR, lw=1.5, label="closed form $2p/(1+p)$")
    ax.plot(p, p + (1 - p) / 2, color=PAPER_COLOR, lw=1.5, ls="--", label="closed form $p + (1-p)/2$")
    sns.lineplot(sweep, x="p_cot", y="p_continue", marker="o", errorbar=("pi", 100), ax=ax,
                 label="measured P(continue | $b_1$)")
    sns.lineplot(sweep, x="p_cot", y="p_first_x1", marker="s", errorbar=("pi", 100), ax=ax,
                 label="measured P(first token $= x_1$)")
    ax.axhline(0.5, color=PAPER_COLOR, ls=":", lw=1)
    _threshold_line(ax)
    ax.set(xlabel="$p_{cot}$", ylabel="model probability")
    ax.set_title("The two decisions", pad=14)
    ax.legend(fontsize="x-small", loc="upper left")
    return finish(fig)


def linear_star(runs: pd.DataFrame, tolerance: float = 0.05) -> plt.Figure:
    """Chapter 5: sampled long fraction per STaR round (left) and measured vs the one-step
    closed form 2p/(1+p) from the previous round (right, with a +-tolerance band)."""
    df = runs.copy()
    df["start"] = df.p_cot.map(lambda v: f"$p_0$={v:.2g}")
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.9))
    sns.lineplot(df, x="round", y="sampled_long_frac", hue="start", marker="o", errorbar=None, ax=axes[0])
    axes[0].axhline(1 / 3, color=PAPER_COLOR, ls=":", lw=1)
    axes[0].set(xlabel="STaR round", ylabel="sampled long fraction", ylim=(-0.02, 1.02),
                title="STaR rounds")
    axes[0].legend(fontsize="x-small", title=None)
    steps = df[df["round"] > 0]
    ax = axes[1]
    ax.fill_between([0, 1], [-tolerance, 1 - tolerance], [tolerance, 1 + tolerance], color=PAPER_COLOR,
                    alpha=0.15, lw=0, label=f"closed form $\\pm${tolerance:g}")
    ax.plot([0, 1], [0, 1], color=PAPER_COLOR, lw=1)
    sns.scatterplot(steps, x="predicted_long", y="sampled_long_frac", hue="start", ax=ax, legend=False)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="closed form $2p_{r-1}/(1+p_{r-1})$",
           ylabel="measured $p_r$", title="One round: measured vs closed form")
    ax.legend(fontsize="x-small", loc="upper left")
    return finish(fig)


def linear_rounds(summary: pd.DataFrame) -> plt.Figure:
    """Chapter 5: STaR rounds to perfect greedy accuracy vs log2((1-p)/p), with the closed-form
    rounds to pass 1/3; runs that never got there are marked at the top."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    grid = np.linspace(0.2, max(summary.log2_odds.max(), 1) + 0.5, 200)
    p = 1 / (1 + 2 ** grid)
    ax.plot(grid, [theory.star_rounds_to_threshold(v) for v in p], color=PAPER_COLOR, lw=1.5,
            label="closed form: rounds until $p > 1/3$")
    ok = summary.dropna(subset=["rounds_measured"])
    ax.scatter(ok.log2_odds, ok.rounds_measured, s=60, zorder=3, label="measured: greedy accuracy reached")
    bad = summary[summary.rounds_measured.isna()]
    top = max(summary.rounds_predicted.max(), ok.rounds_measured.max() if len(ok) else 0) + 2
    if len(bad):
        ax.scatter(bad.log2_odds, np.full(len(bad), top), marker="x", s=70, color="C3", zorder=3,
                   label="not reached within the round budget")
    for _, r in summary.drop_duplicates("p_cot").iterrows():
        y = r.rounds_measured if r.rounds_measured == r.rounds_measured else top
        ax.annotate(f"$p_{{cot}}$={r.p_cot:.2g}", (r.log2_odds, y), textcoords="offset points",
                    xytext=(6, -4), ha="left", va="top", fontsize="x-small")
    ax.yaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set(xlabel="$\\log_2((1-p_{cot})/p_{cot})$", ylabel="STaR rounds", ylim=(-0.5, top + 1.5),
           title="Rounds grow like $\\log((1-p)/p)$")
    ax.legend(fontsize="x-small", loc="lower right")
    return finish(fig)


def linear_samples(samples: pd.DataFrame, slopes: pd.DataFrame, target: float, p_cot: float) -> plt.Figure:
    """Chapter 5: samples to reach a greedy accuracy vs d, log-log, with fitted power laws and the
    prompt table's closed form 2^d ln(1/(2(1-a))) extrapolated."""
    fig, ax = plt.subplots(figsize=(6.8, 4.2))
    d_all = np.array(sorted(set(samples.d)), dtype=float)
    d_line = np.geomspace(d_all.min(), d_all.max(), 100)
    for i, (learner, g) in enumerate(samples.groupby("learner", sort=False)):
        ax.scatter(g.d, g.samples, s=50, color=f"C{i}", zorder=3)
        fit = slopes[slopes.learner == learner]
        if len(fit):
            f = fit.iloc[0]
            lo, hi = g.d.min(), g.d.max()
            dd = d_line[(d_line >= lo) & (d_line <= hi)]
            ax.plot(dd, np.exp(f.loglog_intercept) * dd ** f.loglog_slope, color=f"C{i}",
                    label=f"{learner}: slope {f.loglog_slope:.2f}")
    table_n = 2.0 ** d_line * np.log(1 / (2 * (1 - target)))
    ax.plot(d_line, table_n, color=PAPER_COLOR, ls="--", lw=1,
            label="closed form for the table: $2^d \\ln\\frac{1}{2(1-a)}$")
    ax.set(xscale="log", yscale="log", xlabel="$d$ (bits)", ylabel="samples (sequences)",
           ylim=(samples.samples.min() / 3, samples.samples.max() * 30),
           title=f"Samples to reach greedy accuracy {target:g} (at $p_{{cot}}$={p_cot:g} unless named)")
    ax.set_xticks(d_all, [f"{v:g}" for v in d_all])
    ax.minorticks_off()
    ax.legend(fontsize="x-small", loc="upper left")
    return finish(fig)


# --- chapter 6: language models
def llm_curves(hist: pd.DataFrame, title: str | None = None, chance: float | None = None) -> plt.Figure:
    """Accuracy and mean response length (tokens) through SFT and then RL, greedy and sampled.

    ``hist``: an :class:`companion.llm.LLMResult` history. The x axis counts optimizer steps
    of both phases; a dashed line marks where RL starts.
    """
    h = hist[hist.decoding.isin(["greedy", "sampled"])].copy()
    sft_end = int(h[h.phase.isin(["start", "sft"])].step.max())
    h["training step"] = h.step + np.where(h.phase == "rl", sft_end, 0)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, col, label in ((axes[0], "accuracy", "accuracy"),
                           (axes[1], "mean_len", "mean response length (tokens)")):
        sns.lineplot(h, x="training step", y=col, hue="decoding", marker="o", markersize=4, ax=ax)
        ax.axvline(sft_end, color=PAPER_COLOR, ls="--", lw=1)
        ax.text(sft_end, 1.0, " RL starts", color=PAPER_COLOR, va="top", ha="left",
                transform=ax.get_xaxis_transform(), fontsize="small")
        ax.set(ylabel=label)
        ax.legend(fontsize="small")
    if chance is not None:
        axes[0].axhline(chance, color=PAPER_COLOR, ls=":", lw=1)
    axes[0].set_ylim(-0.02, 1.02)
    if title:
        fig.suptitle(title)
    return finish(fig)


def llm_rl_by_seed(runs: dict, title: str | None = None) -> plt.Figure:
    """RL of a pretrained model, one line per seed: the rollouts' accuracy (the reward) and mean
    length at each step, and the held-out greedy accuracy and length after SFT and after RL.

    ``runs``: seed -> :class:`companion.llm.LLMResult`. Rollout step k is sampled from the
    policy after k updates; the held-out points sit at 0 (after SFT) and at the last step.
    """
    roll, held = [], []
    for seed, res in runs.items():
        h = res.history
        r = h[(h.phase == "rl") & (h.decoding == "rollout")]
        roll.append(r.assign(seed=str(seed)))
        for phase in ("sft", "rl"):
            g = res.at(phase, "greedy")
            if g:
                held.append({"seed": str(seed), "step": 0 if phase == "sft" else int(r.step.max()) + 1,
                             "accuracy": g["accuracy"], "mean_len": g["mean_len"]})
    roll_df, held_df = pd.concat(roll), pd.DataFrame(held)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, col, label in ((axes[0], "accuracy", "accuracy"),
                           (axes[1], "mean_len", "mean response length (tokens)")):
        sns.lineplot(roll_df, x="step", y=col, hue="seed", marker="o", markersize=4, ax=ax)
        sns.scatterplot(held_df, x="step", y=col, hue="seed", marker="s", s=60, ax=ax,
                        legend=False, edgecolor="black")
        ax.set(xlabel="RL step", ylabel=label)
    axes[0].set_ylim(-0.02, 1.02)
    # one half of the legend per panel: as one title it ran over the second panel's label
    axes[0].set_title("lines: rollouts (training problems, T = 1)", fontsize="small")
    axes[1].set_title("squares: held-out problems, greedy", fontsize="small")
    if title:
        fig.suptitle(title)
    return finish(fig)
