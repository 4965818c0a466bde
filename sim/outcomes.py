"""What every column a figure or report shows means, in words and units, declared once.

Outcome measures (the summary table's columns) are declared here with a label, a unit and whether
more is better; swept parameters take their unit from the configuration itself (`param(...)` in
sim/config.py), so a new parameter is labelled without touching this module. Figures, the report
and the ranking read labels from here, so a reader never meets a raw name like `mean_effect`.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass, fields, is_dataclass

from sim.config import ScenarioConfig


@dataclass(frozen=True)
class Outcome:
    """A summary measure: its column, label in words, unit, and whether a higher value is better
    (None for counts and estimates that describe rather than judge a programme)."""

    column: str
    label: str
    unit: str
    higher_is_better: bool | None = True


OUTCOMES = {
    o.column: o
    for o in [
        Outcome("mean_gain", "gain in chosen topics", "points"),
        Outcome("mean_effect", "programme effect in chosen topics", "points"),
        Outcome("bottom_quartile_gain", "gain of the bottom quartile", "points"),
        Outcome("bottom_quartile_effect", "programme effect on the bottom quartile", "points"),
        Outcome("sustained_gain", "gain at the end of follow-up", "points"),
        Outcome("sustained_effect", "programme effect at the end of follow-up", "points"),
        Outcome("total_cost", "total cost", "USD", higher_is_better=False),
        Outcome("cost_per_point", "cost per point gained", "USD per point", higher_is_better=False),
        Outcome("goals", "learning goals", "goals", higher_is_better=None),
        Outcome(
            "unmatched_goals", "learning goals without a teacher", "goals", higher_is_better=False
        ),
    ]
}

# Per headline topic (`{topic}_estimate` etc.; the topics are configurable): label and unit.
TOPIC_OUTCOMES = {
    "estimate": ("{topic}: article's estimator, choosers minus others", "points", None),
    "true_effect": ("{topic}: programme effect on choosers", "points", True),
    "choosers": ("{topic}: members that chose it", "members", None),
}

# Keys whose field name alone does not say what they are; other keys are labelled by their name.
LABELS = {
    "network": "network design",
    "network.design": "network design",
    "design": "network design",
    "seed": "root seed",
    "root_seed": "root seed",
    "population.leadership_mean": "leadership engagement",
    "population.motivation_mean": "motivation",
    "population.time_mean": "time for the programme",
    "population.capacity_spread": "pre-existing capacity spread",
    "learning.expert_contact_rate": "experts' contact between visits",
}
ACRONYMS = {"cbhi": "CBHI", "imci": "IMCI", "kpi": "KPI", "usd": "USD"}
UNITLESS = {"integer"}  # units that say nothing a reader needs on an axis


def words(name: str) -> str:
    """A snake_case name as words: 'cbhi_coverage' -> 'CBHI coverage'."""
    return " ".join(ACRONYMS.get(w, w) for w in name.split("_"))


def outcome(column: str) -> Outcome | None:
    """The declared outcome measure of a summary column, or None if it is not one."""
    if column in OUTCOMES:
        return OUTCOMES[column]
    for suffix, (label, unit, higher) in TOPIC_OUTCOMES.items():
        topic = column.removesuffix(f"_{suffix}")
        if topic != column and topic:
            return Outcome(column, label.format(topic=words(topic)), unit, higher)
    return None


def parameter_unit(key: str) -> str:
    """The unit `param(...)` records for a dotted configuration key ('' if none), without its
    remarks: 'costs.budget' -> 'USD' (not 'USD (0 = no cap)')."""
    node: type = ScenarioConfig
    for part in key.split("."):
        if not is_dataclass(node):
            return ""
        found = {f.name: f for f in fields(node)}.get(part)
        if found is None:
            return ""
        unit = found.metadata.get("unit", "")
        node = typing.get_type_hints(node)[part]
    unit = re.sub(r"\s*\(.*\)", "", unit)
    return "" if unit in UNITLESS else unit


def label(column: str) -> str:
    """A column or swept key in words: 'mean_effect' -> 'programme effect in chosen topics',
    'population.leadership_mean' -> 'leadership engagement', 'network' -> 'network design'.
    A parameter with a unit is named by its field; other keys keep their section
    ('schedule.start' -> 'schedule start')."""
    measure = outcome(column)
    if measure:
        return measure.label
    if column in LABELS:
        return LABELS[column]
    return words(column.rpartition(".")[2] if unit(column) else column.replace(".", "_"))


def unit(column: str) -> str:
    """The unit of a measure or parameter, '' if it has none."""
    measure = outcome(column)
    return measure.unit if measure else parameter_unit(column)


def axis_title(column: str) -> str:
    """Label with unit, for axes, colour bars and legend titles: 'total cost (USD)'."""
    return f"{label(column)} ({unit(column)})" if unit(column) else label(column)


def is_money(column: str) -> bool:
    """Whether values of the column are amounts of money (shown with thousands separators)."""
    return unit(column).startswith("USD")


def value_text(column: str, value: object) -> str:
    """A value of a swept key for a legend or table: money with thousands separators
    ('220,000'), anything else as written. Distinct values stay distinct."""
    if is_money(column) and isinstance(value, int | float):
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"
    return str(value)
