"""Network designs: every registered design runs end to end and wires the network it promises."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import sim
from sim import TwinningModel
from sim.core.designs.base import DESIGNS, NetworkDesign
from sim.core.designs.tpn import CandidatePool
from sim.core.posterior import read_posterior

SEEDS = range(30)
ALL = sorted(DESIGNS)


def models(config, seeds=SEEDS):
    """Models at month 0 (ties are wired at construction), one per seed."""
    return [TwinningModel(config, seed) for seed in seeds]


# --- the registry -----------------------------------------------------------------------------


def test_registry_holds_the_seven_documented_designs():
    assert set(DESIGNS) == {
        "tpn",
        "pairwise",
        "hub",
        "random",
        "external_expert",
        "from_file",
        "none",
    }
    for name, cls in DESIGNS.items():
        assert issubclass(cls, NetworkDesign)
        assert cls.name == name
    assert [n for n, c in DESIGNS.items() if not c.programme] == ["none"]


# --- every design end to end ------------------------------------------------------------------


@pytest.mark.parametrize("design", ALL)
def test_every_design_runs_end_to_end_with_sane_output(small_runs, design):
    r = small_runs[design]
    assert len(r.summary) == 5
    assert (r.summary["design"] == design).all()
    for table in (r.panel, r.ties, r.events):
        assert (table["design"] == design).all()
    panel = r.panel
    assert panel[["capacity", "kpi", "motivation", "leadership"]].notna().all().all()
    assert panel["capacity"].between(0, 100).all() and panel["kpi"].between(0, 100).all()
    assert panel["motivation"].between(0, 1).all()
    s = r.summary
    assert (s["goals"] == 80).all()
    for column in ("mean_gain", "mean_effect", "sustained_gain", "sustained_effect", "total_cost"):
        assert np.isfinite(s[column]).all(), column
    if design == "none":
        assert (s["mean_effect"] == 0).all() and (s["total_cost"] == 0).all()
    else:
        assert (s["mean_effect"] > 0).all()
        assert (s["total_cost"] > 0).all()
        matched = r.ties[r.ties["status"] == "matched"]
        assert len(matched) > 0


@pytest.mark.parametrize("design", ALL)
def test_every_tie_serves_a_goal_once_and_never_links_a_member_to_itself(make_config, design):
    for m in models(make_config(design=design), SEEDS[:10]):
        ties, pop = m.ties, m.pop
        assert m.kickoff.goals[ties.learner, ties.topic].all()
        pairs = set(zip(ties.learner.tolist(), ties.topic.tolist(), strict=True))
        assert len(pairs) == len(ties)
        assert (ties.mentor != ties.learner).all()
        peer = ties.mentor < pop.size
        assert (pop.kind[ties.mentor[peer]] == pop.kind[ties.learner[peer]]).all()


def test_design_choice_does_not_change_population_or_goals(make_config):
    for seed in SEEDS[:10]:
        runs = [TwinningModel(make_config(design=d), seed) for d in ALL]
        kickoff_goals = [m for m in runs if m.ties.goals is None]
        for other in kickoff_goals[1:]:
            np.testing.assert_array_equal(other.kickoff.goals, runs[0].kickoff.goals)
        for other in runs[1:]:
            np.testing.assert_array_equal(other.pop.capacity, runs[0].pop.capacity)
            np.testing.assert_array_equal(other.kickoff.observed, runs[0].kickoff.observed)


# --- external experts -------------------------------------------------------------------------


@pytest.mark.parametrize("n_experts", [1, 4, 7])
def test_external_expert_ties_point_to_experts_and_share_the_work(make_config, n_experts):
    config = make_config(design="external_expert", network={"n_experts": n_experts})
    for m in models(config, SEEDS[:10]):
        ties, n = m.ties, m.pop.size
        assert len(ties) == m.kickoff.goals.sum(), "an expert serves every goal"
        assert (ties.mentor >= n).all() and (ties.mentor < n + n_experts).all()
        load = np.bincount(ties.mentor - n, minlength=n_experts)
        assert load.max() - load.min() <= 1, "goals are dealt round the experts"
        assert len(m.agents_by_type[sim.core.agents.ExternalExpert]) == n_experts


def test_external_expert_ties_table(small_runs):
    ties = small_runs["external_expert"].ties
    config = sim.ScenarioConfig()
    assert (ties["status"] == "matched").all()
    assert (ties["teacher_kind"] == "expert").all()
    names = {f"expert {i + 1}" for i in range(config.network.n_experts)}
    assert set(ties["teacher"]) <= names
    assert (ties["teacher_kpi"] == config.network.expert_level).all()
    # each replication's experts have the context fit of the posterior set it drew
    drew = small_runs["external_expert"].summary.set_index("run")["particle"]
    fit = drew.map(lambda i: read_posterior().values(i)["network.expert_fit"])
    np.testing.assert_allclose(ties["context_fit"], ties["run"].map(fit))


@pytest.mark.parametrize("visits", [0, 1, 4, 50])
def test_each_expert_makes_its_monthly_visits(make_config, visits):
    """Beyond its number of learners, an expert visits some learners more than once a month."""
    config = make_config(
        design="external_expert", replications=2, network={"expert_visits_per_month": visits}
    )
    results = sim.run_scenario(config)
    for run, ties in results.ties.groupby("run"):
        expected = ties["teacher"].nunique() * visits
        events = results.events[results.events["run"] == run]
        rows = events[events["event"] == "expert_visit"]
        months = list(range(1, config.schedule.programme_months + 1))
        assert sorted(rows["month"]) == (months if visits else [])
        assert (rows["participants"] == expected).all()
        assert (rows["cost"] == expected * config.costs.expert_visit).all()


def test_external_experts_hold_no_peer_events(small_runs):
    events = set(small_runs["external_expert"].events["event"])
    assert events == {"codesign", "kickoff", "coaching", "expert_visit"}


# --- no programme -----------------------------------------------------------------------------


def test_none_has_no_ties_no_events_and_zero_cost(small_runs, make_config):
    r = small_runs["none"]
    assert r.ties.empty and r.events.empty
    assert (r.summary["total_cost"] == 0).all()
    assert r.summary["cost_per_point"].isna().all()
    assert (r.summary["unmatched_goals"] == 0).all()
    for m in models(make_config(design="none"), SEEDS[:5]):
        assert len(m.ties) == 0 and m.event_log[:] == [] and not m.plan
        assert len(m.agents_by_type.get(sim.core.agents.ExternalExpert, [])) == 0


# --- pairwise twinning ------------------------------------------------------------------------


def partner_map(ties) -> dict[int, set[int]]:
    """Learner -> the set of its teachers."""
    out: dict[int, set[int]] = {}
    for learner, mentor in zip(ties.learner.tolist(), ties.mentor.tolist(), strict=True):
        out.setdefault(learner, set()).add(mentor)
    return out


def strongest_first(m: TwinningModel, kind: int) -> list[int]:
    """Members of a type by mean baseline observed KPI over their topics, strongest first."""
    members = np.flatnonzero(m.pop.kind == kind)
    obs, applies = m.kickoff.observed[members], m.pop.applies[members]
    mean = (obs * applies).sum(axis=1) / applies.sum(axis=1)
    return members[np.argsort(-mean, kind="stable")].tolist()


def test_pairwise_partners_are_fixed_one_per_institution(make_config):
    for m in models(make_config(design="pairwise")):
        obs, min_gap = m.kickoff.observed, m.config.kickoff.min_gap
        teachers = partner_map(m.ties)
        assert all(len(t) == 1 for t in teachers.values()), "one fixed partner for all topics"
        partner = {}
        for kind in (0, 1):  # 10 hospitals and 30 districts: perfect pairs
            ranked = strongest_first(m, kind)
            n = len(ranked)
            partner |= {ranked[j]: ranked[n - 1 - j] for j in range(n)}
        for learner, (mentor,) in teachers.items():
            assert mentor == partner[learner], "strongest with weakest"
        served = set(zip(m.ties.learner.tolist(), m.ties.topic.tolist(), strict=True))
        # a goal has a tie exactly where the partner measured better by min_gap
        for learner, topic in zip(*m.kickoff.goal_cells(), strict=True):
            better = obs[partner[learner], topic] >= obs[learner, topic] + min_gap
            assert ((int(learner), int(topic)) in served) == better


def test_pairwise_odd_group_puts_the_middle_member_with_the_strongest(make_config):
    provinces = [sim.config.ProvinceSpec("P", ["A", "B", "C", "D"], "P", {"hospital": 3})]
    events = [e for e in sim.config.tpn_events() if not e.group]
    config = make_config(
        design="pairwise",
        population={"provinces": provinces},
        schedule=sim.config.ScheduleConfig(events=events),
        kickoff={"min_gap": 0.0},
    )
    seen_middle = 0
    for m in models(config, range(60)):
        strongest, middle, weakest = strongest_first(m, 0)
        teachers = partner_map(m.ties)
        assert teachers.get(middle, {strongest}) == {strongest}
        assert teachers.get(weakest, {strongest}) == {strongest}
        assert teachers.get(strongest, {weakest}) == {weakest}
        seen_middle += middle in teachers
    assert seen_middle > 0


# --- hub and spoke ----------------------------------------------------------------------------


def test_hub_has_one_teacher_per_type_the_strongest_member(make_config):
    for m in models(make_config(design="hub")):
        for kind in (0, 1):
            mine = m.pop.kind[m.ties.learner] == kind
            hub = strongest_first(m, kind)[0]
            assert set(m.ties.mentor[mine].tolist()) == {hub}
            assert hub not in m.ties.learner[mine]


def test_hub_attention_is_shared_among_its_mentees(make_config):
    for m in models(make_config(design="hub"), SEEDS[:5]):
        load = np.bincount(m.ties.mentor, minlength=m.pop.size)[m.ties.mentor]
        expected = np.minimum(1.0, m.config.kickoff.max_mentees / load)
        np.testing.assert_allclose(m.dilution, expected)
        assert (m.dilution < 1).any()


def test_hub_ties_table_has_one_teacher_per_type(small_runs):
    matched = small_runs["hub"].ties.query("status == 'matched'")
    per_type = matched.groupby(["run", "type"])["teacher"].nunique()
    assert (per_type == 1).all()
    assert len(per_type) == 2 * 5


# --- random peers -----------------------------------------------------------------------------


def test_random_never_teaches_self_and_stays_within_type(make_config):
    teachers_of_first_goal = set()
    for m in models(make_config(design="random"), range(60)):
        ties, pop = m.ties, m.pop
        assert len(ties) == m.kickoff.goals.sum(), "every goal gets a random peer"
        assert (ties.mentor != ties.learner).all()
        assert (ties.mentor < pop.size).all()
        assert (pop.kind[ties.mentor] == pop.kind[ties.learner]).all()
        teachers_of_first_goal.add(int(ties.mentor[ties.learner == 0][0]))
    assert len(teachers_of_first_goal) > 5, "partners are drawn, not fixed"


def test_random_draws_every_other_member_roughly_uniformly(make_config):
    counts = np.zeros(40)
    for m in models(make_config(design="random"), range(200)):
        hospital_ties = m.pop.kind[m.ties.learner] == 0
        np.add.at(counts, m.ties.mentor[hospital_ties], 1)
    hospital_counts = counts[m.pop.kind == 0]
    # 200 seeds x 20 hospital goals = 4000 draws over 10 hospitals: 400 expected each
    assert hospital_counts.sum() == 4000
    assert (np.abs(hospital_counts - 400) < 100).all(), hospital_counts


def test_random_with_a_lone_member_gives_it_no_tie(lone_hospital):
    for m in models(lone_hospital(design="random"), SEEDS[:10]):
        hospital = np.flatnonzero(m.pop.kind == 0)
        assert not np.isin(m.ties.learner, hospital).any()


# --- every design's ties agree with the model ---------------------------------------------------


@pytest.mark.parametrize("design", [d for d in ALL if d != "none"])
def test_context_fit_falls_with_the_resource_gap(make_config, design):
    for m in models(make_config(design=design), SEEDS[:5]):
        peer = m.ties.mentor < m.pop.size
        r, penalty = m.pop.resource, m.config.learning.fit_penalty
        gap = np.abs(r[m.ties.learner[peer]] - r[m.ties.mentor[peer]])
        np.testing.assert_allclose(m.fit[peer], np.exp(-penalty * gap))
        np.testing.assert_array_equal(m.fit[~peer], m.config.network.expert_fit)


@pytest.mark.parametrize("design", [d for d in ALL if d != "none"])
def test_ties_table_rows_describe_teachers(small_runs, design):
    matched = small_runs[design].ties.query("status == 'matched'")
    assert matched["context_fit"].between(0, 1).all()
    assert matched["teacher_kpi"].notna().all()
    if design != "external_expert":
        assert (matched["teacher_kind"] == "peer").all()
        assert (matched["teacher"] != matched["learner"]).all()
        assert not matched["teacher"].str.startswith("expert").any()


def test_none_true_effect_columns_are_exactly_zero(make_config):
    """Counterfactual alignment: `none` compared with its own no-programme twin changes nothing."""
    summary = sim.run_scenario(make_config(design="none", replications=20, seed=3)).summary
    summary = summary[summary["accreditation_choosers"] > 0]  # else that column is undefined
    effects = [c for c in summary.columns if c.endswith("_effect")]
    assert len(effects) == 5 and len(summary) > 10
    assert (summary[effects] == 0).all().all()


# --- the TPN matching at scale ----------------------------------------------------------------


def brute_force_tpn(model: TwinningModel) -> list[tuple[int, int, int]]:
    """The TPN matching by its definition, scoring every high performer for every goal: goals in
    the design's random order, each taking the best-scoring eligible member with room (lowest
    index on a tie)."""
    pop, kickoff, cfg = model.pop, model.kickoff, model.config.kickoff
    obs, high = kickoff.observed, kickoff.high_performer
    design_rng = np.random.default_rng(np.random.SeedSequence(model.seed).spawn(5)[2])
    learner, topic = kickoff.goal_cells()
    room = np.full(pop.size, cfg.max_mentees)
    ties = []
    for g in design_rng.permutation(len(learner)):
        a, k = learner[g], topic[g]
        cand = np.flatnonzero(high[:, k])
        ok = (cand != a) & pop.may_teach[pop.kind[cand], pop.kind[a]]
        ok &= (obs[a, k] + cfg.min_gap <= obs[cand, k]) & (room[cand] > 0)
        pref = cfg.similarity_preference
        score = pref * (1 - np.abs(pop.resource[cand] - pop.resource[a]))
        score += (1 - pref) * obs[cand, k] / 100
        if ok.any():
            best = cand[ok][np.argmax(score[ok])]
            room[best] -= 1
            ties.append((int(a), int(best), int(k)))
    return sorted(ties)


@pytest.mark.parametrize("band", [CandidatePool.BAND, 8])
@pytest.mark.parametrize(
    ("preference", "max_mentees", "health_centres"),
    [(0.7, 4, False), (0.0, 1, False), (1.0, 2, True), (0.3, 4, True)],
)
def test_tpn_matching_at_scale_is_the_best_eligible_match(
    make_config, monkeypatch, band, preference, max_mentees, health_centres
):
    """At 1,500-2,700 members the banded search gives exactly the matching of its definition,
    ties included (a preference of 0 makes every member with a KPI of 100 tie). Small bands
    give a topic as many bands as a national network's (about half the square root of its
    high performers), so the search across bands is tested as well as within them."""
    monkeypatch.setattr(CandidatePool, "BAND", band)
    base = make_config(design="tpn")
    types = dict(base.population.types)
    types["hospital"] = replace(types["hospital"], count=100, mentors=["health_centre"])
    types["district"] = replace(types["district"], count=30, name="{district} team {i}")
    if health_centres:
        types["health_centre"] = replace(types["health_centre"], count=40)
    config = make_config(
        design="tpn",
        population={"types": types},
        kickoff={"similarity_preference": preference, "max_mentees": max_mentees},
    )
    model = TwinningModel(config, 7)
    assert model.pop.size >= 1_400
    ties = model.ties
    assert sorted(zip(ties.learner, ties.mentor, ties.topic, strict=True)) == brute_force_tpn(model)
