"""Labels in words and units (sim.analysis.outcomes) for every measure the model reports and every
parameter a sweep can vary, so that no figure or report shows a raw column name. Outcomes are
declared once, in sim.core.metrics, with how they are computed."""

from __future__ import annotations

from dataclasses import fields, is_dataclass

import pytest

from sim.analysis.outcomes import axis_title, is_money, label, outcome, unit, value_text
from sim.core.metrics import OUTCOMES, declared
from sim.core.scenario import ScenarioConfig


def parameter_keys() -> dict[str, str]:
    """Every dotted key of a `param(...)` field -> the unit it records."""
    config, keys = ScenarioConfig(), {}
    for section in fields(config):
        node = getattr(config, section.name)
        if is_dataclass(node):
            units = {f"{section.name}.{f.name}": f.metadata.get("unit") for f in fields(node)}
        else:
            units = {section.name: section.metadata.get("unit")}
        keys |= {key: value for key, value in units.items() if value is not None}
    return keys


def test_the_summary_holds_exactly_the_declared_outcomes(small_runs) -> None:
    """Every summary column besides a replication's identifiers is a declared outcome (with
    label, unit and direction), and every declared outcome is a column, in declaration order."""
    summary = small_runs["tpn"].summary
    columns = [c for c in summary.columns if c not in {"run", "seed", "particle", "design"}]
    assert columns == [o.column for o in declared(ScenarioConfig().headline_topics)]
    for column in columns:
        assert outcome(column) is not None, column
        assert "_" not in label(column) and unit(column), column


def test_labels_are_read_from_the_declaration() -> None:
    """sim.analysis.outcomes adds no outcome of its own: a column's label and unit are its
    declaration's, and a headline topic's measures are named after the topic in words."""
    for measure in OUTCOMES.values():
        assert outcome(measure.column) is measure
    topic = outcome("imci_treatment_true_effect")
    assert topic is not None and topic.label == "IMCI treatment: programme effect on choosers"
    assert topic.higher_is_better and outcome("imci_treatment_estimate").higher_is_better is None
    assert outcome("run") is None and outcome("_estimate") is None


@pytest.mark.parametrize(
    ("column", "title"),
    [
        ("mean_effect", "programme effect in chosen topics (points)"),
        ("total_cost", "total cost (USD)"),
        ("cost_per_point", "cost per point gained (USD per point)"),
        ("cbhi_coverage_true_effect", "CBHI coverage: programme effect on choosers (points)"),
        ("population.leadership_mean", "leadership engagement (0-1 index)"),
        ("costs.budget", "budget (USD)"),  # the unit's remark '(0 = no cap)' left out
        ("network", "network design"),
        ("network.design", "network design"),
        ("seed", "root seed"),  # 'integer' says nothing on an axis
        ("schedule.start", "schedule start"),  # not a param: named with its section
    ],
)
def test_axis_titles(column: str, title: str) -> None:
    assert axis_title(column) == title


def test_every_parameter_is_labelled_with_its_own_unit() -> None:
    """Units come from the parameters' declarations, not from a second list."""
    keys = parameter_keys()
    assert len(keys) > 50
    for key, recorded in keys.items():
        assert "_" not in label(key), key
        assert unit(key) == ("" if recorded == "integer" else recorded.split(" (")[0]), key


def test_direction_and_money() -> None:
    assert OUTCOMES["mean_effect"].higher_is_better
    assert not OUTCOMES["total_cost"].higher_is_better
    assert not OUTCOMES["cost_per_point"].higher_is_better
    assert is_money("cost_per_point") and is_money("costs.budget")
    assert not is_money("mean_effect") and not is_money("population.leadership_mean")


def test_values_of_swept_keys() -> None:
    """Money with thousands separators; distinct values never print alike."""
    assert value_text("costs.budget", 220000.0) == "220,000"
    assert value_text("costs.budget", 220000.5) == "220,000.5"
    assert value_text("population.leadership_mean", 0.45) == "0.45"
    assert value_text("network", "tpn") == "tpn"
