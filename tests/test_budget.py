"""Equal budgets (sim.core.budget): visit rounds on hand-made queues, the fixed cost of a programme,
and what a budget buys in real runs of the model."""

from __future__ import annotations

import logging
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import sim
from sim import ConfigError, TwinningModel
from sim.config import EventKind, EventSpec, Mode, ScheduleConfig
from sim.core.budget import VisitRounds, budget_scale, fixed_cost
from sim.core.designs.base import DESIGNS
from sim.core.population import build_population
from sim.core.run import run_summaries
from sim.core.schedule import events_by_month

PROGRAMMES = ["tpn", "pairwise", "hub", "random", "external_expert"]
FIXED_EVENTS = ["codesign", "kickoff", "coaching", "network_workshop", "provincial_workshop"]


pytestmark = pytest.mark.usefixtures("quiet_run")


def with_budget(make_config, design, budget, **kwargs):
    config = make_config(design=design, **kwargs)
    return replace(config, costs=replace(config.costs, budget=float(budget)))


def all_rounds(rounds: VisitRounds) -> np.ndarray:
    """(rounds, ties) visits of every round, from a fresh copy of `rounds`."""
    fresh = VisitRounds(rounds.queue, rounds.per_queue, rounds.rounds)
    return np.array([fresh.next_round() for _ in range(fresh.rounds)])


def fixed_cost_of(config) -> float:
    """sim.core.budget.fixed_cost of a config's schedule and population layout."""
    pop = build_population(config.population, np.random.default_rng(0))
    design = DESIGNS[config.network.design]
    plan = events_by_month(config.schedule, pop.groups)
    return fixed_cost(plan, pop, config, design)


# --- VisitRounds on hand-made queues ------------------------------------------------------------


def test_full_schedule_visits_every_tie_once_per_round():
    """Without a budget, one visit per tie and round: else the default schedule would change."""
    queue = np.array([0, 1, 0, 2, 1, 0])  # queues of 3, 2 and 1 ties, interleaved
    rounds = VisitRounds(queue, np.array([3 * 4, 2 * 4, 1 * 4]), 4)
    for _ in range(4):
        np.testing.assert_array_equal(rounds.next_round(), np.ones(6, dtype=np.int64))


def test_fewer_visits_than_ties_go_round_the_queue_in_slot_order():
    """Visits must hit ties 0, 1, 2, 3, 0, 1 ... of the queue, never skipping or repeating one."""
    rounds = VisitRounds(np.zeros(4, dtype=np.int64), np.array([6]), 3)
    expected = [[1, 1, 0, 0], [0, 0, 1, 1], [1, 1, 0, 0]]
    np.testing.assert_array_equal(all_rounds(rounds), expected)


def test_interleaved_queues_keep_their_own_slot_order():
    """Slots count within a queue, in tie order: a tie of another queue between them is skipped."""
    queue = np.array([1, 0, 1, 0, 1])  # queue 0: ties 1, 3; queue 1: ties 0, 2, 4
    rounds = VisitRounds(queue, np.array([1, 4]), 2)
    # queue 1 visits ties 0, 2 then 4, 0; queue 0's single visit falls in round 2, on tie 1
    expected = [[1, 0, 1, 0, 0], [1, 1, 0, 0, 1]]
    np.testing.assert_array_equal(all_rounds(rounds), expected)


def test_more_visits_than_ties_differ_by_at_most_one_per_round():
    """With more visits than ties, a round's visits must stay spread evenly over the queue."""
    rounds = VisitRounds(np.zeros(3, dtype=np.int64), np.array([10]), 2)
    expected = [[2, 2, 1], [2, 1, 2]]  # visits 0-4 hit slots 0,1,2,0,1; visits 5-9 hit 2,0,1,2,0
    np.testing.assert_array_equal(all_rounds(rounds), expected)


@pytest.mark.parametrize("case", range(20))
def test_visit_rounds_properties_on_random_queues(case):
    """Totals, fairness within a queue and an even spread over rounds, on assorted queues."""
    rng = np.random.default_rng(case)
    n_queues = int(rng.integers(1, 5))
    queue = rng.integers(0, n_queues, int(rng.integers(1, 15)))
    per_queue = rng.integers(0, 40, n_queues)
    n_rounds = int(rng.integers(1, 9))
    visits = all_rounds(VisitRounds(queue, per_queue, n_rounds))
    assert (visits >= 0).all()
    staffed = np.unique(queue)
    totals = np.bincount(queue, weights=visits.sum(axis=0), minlength=n_queues)
    np.testing.assert_array_equal(totals[staffed], per_queue[staffed])
    cumulative = visits.cumsum(axis=0)
    for q in staffed:
        ties = np.flatnonzero(queue == q)  # in slot order
        made = visits[:, ties].sum(axis=1)
        assert made.max() - made.min() <= 1, "a queue's visits are not spread evenly over rounds"
        for done in cumulative[:, ties]:
            assert done.max() - done.min() <= 1, "a tie got a second visit before another its first"
            assert (np.diff(done) <= 0).all(), "visits did not follow the slot order"
        for this_round in visits[:, ties]:
            assert this_round.max() - this_round.min() <= 1


def test_scaled_floors_each_queue_and_starts_afresh():
    """A budget buys whole visits per queue: rounding up would overspend, 1/3 x 3 must give 1."""
    queue = np.array([0, 1, 2, 3])
    rounds = VisitRounds(queue, np.array([3, 6, 9, 10]), 3)
    rounds.next_round()
    third = rounds.scaled(1 / 3)
    np.testing.assert_array_equal(third.per_queue, [1, 2, 3, 3])
    np.testing.assert_array_equal(rounds.scaled(0.5).per_queue, [1, 3, 4, 5])
    np.testing.assert_array_equal(rounds.scaled(0.0).per_queue, [0, 0, 0, 0])
    np.testing.assert_array_equal(rounds.scaled(1.0).per_queue, rounds.per_queue)
    assert third.rounds == 3 and third.done == 0
    np.testing.assert_array_equal(third.queue, queue)
    np.testing.assert_array_equal(rounds.per_queue, [3, 6, 9, 10])  # the original is unchanged
    # 49 * (1 / 49) and 22 * (15 / 22) fall just short of 1 and 15 in floating point
    exact = VisitRounds(np.array([0, 1]), np.array([49, 22]), 2)
    np.testing.assert_array_equal(exact.scaled(1 / 49).per_queue, [1, 0])
    np.testing.assert_array_equal(exact.scaled(15 / 22).per_queue, [33, 15])


def test_visits_ignores_queues_without_ties():
    """An expert with no learner makes no visit, so it must not count in the money to spend."""
    rounds = VisitRounds(np.array([0, 0, 2]), np.array([5, 7, 9]), 3)
    assert rounds.visits == 5 + 9
    assert VisitRounds(np.zeros(0, dtype=np.int64), np.array([8]), 2).visits == 0


# --- budget_scale -------------------------------------------------------------------------------


def test_budget_scale_is_one_without_a_budget():
    """No budget (infinite money) must leave the schedule as planned."""
    exchange = VisitRounds(np.zeros(3, dtype=np.int64), np.array([18]), 6)
    assert budget_scale(float("inf"), [(exchange, 400.0)]) == 1.0


def test_budget_scale_is_money_over_scheduled_spend():
    """One common factor for every kind of visit: the money over what the schedule costs."""
    exchange = VisitRounds(np.zeros(2, dtype=np.int64), np.array([4]), 2)
    expert = VisitRounds(np.array([0, 0, 1]), np.array([3, 5, 7]), 3)  # expert 2 has no tie
    scheduled = 4 * 400.0 + (3 + 5) * 1500.0
    scale = budget_scale(10_000.0, [(exchange, 400.0), (expert, 1500.0)])
    assert scale == pytest.approx(10_000.0 / scheduled)
    assert budget_scale(scheduled, [(exchange, 400.0), (expert, 1500.0)]) == pytest.approx(1.0)
    assert budget_scale(0.0, [(exchange, 400.0), (expert, 1500.0)]) == 0.0


def test_budget_scale_is_zero_when_nothing_is_scheduled():
    """No visit to scale (no ties): no division by zero, nothing is bought."""
    empty = VisitRounds(np.zeros(0, dtype=np.int64), np.array([0]), 0)
    assert budget_scale(5000.0, [(empty, 400.0)]) == 0.0
    assert budget_scale(5000.0, []) == 0.0


# --- the fixed cost of a programme --------------------------------------------------------------


@pytest.mark.parametrize("design", ["tpn", "external_expert"])
def test_fixed_cost_is_what_a_run_logs_for_its_fixed_activities(make_config, design):
    """The budget's fixed part must be what the model really spends before any visit."""
    config = make_config(design=design, replications=3, seed=2)
    results = sim.run_scenario(config)
    events = results.events
    assert design != "external_expert" or not events["event"].str.contains("workshop").any()
    logged = events[events["event"].isin(FIXED_EVENTS)].groupby("run")["cost"].sum()
    assert list(logged.index) == [0, 1, 2]
    assert logged.tolist() == pytest.approx([fixed_cost_of(config)] * 3)


def test_fixed_cost_of_the_default_schedule_by_hand(make_config):
    """Known answer from the unit costs: co-design, kick-off, 3 coachings, workshops (ODD 7.14)."""
    config = make_config()
    c, n = config.costs, 40
    coaching = n * c.coaching_virtual + 2 * n * c.coaching_in_person
    workshops = 4 * n * c.workshop_virtual + n * c.workshop_in_person  # 4 groups cover everyone
    base = 2 * c.codesign_workshop + n * c.kickoff_participant
    assert fixed_cost_of(config) == pytest.approx(base + coaching + workshops) == 46_400
    experts = make_config(design="external_expert")
    assert fixed_cost_of(experts) == pytest.approx(base + coaching) == 35_600


# --- what a budget buys -------------------------------------------------------------------------


@pytest.mark.parametrize("budget", [150_000, 300_000])
@pytest.mark.parametrize("design", PROGRAMMES)
def test_budget_is_spent_to_within_one_visit_per_visitor(make_config, design, budget):
    """Designs compared at equal budget must each spend it, never more, at most a visit less."""
    config = with_budget(make_config, design, budget, replications=3, seed=4)
    results = sim.run_scenario(config)
    spent = results.summary["total_cost"]
    costs = config.costs
    if design == "external_expert":
        slack = config.network.n_experts * costs.expert_visit
    else:
        slack = costs.exchange_visit
    assert len(spent) == 3
    assert (spent <= budget).all(), spent.tolist()
    assert (spent > budget - slack).all(), spent.tolist()
    visit = "expert_visit" if design == "external_expert" else "exchange_visit"
    assert visit in set(results.events["event"])


def test_no_programme_costs_nothing_whatever_the_budget(make_config):
    """Design none has no programme: a budget must neither be spent nor rejected."""
    config = with_budget(make_config, "none", 1, replications=2)
    TwinningModel(config)
    results = sim.run_scenario(config)
    assert (results.summary["total_cost"] == 0).all()
    assert results.events.empty


def test_budget_zero_is_the_schedule_as_planned(make_config):
    """costs.budget=0 means no cap: results must be those of the untouched default config."""
    config = make_config(design="tpn", replications=4, seed=9)
    zero = replace(config, costs=replace(config.costs, budget=0.0))
    for design in ["tpn", "external_expert"]:
        a = run_summaries(replace(config, network=replace(config.network, design=design)))
        b = run_summaries(replace(zero, network=replace(zero.network, design=design)))
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_without_budget_every_round_visits_every_tie_once(make_config):
    """The default schedule: a visit per peer tie and round, P visits per expert and month."""
    results = sim.run_scenario(make_config(design="tpn", replications=2, seed=3))
    ties = results.ties[results.ties["status"] == "matched"].groupby("run").size()
    visits = results.events[results.events["event"] == "exchange_visit"]
    assert sorted(set(visits["month"])) == [3, 6, 9, 12, 15, 18]
    for run, rows in visits.groupby("run"):
        assert (rows["participants"] == ties[run]).all()
    config = make_config(design="external_expert", replications=2, seed=3)
    experts = sim.run_scenario(config).events
    experts = experts[experts["event"] == "expert_visit"]
    per_month = config.network.n_experts * config.network.expert_visits_per_month
    assert sorted(set(experts["month"])) == list(range(1, 19))
    assert (experts["participants"] == per_month).all()


def test_budget_keeps_the_calendar_and_spreads_visits_evenly(make_config):
    """Fewer visits must be spread over the same months, not spent up front."""
    config = with_budget(make_config, "external_expert", 100_000, replications=2, seed=6)
    events = sim.run_scenario(config).events
    experts = events[events["event"] == "expert_visit"]
    months = config.schedule.programme_months
    for _, rows in experts.groupby("run"):
        counts = rows.set_index("month")["participants"].reindex(range(1, months + 1), fill_value=0)
        assert counts.sum() < config.network.n_experts * 4 * months  # fewer than planned
        assert counts.max() - counts.min() <= config.network.n_experts
        assert counts.iloc[-1] > 0  # still visiting in the last month
    tpn = sim.run_scenario(with_budget(make_config, "tpn", 100_000, replications=2, seed=6))
    rounds = tpn.events[tpn.events["event"] == "exchange_visit"]
    assert set(rounds["month"]) == {3, 6, 9, 12, 15, 18}


@pytest.mark.parametrize("design", ["tpn", "external_expert"])
def test_more_money_buys_more_learning(make_config, design):
    """Visits bought by a larger budget must raise the effect, replication by replication."""
    low = run_summaries(with_budget(make_config, design, 100_000, replications=30, seed=12))
    high = run_summaries(with_budget(make_config, design, 400_000, replications=30, seed=12))
    assert (low["seed"] == high["seed"]).all()
    assert (high["total_cost"] > low["total_cost"]).all()
    diff = high["mean_effect"] - low["mean_effect"]
    assert diff.mean() - 1.96 * diff.std() / np.sqrt(len(diff)) > 0
    assert (diff > 0).mean() >= 0.9


# --- a budget below the fixed cost --------------------------------------------------------------


@pytest.mark.parametrize(("design", "fixed"), [("tpn", 46_400), ("external_expert", 35_600)])
def test_budget_below_the_fixed_cost_is_rejected(make_config, design, fixed):
    """A budget that cannot pay the fixed activities must fail, naming key, value and design."""
    config = with_budget(make_config, design, fixed - 1)
    with pytest.raises(ConfigError) as error:
        TwinningModel(config)
    message = str(error.value)
    assert message.startswith(f"costs.budget={fixed - 1} ")
    assert repr(design) in message
    assert f"{fixed:,}" in message
    exact = with_budget(make_config, design, fixed, replications=1)
    TwinningModel(exact)  # exactly the fixed cost: allowed, with no money for visits
    results = sim.run_scenario(exact)
    assert results.summary["total_cost"].tolist() == [fixed]
    assert not results.events["event"].str.endswith("visit").any()


def test_budget_between_the_designs_fixed_costs_splits_them(make_config):
    """The fixed cost is per design: experts hold no workshops, so they need less money."""
    TwinningModel(with_budget(make_config, "external_expert", 40_000))
    with pytest.raises(ConfigError, match=re.escape("network.design='tpn'")):
        TwinningModel(with_budget(make_config, "tpn", 40_000))


@pytest.mark.slow
def test_command_line_rejects_a_budget_below_the_fixed_cost(tmp_path, tpn_sim):
    """tpn-sim must stop before running, with one line naming the budget, and write nothing."""
    done = tpn_sim("costs.budget=1000", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("tpn-sim: error: costs.budget=1000 ")
    assert "'tpn'" in lines[0]
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_command_line_checks_the_budget_of_every_job_of_a_sweep(tmp_path, tpn_sim):
    """A sweep must be rejected if any job's design cannot be paid, not only the first."""
    done = tpn_sim("-m", "network=external_expert,tpn", "costs.budget=40000", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("tpn-sim: error: costs.budget=40000 ")
    assert "'tpn'" in lines[0]
    assert not (tmp_path / "results").exists()


# --- events restricted to a group ---------------------------------------------------------------


@pytest.mark.parametrize("mode", [Mode.in_person, Mode.virtual])
def test_group_coaching_logs_and_costs_only_the_group(make_config, mode):
    """A coaching session for the North must count and cost the North's members, not everyone."""
    schedule = ScheduleConfig(events=[EventSpec(EventKind.coaching, 5, mode, "North")])
    config = make_config(design="tpn", replications=2, schedule=schedule)
    pop = build_population(config.population, np.random.default_rng(0))
    north = int((pop.event_group == pop.groups.index("North")).sum())
    assert north == 7  # Northern province: 2 hospitals and 5 districts
    results = sim.run_scenario(config)
    in_north = results.panel[results.panel["province"] == "Northern"]
    assert in_north["institution"].nunique() == north
    coaching = results.events[results.events["event"] == "coaching"]
    assert len(coaching) == 2  # one session per replication
    unit = (
        config.costs.coaching_virtual if mode is Mode.virtual else config.costs.coaching_in_person
    )
    assert (coaching["participants"] == north).all()
    assert (coaching["group"] == "North").all()
    assert (coaching["month"] == 5).all()
    assert coaching["cost"].tolist() == pytest.approx([north * unit] * 2)
    fixed = 2 * config.costs.codesign_workshop + pop.size * config.costs.kickoff_participant
    assert fixed_cost_of(config) == pytest.approx(fixed + north * unit)


def test_a_budget_the_schedule_cannot_spend_is_reported(make_config, caplog):
    """No exchange visits scheduled: the money beyond the fixed part cannot be spent, and the
    user is told, since the design is then compared at a lower spend than asked."""
    config = make_config(design="tpn", replications=2)
    config = replace(
        config,
        schedule=replace(config.schedule, exchange_visit_every=0),
        costs=replace(config.costs, budget=200_000.0),
    )
    with caplog.at_level(logging.WARNING, logger="sim.core.run"):
        results = sim.run_scenario(config)
    assert (results.summary["total_cost"] < 100_000).all()
    warnings = [r.getMessage() for r in caplog.records if r.name == "sim.core.run"]
    assert any("costs.budget=200000" in w and "'tpn'" in w for w in warnings), warnings
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sim.core.run"):
        sim.run_scenario(replace(config, schedule=replace(config.schedule, exchange_visit_every=3)))
    assert not [r for r in caplog.records if "costs.budget" in r.getMessage()]
