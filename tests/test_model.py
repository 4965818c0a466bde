"""TwinningModel and run_scenario: reproducibility, replication seeds, and run invariants."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pandas as pd
import pytest

import sim
from sim import ScenarioConfig, TwinningModel
from sim.config import EventKind, EventSpec, Mode, ScheduleConfig
from sim.core.agents import ExternalExpert, Institution
from sim.core.collect import Collector
from sim.core.designs.base import DESIGNS
from sim.core.posterior import Draws
from sim.core.run import replication_seeds, run_replication

ALL = sorted(DESIGNS)
TABLES = ("panel", "ties", "events", "summary", "model_vars")


pytestmark = pytest.mark.usefixtures("quiet_run")


def assert_same_results(a: sim.Results, b: sim.Results) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))


# --- reproducibility --------------------------------------------------------------------------


@pytest.mark.parametrize("design", ALL)
def test_same_seed_gives_identical_model_runs(default_config, with_design, design):
    config = with_design(default_config, design)
    for seed in (0, 1, 2**40 + 3):
        a, b = TwinningModel(config, seed).run(), TwinningModel(config, seed).run()
        np.testing.assert_array_equal(a.history.capacity, b.history.capacity)
        np.testing.assert_array_equal(a.history.kpi, b.history.kpi)
        np.testing.assert_array_equal(a.history.motivation, b.history.motivation)
        np.testing.assert_array_equal(a.ties.mentor, b.ties.mentor)
        assert a.event_log == b.event_log


@pytest.mark.parametrize("design", ALL)
def test_same_seed_gives_identical_tables(make_config, design):
    config = make_config(design=design, replications=3, seed=123)
    assert_same_results(sim.run_scenario(config), sim.run_scenario(config))


def test_different_seeds_give_different_runs(make_config):
    config = make_config(replications=3)
    a = sim.run_scenario(make_config(replications=3, seed=1))
    b = sim.run_scenario(make_config(replications=3, seed=2))
    assert not a.summary["seed"].isin(b.summary["seed"]).any()
    assert not np.allclose(a.summary["mean_gain"], b.summary["mean_gain"])
    assert not np.array_equal(a.panel["capacity"], b.panel["capacity"])
    m1, m2 = TwinningModel(config, 1).run(), TwinningModel(config, 2).run()
    assert not np.array_equal(m1.history.capacity, m2.history.capacity)
    # and replications of one scenario differ from each other
    assert a.summary["mean_gain"].nunique() == 3


def test_model_seed_defaults_to_the_config_seed(make_config):
    config = make_config(seed=99)
    a, b = TwinningModel(config).run(), TwinningModel(config, 99).run()
    assert a.seed == 99
    np.testing.assert_array_equal(a.history.kpi, b.history.kpi)


def test_results_do_not_depend_on_kpi_access_order(default_config):
    """Measurement error has its own stream: reading KPIs mid-run must not change anything."""
    a = TwinningModel(default_config, 5)
    for _ in range(6):
        a.step()
    _ = a.history.kpi  # forces the lazy draw early
    for _ in range(a.months - 6):
        a.step()
    b = TwinningModel(default_config, 5).run()
    np.testing.assert_array_equal(a.history.kpi, b.history.kpi)
    np.testing.assert_array_equal(a.history.capacity, b.history.capacity)


# --- replication seeds ------------------------------------------------------------------------


def test_replication_seeds_depend_only_on_the_root_seed():
    seeds = replication_seeds(20210801, 50)
    assert seeds == replication_seeds(20210801, 50)
    assert seeds[:7] == replication_seeds(20210801, 7), "a prefix does not depend on n"
    assert len(set(seeds)) == 50
    assert all(isinstance(s, int) and 0 <= s < 2**63 for s in seeds)
    assert set(seeds).isdisjoint(replication_seeds(20210802, 50))


def test_replication_seeds_do_not_depend_on_the_scenario(make_config):
    seeds = {
        d: sim.run_scenario(make_config(design=d, replications=3, seed=8)).summary["seed"].tolist()
        for d in ("tpn", "none")
    }
    other = sim.run_scenario(
        make_config(replications=3, seed=8, learning={"drift_sd": 3.0})
    ).summary["seed"]
    assert seeds["tpn"] == seeds["none"] == other.tolist() == replication_seeds(8, 3)


@pytest.mark.parametrize("design", ["tpn", "external_expert"])
def test_splitting_replications_gives_identical_rows(make_config, design):
    n, k = 6, 3
    whole = sim.run_scenario(make_config(design=design, replications=n, seed=31))
    first = sim.run_scenario(make_config(design=design, replications=k, seed=31))
    for name in TABLES:
        table = getattr(whole, name)
        shared = table[table["run"] < k].reset_index(drop=True)
        pd.testing.assert_frame_equal(shared, getattr(first, name))
    # any single replication can be re-run on its own from (run, seed)
    config = make_config(design=design, seed=31)
    seeds = replication_seeds(31, n)
    for run in (4, 5):
        model, row = run_replication(Draws(config), run, seeds[run])
        alone = Collector()
        alone.add(model, row, run)
        for name in TABLES:
            table = getattr(whole, name)
            rows = table[table["run"] == run].reset_index(drop=True)
            pd.testing.assert_frame_equal(rows, getattr(alone.results(config.network.label), name))


# --- invariants of one run --------------------------------------------------------------------


def test_history_covers_kickoff_programme_and_followup(default_config):
    m = TwinningModel(default_config, 0)
    assert m.steps == 0 and m.months == 30
    m.run()
    assert m.steps == 30
    n, k = m.pop.applies.shape
    assert (n, k) == (40, 10)
    assert m.history.capacity.shape == (31, 40, 10)
    assert m.history.motivation.shape == (31, 40)
    assert (m.history.capacity[-1] != m.history.capacity[0]).any()


def test_agents_are_views_onto_the_state_arrays(default_config):
    m = TwinningModel(default_config, 2).run()
    by_type = m.agents_by_type
    members = by_type[Institution]
    kinds = members.groupby("kind").count()
    assert kinds == {"hospital": 10, "district": 30}
    assert ExternalExpert not in by_type or len(by_type[ExternalExpert]) == 0
    capacity = m.capacity()
    for agent in members:
        i = agent.index
        assert agent.name == m.pop.names[i] and agent.id == m.pop.ids[i]
        assert agent.kind == m.pop.kinds[m.pop.kind[i]]
        assert agent.motivation == m.motivation[i]
        assert set(agent.capacity) == {t for k, t in enumerate(m.pop.topics) if m.pop.applies[i, k]}
        for topic, value in agent.capacity.items():
            assert value == capacity[i, m.pop.topics.index(topic)]
        assert len(agent.goals) == default_config.kickoff.goals_per_institution
        assert set(agent.partners) <= set(agent.goals)
        for teacher in agent.partners.values():
            assert teacher in m.pop.names and teacher != agent.name
    names = [a.name for a in members.select(lambda a: a.kind == "district")]
    assert "Gasabo district" in names and "Nyagatare district" in names


def test_experts_are_agents_only_under_the_expert_design(make_config):
    m = TwinningModel(make_config(design="external_expert", network={"n_experts": 3}), 0)
    experts = m.agents_by_type[ExternalExpert]
    assert sorted(e.name for e in experts) == ["expert 1", "expert 2", "expert 3"]


@pytest.mark.parametrize("design", ALL)
def test_counterfactual_streams_are_aligned_across_designs(make_config, design):
    """Same seed, any design: same members, same own trajectory, same leaders, same noise."""
    for seed in range(5):
        m = TwinningModel(make_config(design=design), seed).run()
        twin = TwinningModel(make_config(design="none"), seed).run()
        np.testing.assert_array_equal(m.history.capacity[0], twin.history.capacity[0])
        np.testing.assert_array_equal(m.own, twin.own)
        np.testing.assert_array_equal(m.history.leadership, twin.history.leadership)
        np.testing.assert_array_equal(m.interest, twin.interest)
        _ = m.history.kpi, twin.history.kpi  # draw the (lazy) measurement error
        np.testing.assert_array_equal(m.history.error, twin.history.error)


def test_capacity_is_own_trajectory_plus_learning_clipped(default_config):
    m = TwinningModel(default_config, 6).run()
    np.testing.assert_allclose(m.history.capacity[-1], np.clip(m.own + m.learned, 0, 100))


# --- the programme calendar (Table 1 of the article) ------------------------------------------


def test_default_events_follow_table_1(default_config):
    m = TwinningModel(default_config, 0).run()
    log = pd.DataFrame(m.event_log, columns=["month", "event", "mode", "group", "count", "cost"])
    n = m.pop.size
    by_event = log.groupby("event").size().to_dict()
    assert by_event["codesign"] == 1 and log.query("event == 'codesign'")["count"].item() == 2
    assert log.query("event == 'kickoff'")["count"].item() == n
    coaching = log.query("event == 'coaching'")
    assert sorted(coaching["mode"]) == ["in_person", "in_person", "virtual"]
    assert (coaching["count"] == n).all()
    network = log.query("event == 'network_workshop'")
    assert (
        len(network) == 4 and (network["mode"] == "virtual").all() and (network["count"] == n).all()
    )
    provincial = log.query("event == 'provincial_workshop'")
    assert sorted(provincial["group"]) == sorted(m.pop.groups) and len(provincial) == 4
    assert provincial["count"].sum() == n, "every member attends its province's workshop once"
    visits = log.query("event == 'exchange_visit'")
    assert visits["month"].tolist() == [3, 6, 9, 12, 15, 18]
    assert (visits["count"] == (m.ties.mentor < n).sum()).all()
    assert log["month"].between(0, default_config.schedule.programme_months).all()


def test_costs_follow_unit_costs(default_config):
    m = TwinningModel(default_config, 0).run()
    c = default_config.costs
    for month, kind, mode, _group, count, cost in m.event_log:
        unit = {
            ("codesign", "in_person"): c.codesign_workshop,
            ("kickoff", "in_person"): c.kickoff_participant,
            ("coaching", "in_person"): c.coaching_in_person,
            ("coaching", "virtual"): c.coaching_virtual,
            ("network_workshop", "virtual"): c.workshop_virtual,
            ("provincial_workshop", "in_person"): c.workshop_in_person,
            ("exchange_visit", "in_person"): c.exchange_visit,
        }[kind, mode]
        assert cost == pytest.approx(count * unit), (month, kind)


def test_groupless_provincial_workshop_is_held_in_every_group(make_config):
    events = [EventSpec(EventKind.provincial_workshop, 2)]
    m = TwinningModel(make_config(schedule=ScheduleConfig(events=events)), 0).run()
    held = [e for e in m.event_log if e[1] == "provincial_workshop"]
    assert sorted(e[3] for e in held) == sorted(m.pop.groups)
    assert {e[0] for e in held} == {2}


def test_moving_an_event_moves_it_in_the_log(make_config):
    events = [EventSpec(EventKind.network_workshop, 7, Mode.in_person)]
    m = TwinningModel(make_config(schedule=ScheduleConfig(events=events)), 0).run()
    held = [e for e in m.event_log if e[1] == "network_workshop"]
    assert [(e[0], e[2]) for e in held] == [(7, "in_person")]


def test_events_given_as_strings_behave_like_enums(make_config):
    as_enum = [EventSpec(EventKind.coaching, 3, Mode.virtual)]
    as_str = [EventSpec("coaching", 3, "virtual")]
    config = make_config(schedule=ScheduleConfig(events=as_str), replications=1)
    assert config.schedule.events[0].kind is EventKind.coaching  # YAML and CSV give strings
    a = sim.run_scenario(config)
    b = sim.run_scenario(make_config(schedule=ScheduleConfig(events=as_enum), replications=1))
    pd.testing.assert_frame_equal(a.events, b.events)


def test_default_config_object_is_not_mutated_by_a_run():
    config = ScenarioConfig(replications=2)
    before = repr(config)
    sim.run_scenario(config)
    assert repr(config) == before


def test_a_finished_model_is_freed() -> None:
    """No reference outlives a finished model (Mesa before 3.4.2 kept every model alive,
    mesa issue #3179), so long calibrations and sweeps do not grow without bound."""
    model = TwinningModel(ScenarioConfig(replications=1), 3).run()
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None
