"""Figures of a run or a sweep (seaborn). Each function takes tidy tables and returns a Figure.

Every figure shows distributions over replications, never a single run: lines are means over
replications and bands or bars are 95% intervals.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from sim.metrics import PUBLISHED_ESTIMATES

sns.set_theme(style="whitegrid", context="notebook")


def trajectories(kpi: pd.DataFrame, programme_months: int) -> Figure:
    """Mean change of the observed KPI in chosen topics since the kick-off, by month and scenario,
    with its 95% confidence band. `kpi` has columns scenario, run, month, kpi (one row per run
    and month); the change is taken within each run, so differences between runs' populations
    do not blur the comparison."""
    baseline = kpi[kpi["month"] == 0].set_index(["scenario", "run"])["kpi"]
    change = (
        kpi["kpi"] - baseline.reindex(pd.MultiIndex.from_frame(kpi[["scenario", "run"]])).to_numpy()
    )
    fig, ax = plt.subplots(figsize=(8, 4.5))
    sns.lineplot(kpi.assign(change=change), x="month", y="change", hue="scenario", ax=ax)
    ax.axvline(programme_months, color="grey", linestyle="--", linewidth=1)
    ax.text(programme_months, 0, " end of programme", color="grey", va="bottom")
    ax.set(xlabel="month since kick-off", ylabel="change in observed KPI (points)")
    ax.set_title("Chosen topics: mean change since baseline, 95% confidence band")
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1, 1), fontsize="small")
    return fig


def estimator_distribution(summary: pd.DataFrame) -> Figure:
    """The article's estimator across replications per scenario, against the published value."""
    topics = [t for t in PUBLISHED_ESTIMATES if f"{t}_estimate" in summary]
    fig, axes = plt.subplots(1, len(topics), figsize=(6 * len(topics), 4.5), squeeze=False)
    for ax, topic in zip(axes[0], topics, strict=True):
        sns.kdeplot(summary, x=f"{topic}_estimate", hue="scenario", common_norm=False, ax=ax)
        sns.move_legend(ax, "upper left", fontsize="x-small")
        ax.axvline(PUBLISHED_ESTIMATES[topic], color="black", linestyle="--", linewidth=1)
        ax.text(PUBLISHED_ESTIMATES[topic], ax.get_ylim()[1] * 0.95, " published", va="top")
        ax.set(xlabel=f"{topic}: choosers minus others (points)", ylabel="density")
    fig.suptitle("The article's estimator across replications")
    fig.tight_layout()
    return fig


def cost_vs_gain(summary: pd.DataFrame) -> Figure:
    """Total cost against programme effect per scenario: means with 95% confidence intervals.

    When designs vary, each design has one colour, and where its scenarios differ in cost (say,
    budgets) they are joined by a line in order of cost: a cost-effectiveness frontier.
    """
    by = "design" if summary["design"].nunique() > 1 else "scenario"
    keys = list(dict.fromkeys([by, "scenario"]))
    stats = summary.groupby(keys, sort=False)[["total_cost", "mean_effect"]]
    mean, half = stats.mean(), 1.96 * stats.sem()
    groups = mean.index.unique(by)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, colour in zip(groups, sns.color_palette(n_colors=len(groups)), strict=True):
        rows = mean.loc[[name]].sort_values("total_cost")
        err = half.loc[rows.index]
        ax.errorbar(
            rows["total_cost"] / 1000,
            rows["mean_effect"],
            xerr=err["total_cost"] / 1000,
            yerr=err["mean_effect"],
            fmt="o-" if by == "design" and rows["total_cost"].round(-3).is_unique else "o",
            color=colour,
            label=name,
            capsize=3,
        )
    ax.set(xlabel="total cost (thousand USD)", ylabel="effect in chosen topics (points)")
    ax.set_title("Cost against gain (95% confidence intervals)")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1, 1))
    return fig


def grid_heatmap(summary: pd.DataFrame, rows: str, columns: str, value: str) -> Figure:
    """Mean of `value` over replications on a two-factor grid."""
    table = summary.pivot_table(index=rows, columns=columns, values=value, aggfunc="mean")
    fig, ax = plt.subplots(figsize=(7, 5.5))
    sns.heatmap(table.sort_index(ascending=False), annot=True, fmt=".2f", cmap="viridis", ax=ax)
    ax.set_title(f"{value}: mean over replications")
    return fig


def design_ranking(summary: pd.DataFrame, x: str, facet: str | None, measures: list[str]) -> Figure:
    """Each design's mean of every measure against condition `x` (one panel per value of
    `facet`), with 95% confidence intervals: where lines cross, the ranking changes."""
    long = summary[summary["design"] != "none"].melt(
        id_vars=[c for c in ("design", x, facet) if c], value_vars=measures, var_name="measure"
    )
    grid = sns.relplot(
        long,
        x=x,
        y="value",
        hue="design",
        row="measure",
        col=facet,
        kind="line",
        marker="o",
        errorbar=("se", 1.96),  # the normal 95% interval, as in the tables
        facet_kws={"sharey": "row", "margin_titles": True},
        height=2.6,
        aspect=1.2,
    )
    short = (facet or "").rpartition(".")[2]
    grid.set_titles(row_template="{row_name}", col_template=short + " = {col_name}")
    grid.set_ylabels("")
    grid.set_xlabels(x.rpartition(".")[2])
    for measure, axes in zip(measures, grid.axes, strict=True):
        if measure == "cost_per_point":  # ratios explode where effects are small
            axes[0].set_yscale("log")
    grid.figure.suptitle("Designs by condition: means over replications, 95% intervals", y=1.01)
    return grid.figure


def save(fig: Figure, folder, name: str) -> list[str]:
    """Write PNG and SVG; return the file names."""
    files = [f"{name}.png", f"{name}.svg"]
    for file in files:
        fig.savefig(folder / file, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return files


def numeric(values: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(values)) and bool(np.isfinite(values).all())
