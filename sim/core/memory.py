"""Refuse, before it starts, a run that cannot fit in this machine's memory.

A run holds one model at a time (its monthly state arrays) and, unless `collect=summary`, every
replication's tables until the end. Both are estimated from the configuration alone, so a
mistyped `replications=10000000` or a population of ten million stops with one line, not with a
MemoryError hours later or a machine swapping to a halt.
"""

from __future__ import annotations

import psutil

from sim.config import Collect, ConfigError
from sim.core.scenario import ScenarioConfig

MODEL_ARRAYS = 7  # (month, member, topic) float64 arrays a model holds or builds at once
PANEL_ROW = 150  # bytes per panel row at its peak: parts, their concatenation and the frame
SUMMARY_ROW = 1_500  # bytes per summary row while the rows are gathered
GIB = 2**30


def members_and_cells(config: ScenarioConfig) -> tuple[int, int, int]:
    """Members, member-topic cells and topic columns of a scenario's population."""
    pop = config.population
    if pop.path:  # a file: its lines (one that does not fit, or cannot be read, its reader refuses)
        try:
            with open(pop.path, "rb") as file:
                members = max(sum(1 for _ in file) - 1, 0)
        except OSError:
            members = 0
        width = max(len(t.topics) for t in pop.types.values())
        return members, members * width, len(pop.topic_names())
    counts = [(kind, len(names)) for _, kind, names in pop.layout()]
    members = sum(n for _, n in counts)
    cells = sum(n * len(pop.types[kind].topics) for kind, n in counts)
    present = {kind for kind, n in counts if n}
    topics = {t for kind in present for t in pop.types[kind].topics}
    return members, cells, len(topics)


def needed(config: ScenarioConfig) -> dict[str, float]:
    """Bytes the run needs at its peak, by part."""
    members, cells, topics = members_and_cells(config)
    months = config.schedule.programme_months + config.schedule.followup_months + 1
    parts = {"model": MODEL_ARRAYS * 8.0 * months * members * topics}
    parts["summary"] = float(SUMMARY_ROW * config.replications)
    if config.collect is Collect.all:
        parts["panel"] = float(PANEL_ROW * months * cells * config.replications)
    return parts


def check_memory(config: ScenarioConfig, available: float | None = None) -> None:
    """Raise a one-line ConfigError when the run needs more memory than is available now."""
    available = psutil.virtual_memory().available if available is None else available
    parts = needed(config)
    total = sum(parts.values())
    if total <= available:
        return
    largest = max(parts, key=parts.get)
    lower = {
        "model": "lower the population's member counts or schedule months",
        "summary": "lower replications, or split them into a sweep over seed",
        "panel": "set collect=summary, or lower replications",
    }[largest]
    detail = ", ".join(f"{name} {size / GIB:,.1f}" for name, size in parts.items())
    raise ConfigError(
        f"replications={config.replications} of {members_and_cells(config)[0]:,} members need "
        f"about {total / GIB:,.1f} GiB ({detail}) but {available / GIB:,.1f} GiB is available: "
        f"{lower}"
    )
