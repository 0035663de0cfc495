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
                         "axes.titlesize": "medium"})


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


def accuracy_vs_samples(history: pd.DataFrame, hue: str = "p_cot") -> plt.Figure:
    """Chapter 2: greedy accuracy during NTP against training samples seen."""
    g = history[history.decoding == "greedy"].copy()
    g[hue] = g[hue].map(lambda v: f"{v:g}") if g[hue].dtype.kind == "f" else g[hue]
    fig, ax = plt.subplots()
    sns.lineplot(g, x="samples", y="accuracy", hue=hue, marker="o", ax=ax)
    ax.axhline(0.5, color=PAPER_COLOR, ls=":", lw=1)
    ax.set(ylim=(0.4, 1.02), xlabel="training samples seen", ylabel="greedy accuracy",
           title="Next-token prediction alone, p_cot < 1/3")
    ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
    return finish(fig)


# --- chapters 3-4: RL
def rl_curves(hist: pd.DataFrame, hue: str = "algorithm", x: str = "responses",
              decoding: str = "greedy", title: str | None = None,
              ntp: pd.DataFrame | None = None) -> plt.Figure:
    """Accuracy and mean response length during RL against responses sampled, one line per ``hue``.

    Runs sharing a ``hue`` value (seeds) are drawn as their mean with a min-max band.
    ``ntp`` (optional): an NTP history with ``samples`` and ``accuracy``, drawn in grey.
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
        ax.set(xlabel="responses sampled" if x == "responses" else x, ylabel=label)
        ax.legend(fontsize="small", title=hue if hue != "run" else None)
    axes[0].axhline(0.5, color=PAPER_COLOR, ls=":", lw=1)
    axes[0].set_ylim(0.4, 1.02)
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
