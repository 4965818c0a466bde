"""The programme calendar: which activities happen in which month.

The schedule is data (`ScheduleConfig.events`, or a calendar file at `ScheduleConfig.path`); this
module only expands it into months, adds the regular exchange visits, and converts month numbers
to calendar labels.
"""

from __future__ import annotations

import logging
from collections import defaultdict

import pandas as pd

from sim.config import EventKind, EventSpec, ScheduleConfig
from sim.data.inputs import read_calendar

log = logging.getLogger(__name__)
_said: set[str] = set()


def say_once(message: str) -> None:
    """A warning about the calendar, once per process rather than once per replication."""
    if message not in _said:
        _said.add(message)
        log.warning(message)


def scheduled_events(cfg: ScheduleConfig, groups: list[str]) -> list[EventSpec]:
    """The configured events, or those of the calendar file (validated against `groups`)."""
    return read_calendar(cfg.path, cfg.programme_months, groups) if cfg.path else cfg.events


def events_by_month(cfg: ScheduleConfig, groups: list[str]) -> dict[int, list[EventSpec]]:
    """Month -> events; a provincial workshop without a group is held in every group that month.

    An event for a group no member belongs to is not held (say, Rwanda's calendar with a
    population of two provinces); the run says so once."""
    plan: dict[int, list[EventSpec]] = defaultdict(list)
    for e in scheduled_events(cfg, groups):
        if e.group and e.group not in groups:
            say_once(
                f"schedule: {e.kind.value} in month {e.month} is for group {e.group!r}, which no "
                f"member belongs to (groups: {groups}): not held"
            )
        elif e.kind is EventKind.provincial_workshop and not e.group:
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
