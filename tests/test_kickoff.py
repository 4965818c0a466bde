"""Kick-off: goal setting, high performers, and the TPN's partner matching, over many seeds."""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest

import sim
from sim import TwinningModel

SEEDS = range(40)


def kickoff_model(config, seed: int) -> TwinningModel:
    """A model at month 0: population drawn, baseline measured, goals set, ties wired."""
    return TwinningModel(config, seed)


def eligible_mentors(model: TwinningModel, learner: int, topic: int) -> np.ndarray:
    """Members the TPN may match to this goal, recomputed from the kick-off data."""
    obs, ko = model.kickoff.observed, model.config.kickoff
    ok = model.kickoff.high_performer[:, topic] & (
        obs[:, topic] >= obs[learner, topic] + ko.min_gap
    )
    ok[learner] = False
    return np.flatnonzero(ok)


# --- the TPN partner invariants ---------------------------------------------------------------


@pytest.mark.parametrize("min_gap", [0.0, 3.0, 10.0])
def test_tpn_partner_is_better_same_type_high_performer_and_not_self(make_config, min_gap):
    config = make_config(kickoff={"min_gap": min_gap})
    n_ties = 0
    for seed in SEEDS:
        m = kickoff_model(config, seed)
        pop, ko, ties = m.pop, m.kickoff, m.ties
        obs = ko.observed
        learner, mentor, topic = ties.learner, ties.mentor, ties.topic
        assert (mentor < pop.size).all(), "the TPN uses member peers only"
        assert (mentor != learner).all()
        assert (pop.kind[mentor] == pop.kind[learner]).all()
        assert (obs[mentor, topic] >= obs[learner, topic] + min_gap).all()
        assert ko.high_performer[mentor, topic].all()
        assert ko.goals[learner, topic].all(), "ties serve goals only"
        assert len(set(zip(learner.tolist(), topic.tolist(), strict=True))) == len(ties)
        # high performer recomputed independently: top quantile of the same type in that topic
        q = m.config.kickoff.high_performer_quantile
        for mtr, k in zip(mentor.tolist(), topic.tolist(), strict=True):
            same = pop.kind == pop.kind[mtr]
            assert obs[mtr, k] >= np.quantile(obs[same, k], q)
        n_ties += len(ties)
    assert n_ties > 0.5 * len(SEEDS) * 80, "most goals should find a partner by default"


@pytest.mark.parametrize("max_mentees", [1, 2, 4])
def test_tpn_mentor_loads_are_respected(make_config, max_mentees):
    config = make_config(kickoff={"max_mentees": max_mentees})
    busiest = 0
    for seed in SEEDS:
        m = kickoff_model(config, seed)
        load = np.bincount(m.ties.mentor, minlength=m.pop.size)
        assert load.max() <= max_mentees
        busiest = max(busiest, int(load.max()))
    assert busiest == max_mentees, "the cap should bind somewhere over 40 seeds"


@pytest.mark.parametrize("max_mentees", [1, 2, 4])
def test_no_goal_is_left_unmatched_while_an_eligible_mentor_had_room(make_config, max_mentees):
    config = make_config(kickoff={"max_mentees": max_mentees})
    for seed in SEEDS:
        m = kickoff_model(config, seed)
        load = np.bincount(m.ties.mentor, minlength=m.pop.size)
        served = set(zip(m.ties.learner.tolist(), m.ties.topic.tolist(), strict=True))
        for learner, topic in zip(*m.kickoff.goal_cells(), strict=True):
            if (int(learner), int(topic)) in served:
                continue
            mentors = eligible_mentors(m, learner, topic)
            assert (load[mentors] == max_mentees).all(), (seed, learner, topic)


def test_unconstrained_tpn_picks_the_best_scored_eligible_peer(make_config):
    config = make_config(kickoff={"max_mentees": 10_000})
    for seed in SEEDS[:15]:
        m = kickoff_model(config, seed)
        pref = m.config.kickoff.similarity_preference
        obs, resource = m.kickoff.observed, m.pop.resource
        served = {}
        for learner, mentor, topic in zip(m.ties.learner, m.ties.mentor, m.ties.topic, strict=True):
            served[learner, topic] = mentor
        for learner, topic in zip(*m.kickoff.goal_cells(), strict=True):
            mentors = eligible_mentors(m, learner, topic)
            if not len(mentors):
                assert (learner, topic) not in served
                continue
            score = pref * (1 - np.abs(resource[mentors] - resource[learner]))
            score += (1 - pref) * obs[mentors, topic] / 100
            best = score.max()
            chosen = served[learner, topic]
            chosen_score = pref * (1 - abs(resource[chosen] - resource[learner]))
            chosen_score += (1 - pref) * obs[chosen, topic] / 100
            assert chosen_score == pytest.approx(best, abs=1e-12)


def test_similarity_preference_brings_partners_closer_in_resources(make_config):
    def mean_resource_gap(pref: float) -> float:
        config = make_config(kickoff={"similarity_preference": pref, "max_mentees": 10_000})
        gaps = []
        for seed in SEEDS:
            m = kickoff_model(config, seed)
            r = m.pop.resource
            gaps.append(np.abs(r[m.ties.mentor] - r[m.ties.learner]).mean())
        return float(np.mean(gaps))

    assert mean_resource_gap(1.0) < mean_resource_gap(0.0) - 0.05


# --- goals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("goals", [1, 2, 3, 5])
def test_each_institution_sets_exactly_its_goals_in_applicable_topics(make_config, goals):
    config = make_config(kickoff={"goals_per_institution": goals})
    for seed in SEEDS:
        m = kickoff_model(config, seed)
        chosen = m.kickoff.goals
        assert (chosen.sum(axis=1) == goals).all()
        assert not (chosen & ~m.pop.applies).any(), "a goal in a topic of another type"


def test_goals_follow_interest_when_only_interest_counts(make_config):
    config = make_config(kickoff={"gap_weight": 0.0, "choice_noise": 0.0})
    for seed in SEEDS[:10]:
        m = kickoff_model(config, seed)
        interest = np.where(m.pop.applies, m.pop.interest, -np.inf)
        top2 = np.sort(np.argsort(-interest, axis=1)[:, :2], axis=1)
        chosen = np.array([np.flatnonzero(row) for row in m.kickoff.goals])
        np.testing.assert_array_equal(chosen, top2)


def test_goals_follow_gaps_when_only_gaps_count(make_config):
    config = make_config(kickoff={"interest_weight": 0.0, "choice_noise": 0.0})
    for seed in SEEDS[:10]:
        m = kickoff_model(config, seed)
        gap = np.where(m.pop.applies, m.kickoff.gap, -np.inf)
        for i in range(m.pop.size):
            goal_gaps = gap[i, m.kickoff.goals[i]]
            other = gap[i, m.pop.applies[i] & ~m.kickoff.goals[i]]
            assert goal_gaps.min() >= other.max()


def test_chosen_topics_vary_across_institutions_and_seeds(make_config):
    """Self-selection is a choice, not a fixed rule: every topic is someone's goal somewhere."""
    counts = sum(kickoff_model(make_config(), seed).kickoff.goals.sum(axis=0) for seed in SEEDS)
    assert (counts > 0).all()


# --- high performers and gaps -----------------------------------------------------------------


def type_topic_cells(pop):
    """(members of one type, one of its topics) for every type present and topic it has."""
    for kind in np.unique(pop.kind):
        members = pop.kind == kind
        for k in np.flatnonzero(pop.applies[members].any(axis=0)):
            yield members, k


@pytest.mark.parametrize("quantile", [0.0, 0.5, 0.7, 1.0])
def test_high_performers_are_the_top_quantile_of_their_type(make_config, quantile):
    config = make_config(kickoff={"high_performer_quantile": quantile})
    for seed in SEEDS[:10]:
        m = kickoff_model(config, seed)
        pop, obs, high = m.pop, m.kickoff.observed, m.kickoff.high_performer
        assert not (high & ~pop.applies).any()
        for members, k in type_topic_cells(pop):
            expected = obs[members, k] >= np.quantile(obs[members, k], quantile)
            np.testing.assert_array_equal(high[members, k], expected)
            assert high[members, k].any(), "every topic has at least one high performer"


def test_gaps_are_distance_below_the_high_performers_mean(default_config):
    for seed in SEEDS[:10]:
        m = kickoff_model(default_config, seed)
        pop, obs, ko = m.pop, m.kickoff.observed, m.kickoff
        assert (ko.gap >= 0).all()
        assert (ko.gap[~pop.applies] == 0).all()
        for members, k in type_topic_cells(pop):
            level = obs[ko.high_performer[:, k] & members, k].mean()
            expected = np.maximum(level - obs[members, k], 0)
            np.testing.assert_allclose(ko.gap[members, k], expected)


def test_kickoff_decides_on_measured_not_true_capacity(make_config):
    exact = kickoff_model(make_config(learning={"measurement_sd": 0.0}), 3)
    np.testing.assert_allclose(exact.kickoff.observed, exact.pop.capacity)
    noisy = kickoff_model(make_config(learning={"measurement_sd": 5.0}), 3)
    assert not np.allclose(noisy.kickoff.observed, noisy.pop.capacity)
    np.testing.assert_array_equal(noisy.kickoff.observed, noisy.history.kpi[0])


# --- no better peer: goals stay unmatched, are listed, counted and warned about ---------------


def assert_unmatched_reported(results: sim.Results, caplog, expected_at_least: int) -> None:
    ties, summary = results.ties, results.summary
    lost = ties[ties["status"] == "unmatched"]
    assert set(ties["status"]) <= {"matched", "unmatched"}
    assert lost["teacher"].isna().all() and lost["teacher_kpi"].isna().all()
    per_run = lost.groupby("run").size().reindex(summary["run"], fill_value=0)
    np.testing.assert_array_equal(summary["unmatched_goals"].to_numpy(), per_run.to_numpy())
    assert (summary["unmatched_goals"] >= expected_at_least).all()
    # every goal is in the ties table exactly once, matched or not
    np.testing.assert_array_equal(
        ties.groupby("run").size().reindex(summary["run"]).to_numpy(), summary["goals"]
    )
    warnings = [
        r for r in caplog.records if r.name == "sim.core.run" and r.levelno == logging.WARNING
    ]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "unmatched" in message
    assert re.search(rf"(?<![\d.]){len(lost)}(?![\d.])", message), "total count not stated"


@pytest.mark.parametrize("design", ["tpn", "pairwise", "hub"])
def test_lone_hospital_goals_stay_unmatched(lone_hospital, design, caplog):
    config = lone_hospital(design=design, replications=4, seed=5)
    with caplog.at_level(logging.WARNING, logger="sim.core.run"):
        results = sim.run_scenario(config)
    hospital = results.ties[results.ties["type"] == "hospital"]
    assert len(hospital) == 4 * config.kickoff.goals_per_institution
    assert (hospital["status"] == "unmatched").all()
    assert (hospital["learner"] == "Solo hospital 1").all()
    assert_unmatched_reported(results, caplog, expected_at_least=2)
    assert np.isfinite(results.panel["capacity"]).all()
    assert (results.summary["mean_gain"].notna()).all()


def test_min_gap_of_100_leaves_every_goal_unmatched(make_config, caplog):
    config = make_config(kickoff={"min_gap": 100.0}, replications=3, seed=9)
    with caplog.at_level(logging.WARNING, logger="sim.core.run"):
        results = sim.run_scenario(config)
    assert (results.ties["status"] == "unmatched").all()
    assert (results.summary["unmatched_goals"] == results.summary["goals"]).all()
    assert_unmatched_reported(results, caplog, expected_at_least=80)
    # no tie means nobody travels: exchange visits have no participants and cost nothing
    visits = results.events[results.events["event"] == "exchange_visit"]
    assert (visits["participants"] == 0).all() and (visits["cost"] == 0).all()


@pytest.mark.parametrize("design", ["random", "external_expert", "none"])
def test_no_warning_when_every_goal_is_served(make_config, design, caplog):
    config = make_config(design=design, replications=3, seed=9)
    with caplog.at_level(logging.WARNING, logger="sim.core.run"):
        results = sim.run_scenario(config)
    assert (results.summary["unmatched_goals"] == 0).all()
    assert not [r for r in caplog.records if r.name == "sim.core.run"]
