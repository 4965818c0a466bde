"""Figures (sim.plots, sim.analysis.network_plot) opened as matplotlib objects and checked for what
a paper needs: axes titled in words, money in thousands, no empty panels, legends off the data.

The tables come from real runs of the model (small, in-process) or, for the 500-member network,
from a synthetic population with a type the model does not have.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.ticker import FixedLocator
from matplotlib.transforms import Bbox

import sim
from sim import plots
from sim.analysis.network_plot import draw_network
from sim.analysis.ranking import RANKED_MEASURES
from sim.core.run import run_summaries

RAW = re.compile(r"[_=]")  # column names and overrides: mean_effect, network=tpn
BUDGETS = [110000.0, 220000.0]
SPREADS = [0.5, 1.5]


# --- what every figure must satisfy -------------------------------------------------------------


def colourbars(fig: Figure) -> list[Axes]:
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


def axis_label(ax: Axes, which: str) -> str:
    """The axis title of `ax`, or, in a grid of panels sharing that axis (titled once per row
    or column, as is usual), the title a sibling panel shows for it."""
    shared = ax.get_shared_x_axes() if which == "x" else ax.get_shared_y_axes()
    panels = [ax, *(a for a in shared.get_siblings(ax) if a in ax.figure.axes)]
    return next((t for a in panels if (t := getattr(a, f"get_{which}label")())), "")


def overlap(a: Bbox, b: Bbox) -> float:
    """Area (pixels^2) that two boxes share."""
    both = Bbox.intersection(a, b)
    return 0.0 if both is None else both.width * both.height


def legend_problems(fig: Figure) -> list[str]:
    """Legends (of axes, also those kept as artists beside a second one, or of the figure)
    that cover part of any plotting area."""
    renderer = fig.canvas.get_renderer()
    legends = [a for ax in fig.axes for a in ax.artists if isinstance(a, Legend)]
    legends += [ax.get_legend() for ax in fig.axes if ax.get_legend()] + fig.legends
    return [
        f"legend {legend.get_title().get_text()!r} covers axes {ax.get_title()!r}"
        for legend in legends
        for ax in fig.axes
        if overlap(legend.get_window_extent(renderer), ax.get_window_extent(renderer)) > 1
    ]


def money_problems(ax: Axes) -> list[str]:
    """Axes titled in USD must print amounts with thousands separators ("1,000"): numeric axes
    by their formatter, categorical ones (a heatmap's, with fixed ticks) by their labels."""
    problems = []
    for axis in (ax.xaxis, ax.yaxis):
        if "USD" not in axis.get_label().get_text():
            continue
        numeric = not isinstance(axis.get_major_locator(), FixedLocator)
        if numeric and axis.get_major_formatter()(1000, 0) != "1,000":
            problems.append(f"{axis.get_label().get_text()!r}: 1000 is not printed as 1,000")
        for tick in axis.get_ticklabels():
            digits = tick.get_text().replace(",", "")
            if digits.isdigit() and int(digits) >= 1000 and "," not in tick.get_text():
                problems.append(f"{axis.get_label().get_text()!r}: tick {tick.get_text()!r}")
    return problems


def text_problems(fig: Figure) -> list[str]:
    """Tick labels of one axis, or axis and panel titles of different panels, that run into
    each other."""
    renderer = fig.canvas.get_renderer()
    shown = [ax for ax in fig.axes if ax.axison]
    groups = [axis.get_ticklabels() for ax in shown for axis in (ax.xaxis, ax.yaxis)]
    groups.append([t for ax in shown for t in (ax.xaxis.label, ax.yaxis.label, ax.title)])
    problems = []
    for texts in groups:
        boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts if t.get_text()]
        problems += [
            f"{a!r} runs into {b!r}"
            for i, (a, box) in enumerate(boxes)
            for b, other in boxes[i + 1 :]
            if overlap(box, other) > 1
        ]
    return problems


def figure_problems(fig: Figure) -> list[str]:
    """Everything that keeps the figure out of a paper; [] if nothing does."""
    fig.canvas.draw()
    problems = [f"empty axes {ax.get_title()!r}" for ax in fig.axes if not ax.has_data()]
    for ax in fig.axes:
        if ax in colourbars(fig):
            titles = [ax.get_xlabel() + ax.get_ylabel()]
        elif ax.axison:
            titles = [axis_label(ax, "x"), axis_label(ax, "y")]
        else:  # a drawing without axes (the network)
            titles = []
        problems += [
            f"axes {ax.get_title()!r}: title {t!r}" for t in titles if not t or RAW.search(t)
        ]
        problems += money_problems(ax)
    return problems + legend_problems(fig) + text_problems(fig)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_the_checks_find_what_they_look_for() -> None:
    """A raw column name, a legend on the data, an empty panel, money without separators and
    crowded tick labels are each reported."""
    fig, (ax, crowded) = plt.subplots(1, 2)
    ax.plot([0, 5000], [0, 1], label="tpn")
    ax.set(xlabel="total cost (USD)", ylabel="mean_effect")
    ax.legend(loc="center")
    crowded.set_xticks([0, 1, 2], ["a long tick label", "another long one", "and a third"])
    problems = figure_problems(fig)
    assert any("'mean_effect'" in p for p in problems)
    assert any(p.startswith("legend") for p in problems)
    assert any(p.startswith("empty axes") for p in problems)
    assert any("1000 is not printed as 1,000" in p for p in problems)
    assert any("runs into" in p for p in problems)


# --- figures of the report ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def grid_summary() -> pd.DataFrame:
    """Summaries of real runs: three designs x two budgets x two capacity spreads, three
    paired replications each, labelled by scenario as the report labels them."""
    frames = []
    base = sim.ScenarioConfig(replications=3, seed=5)
    for design in ("tpn", "external_expert", "none"):
        for budget in BUDGETS:
            for spread in SPREADS:
                config = replace(
                    base,
                    network=replace(base.network, design=design),
                    costs=replace(base.costs, budget=budget),
                    population=replace(base.population, capacity_spread=spread),
                )
                frames.append(
                    run_summaries(config).assign(
                        network=design,
                        **{"costs.budget": budget, "population.capacity_spread": spread},
                        scenario=f"{design}, {budget:,.0f}, {spread}",
                    )
                )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def kpi(small_runs) -> pd.DataFrame:
    """Mean observed KPI in chosen topics per run and month, per design (as the report reads)."""
    frames = []
    for design in ("tpn", "none"):
        panel = small_runs[design].panel
        mean = panel[panel["goal"]].groupby(["run", "month"], as_index=False)["kpi"].mean()
        frames.append(mean.assign(scenario=design))
    return pd.concat(frames, ignore_index=True)


def one_budget(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[summary["costs.budget"] == BUDGETS[1]]


FIGURES = {
    "trajectories": lambda s, k: plots.trajectories(k, 18, "network design"),
    "estimator": lambda s, k: plots.estimator_distribution(s, "scenario"),
    "cost_vs_gain by design": lambda s, k: plots.cost_vs_gain(s),
    "cost_vs_gain by scenario": lambda s, k: plots.cost_vs_gain(s[s["network"] == "tpn"]),
    "heatmap of effects": lambda s, k: plots.grid_heatmap(
        s[s["network"] == "tpn"], "population.capacity_spread", "costs.budget", "mean_effect"
    ),
    "heatmap of costs": lambda s, k: plots.grid_heatmap(
        s[s["network"] == "tpn"], "costs.budget", "population.capacity_spread", "total_cost"
    ),
    "ranking by spread, per budget": lambda s, k: plots.design_ranking(
        s, "population.capacity_spread", "costs.budget", RANKED_MEASURES
    ),
    "ranking by budget, per spread": lambda s, k: plots.design_ranking(
        s, "costs.budget", "population.capacity_spread", RANKED_MEASURES
    ),
    "ranking by budget": lambda s, k: plots.design_ranking(
        s[s["population.capacity_spread"] == SPREADS[0]], "costs.budget", None, RANKED_MEASURES
    ),
}


@pytest.mark.parametrize("name", FIGURES)
def test_report_figures_are_fit_for_a_paper(name: str, grid_summary, kpi) -> None:
    fig = FIGURES[name](grid_summary, kpi)
    assert figure_problems(fig) == []


def test_money_axes_read_in_thousands(grid_summary) -> None:
    """Costs in USD, not thousands of USD, printed like 200,000; the log axis of cost per point
    too (never as 10^3)."""
    fig = plots.cost_vs_gain(one_budget(grid_summary))
    fig.canvas.draw()
    (ax,) = fig.axes
    assert ax.get_xlabel() == "total cost (USD)"
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert "200,000" in ticks, ticks
    fig = plots.design_ranking(grid_summary, "costs.budget", None, ["cost_per_point"])
    fig.canvas.draw()
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    assert ax.get_ylabel().replace("\n", " ") == "cost per point gained (USD per point)"
    shown = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert shown and all(re.fullmatch(r"\d{1,3}(,\d{3})*", t) for t in shown), shown
    assert ax.get_xlabel() == "budget (USD)"


def test_legends_name_values_under_a_title_in_words(grid_summary, kpi) -> None:
    fig = plots.trajectories(kpi, 18, "network design")
    legend = fig.axes[0].get_legend()
    assert legend.get_title().get_text() == "network design"
    assert [t.get_text() for t in legend.get_texts()] == ["tpn", "none"]
    legend = plots.cost_vs_gain(grid_summary).axes[0].get_legend()
    assert legend.get_title().get_text() == "network design"
    assert {t.get_text() for t in legend.get_texts()} == {"tpn", "external_expert", "none"}


def test_ranking_drops_panels_without_data(grid_summary) -> None:
    """Where a measure is undefined for a whole panel (no cost per point at the lower budget
    here), the panel is dropped, and its row is still titled on the first panel left."""
    summary = grid_summary.copy()
    summary.loc[summary["costs.budget"] == BUDGETS[0], "cost_per_point"] = np.nan
    fig = plots.design_ranking(
        summary, "population.capacity_spread", "costs.budget", RANKED_MEASURES
    )
    assert len(fig.axes) == 2 * len(RANKED_MEASURES) - 1
    assert figure_problems(fig) == []
    costs = [ax for ax in fig.axes if "cost per point" in ax.get_ylabel().replace("\n", " ")]
    (column,) = [ax for ax in fig.axes if ax.get_title().endswith("= 220,000")]
    assert len(costs) == 1 and costs[0].get_position().x0 == column.get_position().x0


# --- the network drawing ------------------------------------------------------------------------


def node_count(fig: Figure) -> int:
    ax = fig.axes[0]
    return sum(len(c.get_offsets()) for c in ax.collections if c.get_gid() == "nodes")


def tie_count(fig: Figure) -> int:
    ax = fig.axes[0]
    arrows = [p for p in ax.patches if p.get_gid() == "ties"]
    lines = [c for c in ax.collections if c.get_gid() == "ties"]
    return len(arrows) + sum(len(c.get_segments()) for c in lines)


def member_colours(fig: Figure) -> np.ndarray:
    """The colours of member nodes as drawn (RGBA per node)."""
    fig.canvas.draw()
    ax = fig.axes[0]
    nodes = [c for c in ax.collections if c.get_gid() == "nodes" and c.get_array() is not None]
    return np.concatenate([c.get_facecolors() for c in nodes])


@pytest.fixture(scope="module")
def scenario_runs() -> dict[str, sim.Results]:
    """The default Rwanda scenario, two replications, with peers and with outside experts."""
    base = sim.ScenarioConfig(replications=2)
    return {
        design: sim.run_scenario(replace(base, network=replace(base.network, design=design)))
        for design in ("tpn", "external_expert")
    }


@pytest.mark.parametrize("design", ["tpn", "external_expert"])
def test_network_of_the_default_scenario(scenario_runs, design: str) -> None:
    """Every member and expert is one node, every matched goal one arrow, each member named."""
    results = scenario_runs[design]
    ties = results.ties[results.ties["run"] == 1]
    members = results.panel.loc[results.panel["run"] == 1, "institution"].nunique()
    experts = ties.loc[ties["teacher_kind"] == "expert", "teacher"].nunique()
    assert (experts > 0) == (design == "external_expert")
    fig = draw_network(results.ties, results.panel, run=1)
    assert node_count(fig) == members + experts == 40 + experts
    assert tie_count(fig) == (ties["status"] == "matched").sum()
    names = {t.get_text() for t in fig.axes[0].texts}
    assert set(results.panel["institution"]) <= names
    assert figure_problems(fig) == []


def test_network_colours_members_by_capacity_or_gain(scenario_runs) -> None:
    results = scenario_runs["tpn"]
    capacity = draw_network(results.ties, results.panel)
    gain = draw_network(results.ties, results.panel, color_by="gain", end_month=18)
    assert capacity.axes[1].get_xlabel() == "baseline capacity, mean over topics (points)"
    assert gain.axes[1].get_xlabel() == "gain in goal topics, month 0 to 18 (points)"
    assert member_colours(capacity).shape == member_colours(gain).shape == (40, 4)
    assert not np.allclose(member_colours(capacity), member_colours(gain))
    with pytest.raises(ValueError, match="color_by='kpi' is invalid"):
        draw_network(results.ties, results.panel, color_by="kpi")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"end_month=31 is invalid: allowed a month in \[1, 30\]"):
        draw_network(results.ties, results.panel, color_by="gain", end_month=31)


@pytest.mark.parametrize("members", [40, 500])
def test_network_without_ties(small_runs, members: int) -> None:
    """No programme (design none): members only, no lines, and no topic to list."""
    if members == 40:
        ties, panel = small_runs["none"].ties, small_runs["none"].panel
    else:
        ties, panel = synthetic_network(members, experts=1)
        ties = ties.iloc[:0]
    fig = draw_network(ties, panel)
    assert node_count(fig) == members and tie_count(fig) == 0
    assert figure_problems(fig) == []


def synthetic_network(members: int, experts: int, seed: int = 0):
    """(ties, panel) of one run of `members` institutions in five provinces, most of them of a
    type the model does not have (health centres): one goal each, taught by a peer of the same
    type or, for half the hospitals, by one of `experts` outside experts."""
    rng = np.random.default_rng(seed)
    topics = {
        "hospital": ["accreditation", "infection_prevention"],
        "district": ["cbhi_coverage", "supervision"],
        "health_centre": ["antenatal_care", "immunisation"],
    }
    kinds = rng.choice(list(topics), size=members, p=[0.1, 0.1, 0.8])
    provinces = rng.choice(["Eastern", "Kigali City", "Northern", "Southern", "Western"], members)
    names = np.array([f"{kind} {i}" for i, kind in enumerate(kinds)])
    panel, ties = [], []
    for name, kind, province in zip(names, kinds, provinces, strict=True):
        goal = rng.choice(topics[kind])
        for topic in topics[kind]:
            start = rng.uniform(40, 80)
            for month, capacity in ((0, start), (18, start + rng.normal(4, 3))):
                panel.append((0, month, name, kind, province, topic, capacity, topic == goal))
        if kind == "hospital" and rng.random() < 0.5:
            teacher, teacher_kind = f"expert {rng.integers(experts) + 1}", "expert"
        else:
            teacher, teacher_kind = rng.choice(names[(kinds == kind) & (names != name)]), "peer"
        ties.append((0, name, teacher, teacher_kind, goal, "matched", kind))
    panel_columns = ["run", "month", "institution", "type", "province", "topic", "capacity", "goal"]
    ties_columns = ["run", "learner", "teacher", "teacher_kind", "topic", "status", "type"]
    return pd.DataFrame(ties, columns=ties_columns), pd.DataFrame(panel, columns=panel_columns)


def test_network_of_500_members_of_three_types() -> None:
    """Readable at 500: every node drawn, small; no member names (provinces only); thin
    translucent lines; the types in the legend are the data's."""
    ties, panel = synthetic_network(500, experts=4)
    experts = ties.loc[ties["teacher_kind"] == "expert", "teacher"].nunique()
    started = time.perf_counter()
    fig = draw_network(ties, panel, color_by="gain")
    fig.canvas.draw()
    print(f"draw_network at 500 members, drawn and rendered: {time.perf_counter() - started:.2f} s")
    assert node_count(fig) == 500 + experts
    assert tie_count(fig) == len(ties)
    ax = fig.axes[0]
    assert len(ax.texts) == panel["province"].nunique() > 1  # province names only
    assert max(c.get_sizes()[0] for c in ax.collections if c.get_gid() == "nodes") <= 16
    (lines,) = [c for c in ax.collections if c.get_gid() == "ties"]
    assert lines.get_alpha() < 0.5 and max(lines.get_linewidths()) < 0.5
    (types,) = [
        a for a in ax.artists if isinstance(a, Legend) and a.get_title().get_text() == "type"
    ]
    kinds = {t.get_text() for t in types.get_texts()}
    assert kinds == {"hospital", "district", "health centre", "outside expert"}
    assert figure_problems(fig) == []
