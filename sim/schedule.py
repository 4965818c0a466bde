"""The programme calendar: which activities happen in which month.

The schedule is data (`ScheduleConfig.events`); this module only expands it into months, adds the
regular exchange visits, and converts month numbers to calendar labels.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from sim.config import EventKind, EventSpec, ScheduleConfig


def events_by_month(cfg: ScheduleConfig, groups: list[str]) -> dict[int, list[EventSpec]]:
    """Month -> events; a provincial workshop without a group is held in every group that month."""
    plan: dict[int, list[EventSpec]] = defaultdict(list)
    for e in cfg.events:
        if e.kind is EventKind.provincial_workshop and not e.group:
            plan[e.month] += [EventSpec(e.kind, e.month, e.mode, g) for g in groups]
        else:
            plan[e.month].append(e)
    if cfg.exchange_visit_every:
        for month in range(
            cfg.exchange_visit_every, cfg.programme_months + 1, cfg.exchange_visit_every
        ):
            plan[month].append(EventSpec(EventKind.exchange_visit, month))
    return dict(plan)


def month_labels(cfg: ScheduleConfig) -> list[str]:
    """'YYYY-MM' for month 0 (kick-off) through the end of follow-up."""
    months = pd.period_range(
        cfg.start, periods=cfg.programme_months + cfg.followup_months + 1, freq="M"
    )
    return [str(p) for p in months]
