"""What every column a figure or report shows means, in words and units.

Nothing is declared twice: outcome measures (the summary table's columns) take their label, unit
and direction from their declaration in sim/core/metrics.py, next to how they are computed; swept
parameters take their unit from the configuration itself (their `param(...)` declaration). So a
new outcome or parameter is labelled without touching this module. Figures, the report, the
ranking and comparisons read labels from here, so a reader never meets a raw name like
`mean_effect`.
"""

from __future__ import annotations

import re

from sim.core.metrics import OUTCOMES, TOPIC_OUTCOMES, Outcome
from sim.core.scenario import declared

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
    """The declared outcome measure (sim.core.metrics) of a summary column, or None if it is not
    one."""
    if column in OUTCOMES:
        return OUTCOMES[column]
    for measure in TOPIC_OUTCOMES.values():
        topic = column.removesuffix(f"_{measure.suffix}")
        if topic != column and topic:
            return measure.of(topic, words(topic))
    return None


def parameter_unit(key: str) -> str:
    """The unit `param(...)` records for a dotted configuration key ('' if none), without its
    remarks: 'costs.budget' -> 'USD' (not 'USD (0 = no cap)')."""
    try:
        unit = declared(key)[1].metadata.get("unit", "")
    except KeyError:
        return ""
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
