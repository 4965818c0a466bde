"""Who twins with whom: one replication's learning ties drawn as a network (networkx).

The layout is fixed, not a spring layout (slow, and different on every call): provinces are
sectors of a circle, sized by their members; institution types are rings, the type with fewest
members innermost; outside experts sit in the centre. Types, provinces and topics are read from
the tables, so a population with other types (say, health centres) is drawn the same way.
"""

from __future__ import annotations

import math
from typing import Literal

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.analysis.outcomes import words

MARKERS = "osD^vph8<>"  # node shape per type, in ring order (repeated beyond ten types)
EXPERT = "X"  # node shape of outside experts
LABELLED = 60  # members up to which every node is named
RING_GAP, BAND = 1.0, 0.7  # distance between rings; depth of a ring crowded with members
INNER = 1.2  # radius of the innermost ring; experts sit inside it


def draw_network(
    ties: pd.DataFrame,
    panel: pd.DataFrame,
    run: int = 0,
    color_by: Literal["capacity", "gain"] = "capacity",
    ax: Axes | None = None,
    end_month: int | None = None,
) -> Figure:
    """Draw replication `run`: every member (by province and type) and outside expert, an arrow
    from teacher to learner per matched learning goal, coloured by topic. Members are coloured
    by baseline capacity (mean over their topics at month 0) or by gain (capacity at `end_month`,
    by default the panel's last month, minus month 0, mean over their goal topics). Pass the
    tables of one run folder (`sim.results.store.load(folder, "ties")` and `"panel"`)."""
    if color_by not in ("capacity", "gain"):
        raise ValueError(f"color_by={color_by!r} is invalid: allowed 'capacity' or 'gain'")
    panel = panel[panel["run"] == run]
    ties = ties[(ties["run"] == run) & (ties["status"] == "matched")]
    members = member_table(panel)
    graph = tie_graph(ties, members)
    pos = layout(members, experts_of(ties))
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 9), layout="constrained")
    values, title = node_values(panel, members, color_by, end_month)
    mappable = draw_members(graph, pos, members, values, ax)
    draw_ties(graph, pos, ties, len(members), ax)
    annotate(pos, members, ax)
    design = f" under design {ties['design'].iloc[0]}" if "design" in ties and len(ties) else ""
    ax.set_title(f"Learning ties of replication {run}{design}: teacher to learner")
    ax.figure.colorbar(mappable, ax=ax, location="bottom", shrink=0.5, pad=0.02, label=title)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax.figure


def member_table(panel: pd.DataFrame) -> pd.DataFrame:
    """One row per member (index: institution) with its province and type, from month 0."""
    baseline = panel[panel["month"] == 0]
    if baseline.duplicated(["institution", "topic"]).any():
        raise ValueError("the panel holds several runs' rows for one run: pass one job's tables")
    first = baseline.groupby("institution", observed=True)[["province", "type"]].first()
    return first.astype(str)


def experts_of(ties: pd.DataFrame) -> list[str]:
    return sorted(ties.loc[ties["teacher_kind"] == "expert", "teacher"].unique())


def tie_graph(ties: pd.DataFrame, members: pd.DataFrame) -> nx.MultiDiGraph:
    """Members and experts as nodes, one edge per matched goal from teacher to learner (a pair
    twinning in two topics has two edges)."""
    graph = nx.MultiDiGraph()
    graph.add_nodes_from(members.index, kind="member")
    graph.add_nodes_from(experts_of(ties), kind="expert")
    strangers = (set(ties["learner"]) | set(ties["teacher"])) - set(graph)
    if strangers:
        raise ValueError(f"ties name {sorted(strangers)[:3]}, not in the panel of that run")
    for tie in ties.itertuples():
        graph.add_edge(tie.teacher, tie.learner, topic=tie.topic)
    return graph


def ring_order(members: pd.DataFrame) -> list[str]:
    """Types from fewest to most members (then by name): small rings inside, where there is
    least room."""
    counts = members["type"].value_counts()
    return sorted(counts.index, key=lambda t: (counts[t], t))


def sectors(members: pd.DataFrame) -> list[tuple[str, float, float]]:
    """(province, start angle, end angle): provinces in name order, sized by their members."""
    sizes = members["province"].value_counts().sort_index()
    edges = np.concatenate([[0], np.cumsum(sizes.to_numpy())]) / sizes.sum() * 2 * math.pi
    return list(zip(sizes.index, edges[:-1], edges[1:], strict=True))


def outer_radius(members: pd.DataFrame) -> float:
    """Radius just outside the outermost ring's band."""
    return INNER + (members["type"].nunique() - 1) * RING_GAP + BAND / 2


def layout(members: pd.DataFrame, experts: list[str]) -> dict[str, np.ndarray]:
    """Node positions: a sector per province, a ring per type; a crowded ring cell is filled in
    several rows across its band, so that nodes stay evenly spaced at 500 members as at 40.
    Experts on a small circle in the centre."""
    pos: dict[str, np.ndarray] = {}
    for ring, kind in enumerate(ring_order(members)):
        radius = INNER + ring * RING_GAP
        for province, start, end in sectors(members):
            cell = members[(members["province"] == province) & (members["type"] == kind)]
            pos |= place(sorted(cell.index), radius, start, end)
    for i, expert in enumerate(experts):
        angle = 2 * math.pi * i / len(experts)
        pos[expert] = 0.35 * INNER * np.array([math.cos(angle), math.sin(angle)])
    return pos


def place(names: list[str], radius: float, start: float, end: float) -> dict[str, np.ndarray]:
    """Spread `names` over the arc from angle `start` to `end` at `radius`, in as many rows
    across the band as keep the spacing along and across the arc alike."""
    if not names:
        return {}
    span = 0.9 * (end - start)
    rows = max(1, round(math.sqrt(len(names) * BAND / (radius * span))))
    columns = math.ceil(len(names) / rows)
    pos = {}
    for i, name in enumerate(names):
        row, column = i % rows, i // rows
        r = radius + BAND * ((row + 0.5) / rows - 0.5) if rows > 1 else radius
        angle = start + 0.05 * (end - start) + span * (column + 0.5) / columns
        pos[name] = r * np.array([math.cos(angle), math.sin(angle)])
    return pos


def node_values(
    panel: pd.DataFrame, members: pd.DataFrame, color_by: str, end_month: int | None
) -> tuple[pd.Series, str]:
    """Each member's colour value and the colour bar's title."""
    if color_by == "capacity":
        start = panel[panel["month"] == 0].groupby("institution", observed=True)["capacity"]
        return start.mean().reindex(members.index), "baseline capacity, mean over topics (points)"
    last = int(panel["month"].max())
    end = last if end_month is None else end_month
    if not 0 < end <= last:
        raise ValueError(f"end_month={end} is invalid: allowed a month in [1, {last}]")
    goals = panel[panel["goal"] & panel["month"].isin([0, end])]
    wide = goals.pivot_table(
        index=["institution", "topic"], columns="month", values="capacity", observed=True
    )
    gain = (wide[end] - wide[0]).groupby(level="institution", observed=True).mean()
    return gain.reindex(members.index), f"gain in goal topics, month 0 to {end} (points)"


def node_size(members: int) -> float:
    """Marker area (points^2): large enough to see at 40 members, small enough at 500."""
    return float(np.clip(4000 / members, 8, 150))


def draw_members(
    graph: nx.MultiDiGraph, pos: dict, members: pd.DataFrame, values: pd.Series, ax: Axes
) -> ScalarMappable:
    """Members as markers by type, coloured by `values` (grey where it is undefined); experts
    as black crosses. Every node collection gets gid 'nodes'. Returns what the colour bar
    shows."""
    diverging = values.min() < 0 < values.max()  # losses and gains: white at zero
    reach = values.abs().max()
    norm = Normalize(-reach, reach) if diverging else Normalize(values.min(), values.max())
    cmap = plt.get_cmap("RdBu" if diverging else "viridis").with_extremes(bad="lightgrey")
    size = node_size(len(members))
    handles = []
    for i, kind in enumerate(ring_order(members)):
        marker = MARKERS[i % len(MARKERS)]
        names = list(members.index[members["type"] == kind])
        nodes = nx.draw_networkx_nodes(
            graph,
            pos,
            nodelist=names,
            node_shape=marker,
            node_size=size,
            ax=ax,
            node_color=values[names].to_numpy(),
            cmap=cmap,
            edgecolors="black",
            linewidths=0.3,
        )
        nodes.set_norm(norm)
        nodes.set_gid("nodes")
        handles.append(marker_handle(marker, words(kind)))
    experts = [n for n, kind in graph.nodes(data="kind") if kind == "expert"]
    if experts:
        nodes = nx.draw_networkx_nodes(
            graph,
            pos,
            nodelist=experts,
            node_shape=EXPERT,
            node_size=2 * size,
            node_color="black",
            ax=ax,
        )
        nodes.set_gid("nodes")
        handles.append(marker_handle(EXPERT, "outside expert"))
    legend = ax.legend(
        handles=handles, title="type", loc="lower left", bbox_to_anchor=(1.02, 0), fontsize="small"
    )
    ax.add_artist(legend)  # the topic legend, added next, would replace it
    return ScalarMappable(norm=norm, cmap=cmap)


def marker_handle(marker: str, text: str) -> Line2D:
    return Line2D(
        [], [], linestyle="", marker=marker, color="grey", markeredgecolor="black", label=text
    )


def draw_ties(
    graph: nx.MultiDiGraph, pos: dict, ties: pd.DataFrame, members: int, ax: Axes
) -> None:
    """One line per tie coloured by topic, with a legend; arrows while the network is small
    enough to see them, thin translucent lines when it is large."""
    topics = sorted(ties["topic"].unique())
    palette = "tab10" if len(topics) <= 10 else "tab20" if len(topics) <= 20 else "husl"
    colours = dict(zip(topics, sns.color_palette(palette, len(topics)), strict=True))
    edges = list(graph.edges(keys=True, data="topic"))
    small = members <= LABELLED
    arrows = {"arrows": True, "arrowsize": 7} if small else {"arrows": False}
    drawn = nx.draw_networkx_edges(
        graph,
        pos,
        edgelist=[e[:3] for e in edges],
        ax=ax,
        edge_color=[colours[e[3]] for e in edges],
        node_size=node_size(members),
        **arrows,
        width=0.9 if small else 0.4,
        alpha=0.8 if small else 0.3,
    )
    # arrows are a list of patches, lines one collection; no ties, an empty list
    for artist in drawn if isinstance(drawn, list) else [drawn]:
        artist.set_gid("ties")
    handles = [Line2D([], [], color=colours[t], label=words(t)) for t in topics]
    ax.legend(
        handles=handles,
        title="topic of the tie",
        loc="upper left",
        bbox_to_anchor=(1.02, 1),
        fontsize="small",
    )


def annotate(pos: dict, members: pd.DataFrame, ax: Axes) -> None:
    """Sector borders and province names outside the outer ring; member names beside their
    nodes, pointing outwards, when there are few enough to read. The axes are sized to hold
    all of it."""
    labelled = len(members) <= LABELLED
    outer = outer_radius(members)
    names_at = outer + (0.9 if labelled else 0.35)  # beyond the member names, if any
    for province, start, end in sectors(members):
        ax.plot(
            *np.outer([INNER - 0.5, outer], [math.cos(start), math.sin(start)]).T,
            color="lightgrey",
            linewidth=0.8,
            zorder=0,
        )
        middle = (start + end) / 2
        ax.text(
            names_at * math.cos(middle),
            names_at * math.sin(middle),
            province,
            ha="center",
            va="center",
            fontweight="bold",
        )
    limit = names_at + 0.6
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit))
    if not labelled:
        return
    for name in members.index:
        x, y = pos[name]
        degrees = math.degrees(math.atan2(y, x))
        left = abs(degrees) > 90
        shift = 1 + 0.08 / math.hypot(x, y)
        ax.text(
            x * shift,
            y * shift,
            name,
            fontsize=5.5,
            va="center",
            rotation=degrees + 180 if left else degrees,
            rotation_mode="anchor",
            ha="right" if left else "left",
        )
