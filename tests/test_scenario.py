"""End-to-end claims on the default Rwanda scenario over many replications (slow).

Every claim is checked on the 95% confidence interval of the mean over replications, as
`Results.describe()` reports it, not on a single run.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import sim
from sim.core.designs.base import DESIGNS

pytestmark = pytest.mark.slow

REPS = 200
SEED = 20210801  # the default root seed
EFFECTS = [
    "accreditation_true_effect",
    "cbhi_coverage_true_effect",
    "mean_effect",
    "bottom_quartile_effect",
    "sustained_effect",
]


EXAMPLE_PAIRS = Path(__file__).resolve().parent.parent / "configs/data/rwanda/pairs.csv"


def scenario(design: str, replications: int) -> sim.Results:
    """The default scenario under `design`; users' own pairs are the shipped Rwanda example."""
    config = sim.ScenarioConfig(replications=replications, seed=SEED)
    path = str(EXAMPLE_PAIRS) if design == "from_file" else ""
    config = replace(config, network=replace(config.network, design=design, path=path))
    return sim.run_scenario(config)


@pytest.fixture(scope="module")
def runs(quiet_log) -> dict[str, sim.Results]:
    """`tpn` and `none`, 200 replications each, same root seed (so the same institutions)."""
    with quiet_log():
        return {design: scenario(design, REPS) for design in ("tpn", "none")}


@pytest.fixture(scope="module")
def described(runs):
    return {design: r.describe().loc[design] for design, r in runs.items()}


def test_runs_cover_the_requested_replications(runs, described):
    for design, r in runs.items():
        assert len(r.summary) == REPS
        assert described[design].loc["mean_gain", "n"] == REPS


def test_tpn_has_a_positive_programme_effect_in_chosen_topics(described):
    tpn = described["tpn"]
    assert tpn.loc["mean_effect", "mean"] > 0
    assert tpn.loc["mean_effect", "ci_low"] > 0
    for topic in ("accreditation", "cbhi_coverage"):
        assert tpn.loc[f"{topic}_true_effect", "ci_low"] > 0, topic


def test_tpn_members_gain_more_than_without_the_programme(described):
    tpn, none = described["tpn"], described["none"]
    assert tpn.loc["mean_gain", "mean"] > none.loc["mean_gain", "mean"]
    assert tpn.loc["mean_gain", "ci_low"] > none.loc["mean_gain", "ci_high"]


def test_tpn_gain_exceeds_no_programme_in_almost_every_replication(runs):
    """Same seeds, same institutions: the paired difference is the programme's doing."""
    tpn = runs["tpn"].summary.set_index("seed")["mean_gain"]
    none = runs["none"].summary.set_index("seed")["mean_gain"]
    assert (tpn - none.loc[tpn.index]).gt(0).mean() > 0.95


def test_selection_estimator_is_positive_on_average(described):
    tpn = described["tpn"]
    for measure in ("accreditation_estimate", "cbhi_coverage_estimate"):
        assert tpn.loc[measure, "mean"] > 0, measure
        assert tpn.loc[measure, "ci_low"] > 0, measure
        assert tpn.loc[measure, "n"] >= 0.9 * REPS, "the estimator is defined in most runs"


def test_selection_estimator_is_larger_with_the_programme_than_without(described):
    """Without a programme the article's estimator still picks up self-selection, but the
    programme adds a clearly larger contrast."""
    tpn, none = described["tpn"], described["none"]
    for measure in ("accreditation_estimate", "cbhi_coverage_estimate"):
        assert tpn.loc[measure, "ci_low"] > none.loc[measure, "ci_high"], measure


def test_no_programme_has_exactly_zero_true_effect_and_cost(runs):
    summary = runs["none"].summary
    for column in EFFECTS:
        undefined = summary[column].isna()
        if column.endswith("_true_effect"):  # undefined only where nobody chose the topic
            choosers = summary[column.replace("_true_effect", "_choosers")]
            assert (choosers[undefined] == 0).all(), column
        else:
            assert not undefined.any(), column
        assert (summary.loc[~undefined, column] == 0).all(), column
    assert (summary["total_cost"] == 0).all()
    assert runs["none"].ties.empty and runs["none"].events.empty


@pytest.mark.parametrize("design", sorted(set(DESIGNS) - {"none"}))
def test_every_programme_design_has_a_positive_effect(design, quiet_run):
    d = scenario(design, 50).describe().loc[design]
    assert d.loc["mean_effect", "ci_low"] > 0
    assert d.loc["total_cost", "ci_low"] > 0
    if design == "external_expert":  # no ties after the programme: the effect fades
        assert d.loc["sustained_effect", "mean"] < d.loc["mean_effect", "mean"]
