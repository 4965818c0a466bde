"""The learning rule: properties of the functions in sim.core.learning and of the model using
them."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pytest

import sim
from sim import TwinningModel
from sim.config import LearningConfig
from sim.core.designs.base import DESIGNS
from sim.core.learning import (
    TieBatch,
    context_fit,
    effort,
    engagement,
    headroom,
    learn,
    tie_gains,
    updated_motivation,
)
from sim.core.scenario import ScenarioConfig

ALL = sorted(DESIGNS)
CFG = LearningConfig()


def effort_of(traits: dict[str, np.ndarray], cfg: LearningConfig) -> np.ndarray:
    """Effort from a member's traits, as the model computes it (engagement cached per leader)."""
    return effort(
        traits["motivation"],
        traits["time"],
        engagement(traits["leadership"], traits["interest"], cfg),
        cfg,
    )


def unit(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.random(shape)


def random_state(seed: int, n: int = 12, k: int = 4, n_ties: int = 20):
    """A random (N, K) capacity, member teachers and a batch of peer ties over all topics."""
    rng = np.random.default_rng(seed)
    capacity = 100 * unit(rng, n, k)
    learner = rng.integers(0, n, n_ties)
    teacher = (learner + rng.integers(1, n, n_ties)) % n
    topic = rng.integers(0, k, n_ties)
    ties = TieBatch.build(
        learner, teacher, topic, unit(rng, n_ties), unit(rng, n_ties), np.ones(n_ties), k
    )
    traits = dict(
        motivation=unit(rng, n),
        leadership=unit(rng, n),
        interest=unit(rng, n, k),
        time=unit(rng, n),
    )
    return capacity, ties, traits


def one_tie(learner, teacher, topic, *, intensity, fit, peer, k) -> TieBatch:
    """A batch holding a single tie."""
    as_array = lambda x: np.array([x])  # noqa: E731
    return TieBatch.build(
        *map(as_array, (learner, teacher, topic, intensity, fit, peer)), n_topics=k
    )


def points(capacity, teacher_level, room, effort_nk, ties) -> np.ndarray:
    """The points each tie adds to its learner (the first output of tie_gains)."""
    gains, gap = tie_gains(capacity, teacher_level, room, effort_nk, ties)
    expected_gap = teacher_level.ravel()[ties.teacher_cell] - capacity.ravel()[ties.learner_cell]
    np.testing.assert_allclose(gap, np.maximum(expected_gap, 0))
    return gains


def gains_for(capacity, ties, traits, cfg=CFG, teacher_level=None):
    e = effort_of(traits, cfg)
    level = capacity if teacher_level is None else teacher_level
    return points(capacity, level, headroom(capacity, cfg.ceiling_exponent), e, ties)


# --- effort -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_effort_is_in_unit_interval_and_non_decreasing_in_leadership(seed):
    _, _, t = random_state(seed)
    rng = np.random.default_rng(1000 + seed)
    cfg = replace(CFG, leadership_weight=float(rng.uniform(0, 5)))
    base = effort_of(t, cfg)
    assert ((base >= 0) & (base <= 1)).all()
    more = np.minimum(t["leadership"] + rng.uniform(0, 0.5, t["leadership"].shape), 1)
    raised = effort_of(t | {"leadership": more}, cfg)
    assert (raised >= base).all()


def test_effort_is_non_decreasing_in_every_ingredient():
    _, _, t = random_state(0)
    base = effort_of(t, CFG)
    for name in ("motivation", "leadership", "interest", "time"):
        up = dict(t)
        up[name] = np.sqrt(t[name])  # larger, still in [0, 1]
        assert (effort_of(up, CFG) >= base).all()


def test_effort_stalls_when_one_ingredient_is_missing():
    _, _, t = random_state(0)
    for name in ("motivation", "leadership", "time"):
        zero = dict(t)
        zero[name] = np.zeros_like(t[name])
        e = effort_of(zero, CFG)
        assert (e == 0).all(), name


def test_effort_ignores_ingredients_with_zero_weight():
    _, _, t = random_state(0)
    cfg = replace(CFG, motivation_weight=0.0, leadership_weight=0.0, time_weight=0.0)
    e = effort_of(t, cfg)
    np.testing.assert_array_equal(e, 1.0)


# --- tie gains --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_tie_gains_are_bounded_by_the_gap_to_the_teacher(seed):
    capacity, ties, t = random_state(seed)
    g = gains_for(capacity, ties, t)
    gap = np.maximum(capacity.ravel()[ties.teacher_cell] - capacity.ravel()[ties.learner_cell], 0)
    assert (g >= 0).all()
    assert (g <= gap + 1e-12).all(), "a learner never overtakes its teacher through one tie"
    assert (g[gap == 0] == 0).all()


@pytest.mark.parametrize("seed", range(20))
def test_tie_gains_are_zero_when_the_teacher_is_not_better(seed):
    capacity, ties, t = random_state(seed)
    flat = capacity.ravel()
    worse = flat[ties.teacher_cell] <= flat[ties.learner_cell]
    # swap roles where the teacher is better, so that no teacher is above its learner
    learner_cell = np.where(worse, ties.learner_cell, ties.teacher_cell)
    teacher_cell = np.where(worse, ties.teacher_cell, ties.learner_cell)
    k = capacity.shape[1]
    flipped = replace(
        ties, learner=learner_cell // k, learner_cell=learner_cell, teacher_cell=teacher_cell
    )
    assert (flat[flipped.teacher_cell] <= flat[flipped.learner_cell]).all()
    np.testing.assert_array_equal(gains_for(capacity, flipped, t), 0.0)
    # and the same ties the right way round do teach
    assert gains_for(capacity, ties, t)[~worse].min() > 0


@pytest.mark.parametrize("seed", range(20))
def test_tie_gains_with_zero_intensity_are_zero(seed):
    capacity, ties, t = random_state(seed)
    silent = replace(ties, intensity=np.zeros_like(ties.intensity))
    np.testing.assert_array_equal(gains_for(capacity, silent, t), 0.0)
    no_fit = replace(ties, fit=np.zeros_like(ties.fit))
    np.testing.assert_array_equal(gains_for(capacity, no_fit, t), 0.0)


@pytest.mark.parametrize("seed", range(20))
def test_tie_gains_are_non_decreasing_in_leadership_intensity_and_fit(seed):
    capacity, ties, t = random_state(seed)
    base = gains_for(capacity, ties, t)
    rng = np.random.default_rng(seed)
    more = dict(t, leadership=np.minimum(t["leadership"] + rng.uniform(0, 0.5, len(t["time"])), 1))
    assert (gains_for(capacity, ties, more) >= base).all()
    assert (gains_for(capacity, replace(ties, intensity=ties.intensity * 2), t) >= base).all()
    assert (gains_for(capacity, replace(ties, fit=np.sqrt(ties.fit)), t) >= base).all()


def test_tie_gain_share_is_capped_at_the_whole_gap():
    capacity = np.array([[20.0], [80.0]])
    ties = one_tie(0, 1, 0, intensity=50.0, fit=1.0, peer=1, k=1)
    e = np.ones((2, 1))
    g = points(capacity, capacity, headroom(capacity, 0.0), e, ties)
    assert g[0] == pytest.approx(60.0), "share min(intensity * effort * fit, 1) = 1"


def test_tie_gain_matches_the_documented_formula():
    capacity = np.array([[40.0, 0.0], [70.0, 0.0]])
    ties = one_tie(0, 1, 0, intensity=0.3, fit=0.8, peer=1, k=2)
    e = np.full((2, 2), 0.5)
    room = headroom(capacity, 0.5)
    g = points(capacity, capacity, room, e, ties)
    assert g[0] == pytest.approx(0.3 * 0.5 * 0.8 * 30.0 * np.sqrt(0.6))


# --- diminishing returns and context fit ------------------------------------------------------


@pytest.mark.parametrize("exponent", [0.1, 0.5, 1.0, 5.0])
def test_headroom_decreases_with_capacity(exponent):
    c = np.linspace(0, 100, 201)
    room = headroom(c, exponent)
    assert room[0] == 1.0 and room[-1] == 0.0
    assert (np.diff(room) < 0).all()
    assert ((room >= 0) & (room <= 1)).all()


def test_headroom_exponent_zero_switches_diminishing_returns_off():
    np.testing.assert_array_equal(headroom(np.linspace(0, 100, 11), 0.0), 1.0)


def test_same_gap_yields_less_near_the_ceiling():
    gains = []
    for low in (10.0, 50.0, 85.0):
        capacity = np.array([[low], [low + 10]])
        ties = one_tie(0, 1, 0, intensity=0.5, fit=1.0, peer=1, k=1)
        g = points(capacity, capacity, headroom(capacity, 0.5), np.ones((2, 1)), ties)
        gains.append(g[0])
    assert gains[0] > gains[1] > gains[2] > 0


def test_context_fit_is_one_for_equals_and_falls_with_resource_difference():
    a = np.full(50, 0.4)
    b = np.linspace(0, 1, 50)
    fit = context_fit(a, b, 1.5)
    assert ((fit > 0) & (fit <= 1)).all()
    assert fit[np.argmin(np.abs(b - 0.4))] == pytest.approx(1, abs=0.05)
    assert context_fit(a, a, 20.0) == pytest.approx(np.ones(50))
    far = np.abs(b - 0.4)
    assert (np.diff(fit[np.argsort(far)]) <= 0).all()
    np.testing.assert_array_equal(context_fit(a, b, 0.0), 1.0)


# --- one month of learning --------------------------------------------------------------------


def test_learn_without_ties_changes_nothing():
    capacity, _, t = random_state(0)
    empty = TieBatch.build(*(np.zeros(0, dtype=np.int64),) * 3, np.zeros(0), np.zeros(0), [], 4)
    e = effort_of(t, CFG)
    out = learn(
        capacity, capacity, empty, e, np.full(capacity.shape, 0.5), np.ones_like(capacity), CFG
    )
    np.testing.assert_array_equal(out.gained, 0.0)
    np.testing.assert_array_equal(out.goal_gain, 0.0)
    np.testing.assert_array_equal(out.peer_contact, 0.0)


def test_learn_credits_learner_mentor_and_spillover():
    """Learner 0 learns topic 0 from member 1; member 1 learns by teaching; topic 1 spills over."""
    cfg = replace(CFG, mentor_share=0.2, spillover=0.3, ceiling_exponent=0.5)
    capacity = np.array([[40.0, 50.0], [80.0, 60.0]])
    ties = one_tie(0, 1, 0, intensity=0.5, fit=0.9, peer=1, k=2)
    e = np.full((2, 2), 0.6)
    goal_weight = np.array([[1.0, 0.0], [0.0, 0.0]])
    others = np.array([[False, True], [False, False]])
    out = learn(capacity, capacity, ties, e, goal_weight, others, cfg)
    room = headroom(capacity, 0.5)
    g = 0.5 * 0.6 * 0.9 * 40.0 * room[0, 0]
    assert out.gained[0, 0] == pytest.approx(g)
    assert out.gained[1, 0] == pytest.approx(0.2 * g * room[1, 0])
    assert out.gained[0, 1] == pytest.approx(0.3 * g * room[0, 1])
    assert out.gained[1, 1] == 0
    assert out.goal_gain == pytest.approx([g, 0.0])
    assert out.peer_contact == pytest.approx([0.5 * 0.9, 0.0])


def test_learn_gives_experts_nothing_and_no_peer_contact():
    capacity = np.array([[40.0, 50.0], [80.0, 60.0]])
    teacher_level = np.vstack([capacity, np.full((1, 2), 90.0)])  # row 2 is an expert
    ties = one_tie(0, 2, 0, intensity=0.5, fit=0.6, peer=0, k=2)
    cfg = replace(CFG, mentor_share=1.0, spillover=0.0)
    goal_weight = np.array([[1.0, 0.0], [0.0, 0.0]])
    others = np.zeros((2, 2), dtype=bool)
    out = learn(capacity, teacher_level, ties, np.ones((2, 2)), goal_weight, others, cfg)
    assert out.gained[0, 0] > 0
    assert (out.gained[1] == 0).all()
    assert out.peer_contact[0] == 0


# --- motivation -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(10))
def test_motivation_stays_in_unit_interval_and_rises_with_progress_contact_coaching(seed):
    rng = np.random.default_rng(seed)
    n = 50
    m, base = rng.random(n), rng.random(n)
    gain, contact, coach = rng.exponential(2, n), rng.random(n) * 3, rng.random(n)
    new = updated_motivation(m, base, gain, contact, coach, CFG)
    assert ((new >= 0) & (new <= 1)).all()
    for more in (
        updated_motivation(m, base, gain + 1, contact, coach, CFG),
        updated_motivation(m, base, gain, contact + 0.5, coach, CFG),
        updated_motivation(m, base, gain, contact, coach + 0.2, CFG),
    ):
        assert (more >= new - 1e-12).all()
    extreme = replace(CFG, progress_motivation=1, peer_motivation=1, motivation_decay=1)
    new = updated_motivation(m, base, gain * 100, contact * 100, coach + 5, extreme)
    assert ((new >= 0) & (new <= 1)).all()


def test_motivation_relaxes_to_its_baseline_without_lift():
    m, base = np.array([0.9, 0.2]), np.array([0.5, 0.5])
    zeros = np.zeros(2)
    new = updated_motivation(m, base, zeros, zeros, zeros, CFG)
    np.testing.assert_allclose(new, m - CFG.motivation_decay * (m - base))


# --- the model: bounds and NaN under extreme but valid parameters -----------------------------


def extreme_configs() -> list:
    c = ScenarioConfig()
    rates = {f.name: 1.0 for f in fields(LearningConfig) if f.name.endswith("_rate")}
    top = {
        f.name: (int if isinstance(f.default, int) else float)(f.metadata["range"][1])
        for f in fields(LearningConfig)
    }
    bottom = {
        f.name: (int if isinstance(f.default, int) else float)(f.metadata["range"][0])
        for f in fields(LearningConfig)
    }
    pop_edges = dict(
        latent_share=1.0,
        resource_latent_correlation=-1.0,
        leadership_mean=0.99,
        motivation_mean=0.01,
        time_mean=0.99,
        trait_concentration=0.5,
        interest_sd=5.0,
    )
    return [
        pytest.param(
            replace(c, learning=replace(c.learning, **rates, measurement_sd=30.0, drift_sd=20.0)),
            id="all-rates-1-sd30-drift20",
        ),
        pytest.param(
            replace(c, learning=replace(c.learning, **top)), id="learning-at-upper-bounds"
        ),
        pytest.param(
            replace(c, learning=replace(c.learning, **bottom)), id="learning-at-lower-bounds"
        ),
        pytest.param(
            replace(
                c,
                population=replace(c.population, **pop_edges),
                learning=replace(c.learning, **rates, drift_sd=20.0),
                kickoff=replace(c.kickoff, goals_per_institution=5, max_mentees=1, min_gap=0.0),
            ),
            id="population-edges",
        ),
    ]


def assert_bounded_history(m: TwinningModel) -> None:
    h = m.history
    for name, values, high in (
        ("capacity", h.capacity, 100),
        ("kpi", h.kpi, 100),
        ("motivation", h.motivation, 1),
        ("leadership", h.leadership, 1),
    ):
        assert np.isfinite(values).all(), f"{name} has NaN or inf"
        assert values.min() >= 0 and values.max() <= high, f"{name} out of range"
    assert (h.capacity[:, ~m.pop.applies] == 0).all(), "cells that do not apply stay 0"


@pytest.mark.parametrize("config", extreme_configs())
@pytest.mark.parametrize("design", ALL)
def test_capacity_and_kpi_stay_in_range_under_extreme_parameters(config, design, with_design):
    config = with_design(config, design)
    for seed in range(4):
        assert_bounded_history(TwinningModel(config, seed).run())


def test_capacity_and_kpi_stay_in_range_for_random_valid_configs(with_design):
    """Property check: 30 configurations drawn uniformly inside every learning/population range."""
    rng = np.random.default_rng(2024)
    base = ScenarioConfig()
    for i in range(30):
        changes = {}
        for section in ("population", "learning", "kickoff"):
            obj = getattr(base, section)
            values = {}
            for f in fields(obj):
                if "range" not in f.metadata:
                    continue
                low, high = f.metadata["range"]
                high = min(high, 50)
                if isinstance(f.default, int):
                    values[f.name] = int(rng.integers(low, high + 1))
                else:
                    values[f.name] = float(rng.uniform(low, high))
            if section == "kickoff":
                values["goals_per_institution"] = int(rng.integers(1, 6))
            changes[section] = replace(obj, **values)
        m = TwinningModel(with_design(replace(base, **changes), ALL[i % len(ALL)]), i).run()
        assert_bounded_history(m)


# --- no edges, no peer learning ---------------------------------------------------------------


@pytest.mark.parametrize("seed", range(10))
def test_no_learning_at_all_without_a_programme(make_config, seed):
    m = TwinningModel(make_config(design="none", learning={"drift_sd": 20.0}), seed)
    for _ in range(m.months):
        m.step()
        assert (m.learned == 0).all()
    assert m.steps == m.months


@pytest.mark.parametrize("design", ALL)
def test_with_every_rate_zero_each_design_equals_its_counterfactual(make_config, design):
    rates = {f.name: 0.0 for f in fields(LearningConfig) if f.name.endswith("_rate")}
    rates["forgetting_rate"] = CFG.forgetting_rate
    rates["turnover_rate"] = CFG.turnover_rate
    for seed in range(5):
        m = TwinningModel(make_config(design=design, learning=rates), seed).run()
        twin = TwinningModel(make_config(design="none", learning=rates), seed).run()
        assert (m.learned == 0).all()
        np.testing.assert_array_equal(m.history.capacity, twin.history.capacity)
        np.testing.assert_array_equal(m.history.kpi, twin.history.kpi)


@pytest.mark.parametrize("design", [d for d in ALL if d != "none"])
def test_programme_designs_do_learn(make_config, design):
    m = TwinningModel(make_config(design=design), 1).run()
    goals = m.kickoff.goals
    assert m.learned[goals].mean() > 0.5
    assert (m.learned[~m.pop.applies] == 0).all()


def test_learned_decays_at_the_forgetting_rate_once_contact_stops(make_config):
    config = make_config(learning={"persistence": 0.0, "forgetting_rate": 0.05})
    m = TwinningModel(config, 4)
    for _ in range(config.schedule.programme_months):
        m.step()
    assert m.learned.max() > 0
    for _ in range(config.schedule.followup_months):
        before = m.learned.copy()
        m.step()
        np.testing.assert_allclose(m.learned, before * 0.95)


def test_expert_ties_stop_after_the_programme(make_config):
    # members' own goal work and turnover losses go on after the programme; ties must not
    own_work_off = {"goal_work_rate": 0.0, "turnover_knowledge_loss": 0.0}
    m = TwinningModel(make_config(design="external_expert", learning=own_work_off), 4)
    for _ in range(m.config.schedule.programme_months):
        m.step()
    for _ in range(m.config.schedule.followup_months):
        before = m.learned.copy()
        m.step()
        np.testing.assert_allclose(m.learned, before * (1 - m.config.learning.forgetting_rate))


# --- more leadership, more gain (model level) -------------------------------------------------


def leadership_runs(make_config, levels, **learning):
    out = {}
    for level in levels:
        config = make_config(
            replications=100,
            seed=77,
            population={"leadership_mean": level},
            learning=learning or {},
        )
        out[level] = sim.run_scenario(config).describe().loc["tpn"]
    return out


@pytest.mark.slow
def test_more_leadership_raises_mean_gain(make_config, quiet_run):
    """Tolerance: the two 95% confidence intervals of the mean (100 replications each) must not
    overlap. That is stricter than a 5% test of the difference, so a pass is not luck; the levels
    (0.45 vs 0.75) are a moderate raise, far inside the valid range, so the claim is not carried
    by extreme corners."""
    levels = (0.2, 0.45, 0.75)
    described = leadership_runs(make_config, levels)
    low, high = described[0.45], described[0.75]
    for measure in ("mean_gain", "mean_effect"):
        assert high.loc[measure, "ci_low"] > low.loc[measure, "ci_high"], measure
        means = [described[level].loc[measure, "mean"] for level in levels]
        assert means == sorted(means), f"{measure} not monotone in leadership: {means}"


@pytest.mark.slow
def test_more_leadership_raises_the_learning_effect_without_the_trend_channel(
    make_config, quiet_run
):
    """Leadership also speeds a member's own trend (interest_trend); switch that off so only the
    learning rule can carry the difference. Same tolerance: non-overlapping 95% CIs."""
    described = leadership_runs(make_config, (0.45, 0.75), interest_trend=0.0)
    low, high = described[0.45], described[0.75]
    assert high.loc["mean_effect", "ci_low"] > low.loc["mean_effect", "ci_high"]


@pytest.mark.parametrize(
    ("teacher_level", "contact"), [(80.0, 0.5 * 0.9), (40.0, 0.0), (30.0, 0.0)]
)
def test_only_a_better_peer_motivates(teacher_level, contact):
    """Mechanism 2: contact with a peer counts towards motivation only if the peer is better."""
    capacity = np.array([[40.0], [teacher_level]])
    ties = one_tie(0, 1, 0, intensity=0.5, fit=0.9, peer=1, k=1)
    out = learn(capacity, capacity, ties, np.ones((2, 1)), np.eye(2)[:, :1], np.zeros((2, 1)), CFG)
    assert out.peer_contact[0] == pytest.approx(contact)
    assert (out.gained[0, 0] > 0) == (contact > 0)
