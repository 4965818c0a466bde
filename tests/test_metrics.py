"""Estimators and outcome measures in sim.core.metrics, on hand-made data with known answers."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import sim
from sim import ScenarioConfig, TwinningModel
from sim.analysis.outcomes import axis_title
from sim.core.designs.base import DESIGNS
from sim.core.metrics import (
    OUTCOMES,
    TOPIC_OUTCOMES,
    Outcome,
    TopicOutcome,
    bottom_quartile,
    declared,
    panel_selection_estimate,
    selection_estimate,
    summarise,
    unmatched,
)

pytestmark = pytest.mark.usefixtures("quiet_run")


# --- selection_estimate -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "chose", "expected"),
    [
        ([4.0, 2.0, 1.0, -1.0], [True, True, False, False], 3.0),
        ([4.0, 2.0, 1.0, -1.0], [False, False, True, True], -3.0),
        ([5.0, 0.0, 0.0, 0.0], [1, 0, 0, 0], 5.0),  # 0/1 works as a mask
        ([1.5, 1.5, 1.5], [True, False, True], 0.0),
        ([10.0, 0.0, 3.0, 6.0, 2.0], [True, True, False, False, False], 5.0 - 11.0 / 3),
    ],
)
def test_selection_estimate_known_answers(change, chose, expected):
    got = selection_estimate(np.array(change), np.array(chose))
    assert isinstance(got, float)
    assert got == pytest.approx(expected)


@pytest.mark.parametrize(
    ("change", "chose"),
    [
        ([1.0, 2.0], [True, True]),  # nobody to compare with
        ([1.0, 2.0], [False, False]),  # nobody chose
        ([], []),  # nobody at all
    ],
)
def test_selection_estimate_is_nan_when_a_group_is_empty(change, chose):
    assert math.isnan(selection_estimate(np.array(change), np.array(chose, dtype=bool)))


def test_selection_estimate_is_shift_invariant_and_antisymmetric():
    rng = np.random.default_rng(0)
    for _ in range(50):
        change = rng.normal(size=20)
        chose = rng.random(20) < 0.4
        chose[:2] = [True, False]
        e = selection_estimate(change, chose)
        assert selection_estimate(change + 7.0, chose) == pytest.approx(e)
        assert selection_estimate(change, ~chose) == pytest.approx(-e)


# --- panel_selection_estimate -----------------------------------------------------------------


def hand_panel(categorical: bool = False) -> pd.DataFrame:
    """Four members, topic 't' (A and B chose it) and a distracting topic 'u'; months 0-2."""
    kpi = {
        "A": [50.0, 51.0, 54.0],
        "B": [60.0, 61.0, 62.0],
        "C": [40.0, 40.0, 41.0],
        "D": [70.0, 70.0, 69.0],
    }
    rows = []
    for inst, values in kpi.items():
        for month, value in enumerate(values):
            rows.append((inst, "t", month, value, inst in "AB"))
            rows.append((inst, "u", month, 100.0 * month, inst in "CD"))
    panel = pd.DataFrame(rows, columns=["institution", "topic", "month", "kpi", "goal"])
    if categorical:
        panel["institution"] = panel["institution"].astype("category")
        panel["topic"] = panel["topic"].astype("category")
    return panel.sample(frac=1, random_state=3)  # row order must not matter


@pytest.mark.parametrize("categorical", [False, True])
def test_panel_selection_estimate_known_answers(categorical):
    panel = hand_panel(categorical)
    # month 2: A +4, B +2 (mean 3) against C +1, D -1 (mean 0)
    assert panel_selection_estimate(panel, "t", 2) == pytest.approx(3.0)
    # month 1: A +1, B +1 against C 0, D 0
    assert panel_selection_estimate(panel, "t", 1) == pytest.approx(1.0)
    # topic u: C and D chose it; every member changed by 200
    assert panel_selection_estimate(panel, "u", 2) == pytest.approx(0.0)


def test_panel_selection_estimate_is_nan_when_a_group_is_empty():
    panel = hand_panel()
    everyone = panel.assign(goal=True)
    nobody = panel.assign(goal=False)
    assert math.isnan(panel_selection_estimate(everyone, "t", 2))
    assert math.isnan(panel_selection_estimate(nobody, "t", 2))


def test_panel_estimate_matches_the_summary_for_every_run(make_config):
    results = sim.run_scenario(make_config(replications=6, seed=4))
    end = make_config().schedule.programme_months
    for run, panel in results.panel.groupby("run"):
        row = results.summary.set_index("run").loc[run]
        for topic in ("accreditation", "cbhi_coverage"):
            expected = row[f"{topic}_estimate"]
            got = panel_selection_estimate(panel, topic, end)
            # the panel stores float32 KPIs: equal to about 1e-5 points
            assert got == pytest.approx(expected, abs=1e-4, nan_ok=True), (run, topic)


def test_panel_estimate_does_not_silently_pool_runs(make_config):
    results = sim.run_scenario(make_config(replications=4))
    with pytest.raises(ValueError, match=r"panel holds 4 runs: pass one run"):
        panel_selection_estimate(results.panel, "accreditation", 18)


# --- summarise --------------------------------------------------------------------------------


def no_programme(config: ScenarioConfig) -> ScenarioConfig:
    return replace(config, network=replace(config.network, design="none"))


def model_and_twin(config, seed: int):
    """A run and, separately, the same members under no programme."""
    return TwinningModel(config, seed).run(), TwinningModel(no_programme(config), seed).run()


@pytest.mark.parametrize("design", sorted(DESIGNS))
def test_the_recorded_counterfactual_is_the_run_under_no_programme(
    default_config, with_design, design
):
    """What the model records as its counterfactual is exactly the twin run under no programme,
    whatever the design: the own trajectory draws the same numbers under every design."""
    m, twin = model_and_twin(with_design(default_config, design), 5)
    np.testing.assert_array_equal(m.history.counterfactual, twin.history.capacity)
    assert design == "none" or (m.history.capacity != m.history.counterfactual).any()


@pytest.mark.parametrize("seed", range(8))
def test_summarise_against_direct_computation(default_config, seed):
    m, twin = model_and_twin(default_config, seed)
    row = summarise(m)
    h, cf, goals, pop = m.history, twin.history, m.kickoff.goals, m.pop
    end, later = 18, 30
    for topic in default_config.headline_topics:
        k = pop.topics.index(topic)
        members = np.flatnonzero(pop.applies[:, k])
        chose = goals[members, k]
        assert row[f"{topic}_choosers"] == chose.sum()
        if not 0 < chose.sum() < len(chose):  # (seed 4: no hospital chose accreditation)
            assert math.isnan(row[f"{topic}_estimate"])
            continue
        change = h.kpi[end, members, k] - h.kpi[0, members, k]
        expected = change[chose].mean() - change[~chose].mean()
        assert row[f"{topic}_estimate"] == pytest.approx(expected)
        effect = (h.capacity[end] - cf.capacity[end])[members, k]
        assert row[f"{topic}_true_effect"] == pytest.approx(effect[chose].mean())
    assert row["mean_gain"] == pytest.approx((h.capacity[end] - h.capacity[0])[goals].mean())
    assert row["mean_effect"] == pytest.approx((h.capacity[end] - cf.capacity[end])[goals].mean())
    assert row["sustained_gain"] == pytest.approx((h.capacity[later] - h.capacity[0])[goals].mean())
    total_effect = (h.capacity[end] - cf.capacity[end])[goals].sum()
    assert row["sustained_effect"] == pytest.approx(
        (h.capacity[later] - cf.capacity[later])[goals].mean()
    )
    cost = sum(e[-1] for e in m.event_log)
    assert row["total_cost"] == pytest.approx(cost)
    assert row["cost_per_point"] == pytest.approx(cost / total_effect)
    assert row["goals"] == 80
    assert row["unmatched_goals"] == goals.sum() - len(m.ties)


def test_summarise_computes_exactly_the_declared_outcomes(default_config):
    """No column without a declaration, no declaration without a column, in declaration order:
    the headline topics' measures topic by topic, then the others."""
    row = summarise(TwinningModel(default_config, 0).run())
    topics = default_config.headline_topics
    assert list(row) == [o.column for o in declared(topics)]
    assert list(row) == [f"{t}_{s}" for t in topics for s in TOPIC_OUTCOMES] + list(OUTCOMES)
    assert all(isinstance(v, int | float) for v in row.values()), row


def test_a_new_outcome_is_one_declaration(monkeypatch, default_config):
    """Declaring a measure is all it takes for summarise to compute it and for figures to label
    it; the same for a measure of every headline topic."""
    with_goal = Outcome(
        "members_with_goals",
        "members with a goal",
        "members",
        lambda r: int(r.goals.any(axis=1).sum()),
    )
    others = TopicOutcome(
        "others",
        "{topic}: members that did not choose it",
        "members",
        lambda c: int((~c.chose).sum()),
    )
    monkeypatch.setitem(OUTCOMES, with_goal.column, with_goal)
    monkeypatch.setitem(TOPIC_OUTCOMES, others.suffix, others)
    m = TwinningModel(default_config, 0).run()
    row = summarise(m)
    assert list(row)[-1] == "members_with_goals"
    assert row["members_with_goals"] == m.kickoff.goals.any(axis=1).sum()
    k = m.pop.topics.index("cbhi_coverage")
    members = m.pop.applies[:, k].sum()
    assert row["cbhi_coverage_others"] == members - row["cbhi_coverage_choosers"]
    assert axis_title("members_with_goals") == "members with a goal (members)"
    assert (
        axis_title("cbhi_coverage_others")
        == "CBHI coverage: members that did not choose it (members)"
    )


def test_summarise_a_run_of_no_programme_has_zero_effects(default_config):
    m = TwinningModel(no_programme(default_config), 3).run()
    row = summarise(m)
    effects = {k: v for k, v in row.items() if k.endswith("_effect")}
    assert len(effects) == 5
    assert all(v == 0 for v in effects.values()), effects
    assert math.isnan(row["cost_per_point"]), "no effect, so no cost per point"


def test_summarise_bottom_quartile_uses_the_weakest_quarter_of_each_type(default_config):
    m = TwinningModel(default_config, 8).run()
    row = summarise(m)
    low = bottom_quartile(m.pop.applies, m.history.capacity[0], m.pop.kind)
    cells = low[:, None] & m.kickoff.goals
    gain = m.history.capacity[18] - m.history.capacity[0]
    assert row["bottom_quartile_gain"] == pytest.approx(gain[cells].mean())


def test_headline_estimate_is_nan_when_nobody_can_choose_the_topic(make_config, default_config):
    provinces = [replace(p, counts={"hospital": 0}) for p in default_config.population.provinces]
    config = make_config(population={"provinces": provinces})
    row = summarise(TwinningModel(config, 0).run())
    assert row["accreditation_choosers"] == 0
    assert math.isnan(row["accreditation_estimate"])
    assert math.isnan(row["accreditation_true_effect"])
    assert not math.isnan(row["cbhi_coverage_estimate"])


def test_headline_estimate_is_nan_when_everyone_chose_the_topic(make_config):
    config = make_config(kickoff={"goals_per_institution": 5})
    row = summarise(TwinningModel(config, 0).run())
    assert row["accreditation_choosers"] == 10 and row["cbhi_coverage_choosers"] == 30
    assert math.isnan(row["accreditation_estimate"]) and math.isnan(row["cbhi_coverage_estimate"])
    assert not math.isnan(row["accreditation_true_effect"])


# --- helpers ----------------------------------------------------------------------------------


def test_bottom_quartile_known_answer():
    # type 0: members 0-3 with mean capacity 10, 20, 30, 40; type 1: members 4-7, 5..80
    applies = np.array([[True, False]] * 4 + [[False, True]] * 4)
    capacity = np.array([[10, 0], [20, 0], [30, 0], [40, 0], [0, 80], [0, 5], [0, 60], [0, 40]])
    kind = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    low = bottom_quartile(applies, capacity.astype(float), kind)
    np.testing.assert_array_equal(low, [True, False, False, False, False, True, False, False])


def test_unmatched_is_empty_without_a_programme_and_the_gap_otherwise(make_config):
    none = TwinningModel(make_config(design="none"), 0)
    assert not unmatched(none).any() and none.kickoff.goals.any()
    tpn = TwinningModel(make_config(kickoff={"min_gap": 100.0}), 0)
    np.testing.assert_array_equal(unmatched(tpn), tpn.kickoff.goals)
