"""Mechanisms beyond teaching (goal work, reciprocity, turnover losses): on in the calibrated
defaults, each moving the outcome in its documented direction when switched off (docs/ODD.md
7.17)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtri

import sim
from sim.config import LearningConfig
from sim.core.learning import TieBatch, feasible_levels, goal_work
from sim.core.model import TwinningModel
from sim.core.run import run_summaries
from sim.core.scenario import ScenarioConfig
from sim.interfaces.hydra_config import compose_scenario

SWITCHES = {
    "goal_work_rate": 0.05,
    "reciprocity": 0.5,
    "turnover_knowledge_loss": 0.5,
    "turnover_tie_loss": 0.5,
}
# the posterior's representative set, the defaults' values (configs/calibration/representative.yaml)
BASE = replace(compose_scenario(["calibration=representative"]), replications=30, seed=5)
DATA = Path(__file__).resolve().parents[1] / "configs" / "data"


def with_learning(config: ScenarioConfig, **changes) -> ScenarioConfig:
    return replace(config, learning=replace(config.learning, **changes))


def mean(config: ScenarioConfig, measure: str = "mean_effect") -> float:
    return float(run_summaries(config)[measure].mean())


def test_every_mechanism_is_on_in_the_calibrated_defaults() -> None:
    assert all(getattr(LearningConfig(), name) > 0 for name in SWITCHES)
    assert all(getattr(BASE.learning, name) > 0 for name in SWITCHES)


@pytest.mark.parametrize(
    ("switch", "measure", "direction"),
    [
        ("goal_work_rate", "mean_effect", -1),
        ("goal_support", "mean_effect", -1),
        ("reciprocity", "mean_effect", -1),
        ("turnover_knowledge_loss", "sustained_effect", +1),
        ("turnover_tie_loss", "sustained_effect", +1),
    ],
)
def test_switching_a_mechanism_off_moves_the_outcome_the_documented_way(
    switch: str, measure: str, direction: int
) -> None:
    """The ablations of docs/ODD.md 7.17, from the posterior's representative set on paired
    seeds."""
    change = mean(with_learning(BASE, **{switch: 0.0}), measure) - mean(BASE, measure)
    assert np.sign(change) == direction, change


def test_expert_variants_are_named_apart_in_results() -> None:
    network = sim.ScenarioConfig().network
    assert network.label == "tpn"
    assert replace(network, expert_followup=True).label == "tpn"  # no experts to follow up
    experts = replace(network, design="external_expert")
    assert experts.label == "external_expert"
    assert replace(experts, expert_followup=True).label == "external_expert+followup"
    both = replace(experts, expert_followup=True, experts_at_workshops=True)
    assert both.label == "external_expert+followup+workshops"
    summary = run_summaries(replace(BASE, replications=1, network=both))
    assert summary["design"].tolist() == ["external_expert+followup+workshops"]


def test_goal_work_raises_the_effect_with_its_rate() -> None:
    effects = [mean(with_learning(BASE, goal_work_rate=rate)) for rate in (0.0, 0.02, 0.1)]
    assert effects[0] < effects[1] < effects[2]


def test_goal_work_improves_members_that_have_no_teacher_at_all(tmp_path: Path) -> None:
    """With no teacher and no workshop, ties teach nothing: only members' own work on their
    goals gives an effect, and it is not bounded by any teacher's level."""
    members = pd.read_csv(DATA / "rwanda" / "institutions.csv", dtype=str)
    pairs = pd.DataFrame({"learner": members["id"], "teacher": "", "topic": "*"})
    pairs.to_csv(tmp_path / "pairs.csv", index=False)
    config = with_learning(
        BASE, goal_work_rate=0.0, network_workshop_rate=0.0, provincial_workshop_rate=0.0
    )
    config = replace(
        config,
        replications=5,
        network=replace(config.network, design="from_file", path=str(tmp_path / "pairs.csv")),
    )
    assert mean(config) == pytest.approx(0.0, abs=1e-9)
    assert mean(with_learning(config, goal_work_rate=0.05)) > 1.0


def test_goal_work_closes_a_share_of_the_gap_to_the_feasible_level_only() -> None:
    cfg = LearningConfig(goal_work_rate=0.1, goal_support=2.0)
    capacity = np.array([[50.0, 95.0], [50.0, 50.0]])
    goals = np.array([[True, True], [False, True]])
    feasible = np.array([[90.0, 90.0], [70.0, 70.0]])  # member 0 can reach 90, member 1 70
    no_ties = TieBatch.build(
        *(np.zeros(0, dtype=np.int64),) * 3, np.zeros(0), np.zeros(0), np.zeros(0), 2
    )
    work = goal_work(capacity, feasible, np.ones((2, 2)), goals, no_ties, 1.0, cfg)
    np.testing.assert_allclose(work, [[0.1 * 40, 0.0], [0.0, 0.1 * 20]])  # none above 90
    tie = TieBatch.build(
        np.array([1]),
        np.array([0]),
        np.array([1]),
        np.array([0.5]),
        np.array([0.8]),
        np.array([1.0]),
        2,
    )
    helped = goal_work(capacity, feasible, np.ones((2, 2)), goals, tie, 1.0, cfg)
    assert helped[1, 1] == pytest.approx(0.1 * (1 + 2.0 * 0.5 * 0.8) * 20)  # know-how adds
    slower = goal_work(capacity, feasible, np.ones((2, 2)), goals, no_ties, 0.3, cfg)
    np.testing.assert_allclose(slower, 0.3 * work)  # after the programme


def test_the_feasible_level_rises_with_resources_and_with_how_much_a_kind_differs() -> None:
    """A member can reach what members of its kind with its resources show, plus feasible_sd
    baseline sds: a wide-spread topic leaves more to gain than a narrow one at any baseline."""
    typical = np.array([[55.0, 78.0], [55.0, 78.0]])
    spread = np.array([[10.0, 5.0], [10.0, 5.0]])
    level = feasible_levels(typical, spread, np.array([0.5, 0.9]), 2.0)
    np.testing.assert_allclose(level[0], [75.0, 88.0])  # median resources: mean + 2 sd
    assert (level[1] > level[0]).all()  # more resources, more within reach
    np.testing.assert_allclose(level[1] - level[0], ndtri(0.9) * spread[0])
    assert feasible_levels(typical, spread, np.array([1.0, 1.0]), 10.0).max() == 100.0
    model = TwinningModel(BASE, 1)
    expected = feasible_levels(
        model.pop.typical, model.pop.spread, model.pop.resource, BASE.learning.feasible_sd
    )
    np.testing.assert_array_equal(model.feasible, expected)
    hospital = model.pop.topics.index("accreditation")
    assert set(model.pop.typical[model.pop.applies[:, hospital], hospital]) == {55.0}


def test_reciprocity_lets_mentors_learn_back() -> None:
    m = TwinningModel(with_learning(BASE, reciprocity=0.5), 1)
    one_way = with_learning(BASE, reciprocity=0.0)
    assert m.reverse is not None and len(m.reverse.learner)
    mentors = set(m.ties.mentor[m.ties.mentor < m.pop.size].tolist())
    assert set(m.reverse.learner.tolist()) == mentors  # every peer mentor learns back
    assert TwinningModel(one_way, 1).reverse is None
    assert mean(with_learning(BASE, reciprocity=0.5)) > mean(one_way)


@pytest.mark.parametrize("loss", ["turnover_knowledge_loss", "turnover_tie_loss"])
def test_turnover_losses_lower_the_effect(loss: str) -> None:
    often = with_learning(BASE, turnover_rate=0.05, **{loss: 0.0})
    assert mean(with_learning(often, **{loss: 0.5})) < mean(often)
    assert mean(with_learning(often, **{loss: 0.5}), "sustained_effect") < mean(
        often, "sustained_effect"
    )


def test_the_counterfactual_is_untouched_by_the_new_mechanisms() -> None:
    none = replace(BASE, network=replace(BASE.network, design="none"))
    for seed in range(3):
        off = with_learning(none, **dict.fromkeys(SWITCHES, 0.0))
        plain = TwinningModel(off, seed).run().history.capacity
        switched = TwinningModel(with_learning(none, **SWITCHES), seed).run().history.capacity
        np.testing.assert_array_equal(plain, switched)


def experts(**network) -> ScenarioConfig:
    config = replace(BASE, replications=10)
    return replace(config, network=replace(config.network, design="external_expert", **network))


def test_experts_following_up_remotely_teach_more_and_cost_their_retainer() -> None:
    plain, followup = experts(), experts(expert_followup=True)
    assert mean(followup) > mean(plain)
    events = sim.run_scenario(replace(followup, replications=1)).events
    held = events[events["event"] == "expert_followup"]
    months = followup.schedule.programme_months
    assert len(held) == months and set(held["mode"]) == {"virtual"}
    assert held["cost"].sum() == 4 * months * followup.costs.expert_followup
    assert mean(followup, "total_cost") == pytest.approx(
        mean(plain, "total_cost") + held["cost"].sum()
    )


def test_experts_at_the_workshops_teach_there_and_the_workshops_are_paid() -> None:
    plain, workshops = experts(), experts(experts_at_workshops=True)
    assert mean(workshops) > mean(plain)
    events = sim.run_scenario(replace(workshops, replications=1)).events
    assert {"network_workshop", "provincial_workshop"} <= set(events["event"])
    assert "exchange_visit" not in set(events["event"])  # experts' learners have no twins
    tpn_runs = sim.run_scenario(replace(BASE, replications=1)).events
    assert workshops_cost(events) == workshops_cost(tpn_runs)


def workshops_cost(events: pd.DataFrame) -> float:
    return events.loc[events["event"].str.endswith("workshop"), "cost"].sum()


def test_an_equal_budget_pays_the_experts_fixed_extras_first() -> None:
    budget = 220_000.0
    both = experts(expert_followup=True, experts_at_workshops=True)
    both = replace(both, costs=replace(both.costs, budget=budget))
    assert budget * 0.97 < mean(both, "total_cost") <= budget
    plain = replace(experts(), costs=replace(experts().costs, budget=budget))
    assert mean(both) > mean(plain)
