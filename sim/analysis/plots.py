"""Figures of a run or a sweep (seaborn). Each function takes tidy tables and returns a Figure.

Every figure shows distributions over replications, never a single run: lines are means over
replications and bands or bars are 95% intervals. Axes are titled in words with units
(sim.analysis.outcomes), money has thousands separators, and legends sit outside the plotting area,
so a figure can go into a paper as it is.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from sim.analysis.network_plot import draw_network  # noqa: F401  (re-exported: every figure in one place)
from sim.analysis.outcomes import axis_title, is_money, label, value_text
from sim.core.metrics import PUBLISHED_ESTIMATES

sns.set_theme(style="whitegrid", context="notebook")

MONEY = FuncFormatter(lambda value, _: f"{value:,.0f}")  # 220000 -> "220,000"


def money_axis(axis: Axis, log: bool = False) -> None:
    """Thousands separators on an axis of money, with few ticks so that the long labels
    ("150,000") do not run into each other even on a narrow panel; on a log scale, ticks at
    1, 2 and 5 times each power of ten, so that every label reads as an amount ("2,000"),
    never as "2x10^3"."""
    if log:
        axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.set_minor_formatter(NullFormatter())
    else:
        axis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
    axis.set_major_formatter(MONEY)


def money_ticks(ax: Axes, x: str, y: str) -> None:
    """Money formatting on whichever of the axes shows column `x` or `y` in USD."""
    for column, axis in ((x, ax.xaxis), (y, ax.yaxis)):
        if is_money(column):
            money_axis(axis, log=axis.get_scale() == "log")


def title_axes(ax: Axes, x: str, y: str) -> None:
    """Axis titles in words with units for columns `x` and `y`, and money formatting."""
    ax.set(xlabel=axis_title(x), ylabel=axis_title(y))
    money_ticks(ax, x, y)


# To the right of the plotting area, where a legend hides no data.
OUTSIDE = {"loc": "upper left", "bbox_to_anchor": (1.02, 1), "fontsize": "small"}


def trajectories(
    kpi: pd.DataFrame,
    programme_months: int,
    legend: str = "scenario",
    title: str = "Chosen topics",
) -> Figure:
    """Mean change of the observed KPI (in chosen topics, or as `title` says) since the kick-off,
    by month and scenario, with its 95% confidence band. `kpi` has columns scenario, run, month,
    kpi (one row per run and month); the change is taken within each run, so differences
    between runs' populations do not blur the comparison. `legend` titles the scenarios (e.g.
    'network design', or 'topics' for chosen against other topics)."""
    baseline = kpi[kpi["month"] == 0].set_index(["scenario", "run"])["kpi"]
    change = (
        kpi["kpi"] - baseline.reindex(pd.MultiIndex.from_frame(kpi[["scenario", "run"]])).to_numpy()
    )
    fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
    sns.lineplot(kpi.assign(change=change), x="month", y="change", hue="scenario", ax=ax)
    ax.axvline(programme_months, color="grey", linestyle="--", linewidth=1)
    ax.text(programme_months, 0, " end of programme", color="grey", va="bottom")
    ax.set(xlabel="month since kick-off", ylabel="change in observed KPI (points)")
    ax.set_title(f"{title}: mean change since baseline, 95% confidence band")
    sns.move_legend(ax, title=legend, **OUTSIDE)
    return fig


def estimator_distribution(summary: pd.DataFrame, legend: str = "scenario") -> Figure:
    """The article's estimator across replications per scenario (density and one tick per
    replication), against the published value; one legend for all panels."""
    topics = [t for t in PUBLISHED_ESTIMATES if f"{t}_estimate" in summary]
    fig, axes = plt.subplots(
        1, len(topics), figsize=(6 * len(topics) + 2, 4.5), squeeze=False, layout="constrained"
    )
    scenarios = summary["scenario"].unique()
    colours = dict(zip(scenarios, sns.color_palette(n_colors=len(scenarios)), strict=True))
    for ax, topic in zip(axes[0], topics, strict=True):
        column = f"{topic}_estimate"
        for scenario, rows in summary.groupby("scenario", sort=False):
            values = rows[column].dropna()
            sns.kdeplot(x=values, color=colours[scenario], warn_singular=False, ax=ax)
            sns.rugplot(x=values, color=colours[scenario], height=0.04, ax=ax)
        ax.axvline(PUBLISHED_ESTIMATES[topic], color="black", linestyle="--", linewidth=1)
        ax.text(PUBLISHED_ESTIMATES[topic], ax.get_ylim()[1] * 0.95, " published", va="top")
        ax.set(xlabel=axis_title(column), ylabel="density over replications")
    handles = [Line2D([], [], color=colours[s]) for s in scenarios]
    fig.legend(handles, scenarios, loc="outside right upper", title=legend, fontsize="small")
    fig.suptitle("The article's estimator across replications")
    return fig


def cost_vs_gain(summary: pd.DataFrame, legend: str = "scenario") -> Figure:
    """Total cost against programme effect per scenario: means with 95% confidence intervals.

    When designs vary, each design has one colour, and where its scenarios differ in cost (say,
    budgets) they are joined by a line in order of cost: a cost-effectiveness frontier.
    """
    by = "design" if summary["design"].nunique() > 1 else "scenario"
    keys = list(dict.fromkeys([by, "scenario"]))
    stats = summary.groupby(keys, sort=False)[["total_cost", "mean_effect"]]
    mean, half = stats.mean(), 1.96 * stats.sem()
    groups = mean.index.unique(by)
    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    for name, colour in zip(groups, sns.color_palette(n_colors=len(groups)), strict=True):
        rows = mean.loc[[name]].sort_values("total_cost")
        err = half.loc[rows.index]
        ax.errorbar(
            rows["total_cost"],
            rows["mean_effect"],
            xerr=err["total_cost"],
            yerr=err["mean_effect"],
            fmt="o-" if by == "design" and rows["total_cost"].round(-3).is_unique else "o",
            color=colour,
            label=name,
            capsize=3,
        )
    title_axes(ax, "total_cost", "mean_effect")
    ax.set_title("Cost against gain (95% confidence intervals)")
    ax.legend(title=label("design") if by == "design" else legend, **OUTSIDE)
    return fig


def grid_heatmap(summary: pd.DataFrame, rows: str, columns: str, value: str) -> Figure:
    """Mean of `value` over replications on a two-factor grid."""
    table = summary.pivot_table(index=rows, columns=columns, values=value, aggfunc="mean")
    table = table.sort_index(ascending=False)
    fig, ax = plt.subplots(figsize=(7, 5.5), layout="constrained")
    sns.heatmap(
        table,
        annot=True,
        fmt=",.0f" if is_money(value) else ".2f",
        cmap="viridis",
        cbar_kws={"label": axis_title(value), "format": MONEY if is_money(value) else None},
        ax=ax,
    )
    ax.set_xticklabels([value_text(columns, v) for v in table.columns])
    ax.set_yticklabels([value_text(rows, v) for v in table.index], rotation=0)
    ax.set(xlabel=axis_title(columns), ylabel=axis_title(rows))
    ax.set_title(f"{label(value).capitalize()}: mean over replications")
    return fig


def design_ranking(summary: pd.DataFrame, x: str, facet: str | None, measures: list[str]) -> Figure:
    """Each design's mean of every measure against condition `x` (one row of panels per measure,
    one column per value of `facet`), with 95% confidence intervals: where lines cross, the
    ranking changes. Panels without data are dropped."""
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
        height=3,
        aspect=1.1,
    )
    value = "{col_name:,.0f}" if facet and is_money(facet) else "{col_name}"
    grid.set_titles(row_template="", col_template=f"{label(facet or '')} = {value}")
    for ax in grid.axes.flat:  # wrapped to the panel's width, so that titles do not collide
        ax.set_title(textwrap.fill(ax.get_title(), 28))
    grid.legend.set_title(label("design"))
    for measure, axes in zip(measures, grid.axes, strict=True):
        if measure == "cost_per_point":  # ratios explode where effects are small
            axes[0].set_yscale("log")
    title_panels(grid.axes, x, measures)
    grid.tight_layout()  # again: the axis titles are longer than seaborn's
    grid.figure.suptitle("Designs by condition: means over replications, 95% intervals", y=1.01)
    return grid.figure


def title_panels(axes: np.ndarray, x: str, measures: list[str]) -> None:
    """Drop panels without data; title the y axis of each row's first panel with its measure and
    the x axis of each column's lowest panel with the condition, with tick labels there (the
    panels of a row share their y axis, those of a column their x axis)."""
    empty = {ax for ax in axes.flat if not ax.has_data()}
    for ax in empty:
        ax.remove()
    for measure, row in zip(measures, axes, strict=True):
        shown = [ax for ax in row if ax not in empty]
        for ax in shown:
            money_ticks(ax, x, measure)
            first = ax is shown[0]
            ax.set(xlabel="", ylabel=textwrap.fill(axis_title(measure), 24) if first else "")
            ax.tick_params(labelleft=first)
    for column in axes.T:
        shown = [ax for ax in column if ax not in empty]
        if shown:
            shown[-1].set_xlabel(textwrap.fill(axis_title(x), 24))
            shown[-1].tick_params(labelbottom=True)


def save(fig: Figure, folder, name: str) -> list[str]:
    """Write PNG and SVG; return the file names."""
    files = [f"{name}.png", f"{name}.svg"]
    for file in files:
        fig.savefig(folder / file, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return files


def numeric(values: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(values)) and bool(np.isfinite(values).all())
