"""What a Mesa user expects of a model: `run_model()`, `mesa.batch_run` with keyword parameters
and seeds, and DataCollector reporters, including through `run_scenario` as tidy tables."""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd
import pytest

import sim
from sim import ScenarioConfig, TwinningModel
from sim.config import ConfigError


@pytest.fixture
def config(make_config) -> ScenarioConfig:
    return make_config(replications=2, seed=3)


def test_run_model_stops_after_programme_and_followup(config) -> None:
    model = TwinningModel(config, 4)
    model.run_model()
    assert not model.running
    assert model.steps == model.months == 30
    assert (model.history.capacity[-1] > 0).any()  # the last month was recorded
    again = TwinningModel(config, 4).run()
    np.testing.assert_array_equal(model.history.capacity, again.history.capacity)


def test_keyword_settings_set_their_configuration_keys(config) -> None:
    model = TwinningModel(
        config, 1, design="hub", budget=150_000, leadership=0.3, max_mentees=2, followup_months=6
    )
    assert model.config.network.design == "hub"
    assert model.config.costs.budget == 150_000
    assert model.config.population.leadership_mean == 0.3
    assert model.config.kickoff.max_mentees == 2
    assert model.run().steps == 18 + 6


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"desgin": "hub"}, r"TwinningModel\(desgin=\.\.\.\) is invalid: allowed keyword settings"),
        ({"leadership": 2.0}, r"population\.leadership_mean=2\.0 is invalid: allowed a number"),
        ({"design": "mentors"}, r"network\.design='mentors' is invalid: allowed one of"),
    ],
)
def test_bad_keyword_settings_are_one_line_errors(config, settings, message) -> None:
    with pytest.raises(ConfigError, match=message):
        TwinningModel(config, 1, **settings)


@pytest.mark.parametrize("rng", [-1, 2.5, "7"])
def test_rng_is_an_integer_seed(config, rng) -> None:
    with pytest.raises(ConfigError, match=r"rng=.* is invalid: allowed an integer seed >= 0"):
        TwinningModel(config, rng)


def test_batch_run_sweeps_keyword_parameters_over_seeds() -> None:
    rows = mesa.batch_run(
        TwinningModel,
        {"design": ["tpn", "external_expert"], "budget": 220_000},
        rng=[1, 2],
        display_progress=False,
    )
    table = pd.DataFrame(rows)
    assert len(table) == 4  # 2 designs x 2 seeds, one row each at the last month
    assert set(table["Step"]) == {30}
    assert sorted(zip(table["design"], table["rng"], strict=True)) == [
        ("external_expert", 1),
        ("external_expert", 2),
        ("tpn", 1),
        ("tpn", 2),
    ]
    for row in table.itertuples():
        alone = TwinningModel(None, row.rng, design=row.design, budget=220_000).run()
        final = alone.datacollector.get_model_vars_dataframe().iloc[-1]
        assert row.capacity == final["capacity"] and row.cost == final["cost"]
        assert 0 < row.cost <= 220_000


def test_monthly_reporters_follow_the_run(config) -> None:
    model = TwinningModel(config, 2).run()
    data = model.datacollector.get_model_vars_dataframe()
    assert len(data) == model.months + 1  # the kick-off and every month
    goals = model.kickoff.goals
    assert data["capacity"].iloc[-1] == pytest.approx(model.history.capacity[-1][goals].mean())
    assert data["cost"].iloc[-1] == pytest.approx(sum(e[-1] for e in model.event_log))
    assert data["cost"].is_monotonic_increasing


def test_users_reporters_come_back_as_tidy_tables(config) -> None:
    results = sim.run_scenario(
        config,
        model_reporters={"strongest": lambda m: float(m.capacity().max())},
        agent_reporters={"motivation": "motivation", "goals": lambda a: len(a.goals)},
    )
    months, members = 31, 40
    model_vars, agent_vars = results.model_vars, results.agent_vars
    assert len(model_vars) == 2 * months
    assert list(model_vars.columns[:4]) == ["run", "seed", "design", "month"]
    assert {"capacity", "motivation", "cost", "strongest"} <= set(model_vars.columns)
    assert len(agent_vars) == 2 * months * members
    assert list(agent_vars.columns) == [
        "run",
        "seed",
        "design",
        "month",
        "institution",
        "motivation",
        "goals",
    ]
    # agent rows are the panel's motivation, member by member and month by month
    panel = results.panel.groupby(["run", "month", "institution"], observed=True)["motivation"]
    merged = agent_vars.merge(
        panel.first().reset_index(), on=["run", "month", "institution"], suffixes=("", "_panel")
    )
    assert len(merged) == len(agent_vars)
    np.testing.assert_allclose(merged["motivation"], merged["motivation_panel"], rtol=1e-6)
    assert (agent_vars["goals"] == config.kickoff.goals_per_institution).all()


def test_without_agent_reporters_the_agent_table_is_empty(config) -> None:
    results = sim.run_scenario(config)
    assert results.agent_vars.empty and len(results.model_vars) == 2 * 31
