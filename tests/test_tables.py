"""Tidy tables: columns, one row per observation, run/seed/design on every row, describe()."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import sim
from sim.core.run import replication_seeds
from sim.results.tables import describe

PANEL = [
    "run",
    "seed",
    "design",
    "month",
    "date",
    "institution",
    "type",
    "province",
    "topic",
    "capacity",
    "kpi",
    "goal",
    "motivation",
    "leadership",
]
TIES = [
    "run",
    "seed",
    "design",
    "learner",
    "type",
    "topic",
    "teacher",
    "teacher_kind",
    "status",
    "learner_kpi",
    "teacher_kpi",
    "context_fit",
]
EVENTS = [
    "run",
    "seed",
    "design",
    "month",
    "date",
    "event",
    "mode",
    "group",
    "participants",
    "cost",
]
SUMMARY = [
    "run",
    "seed",
    "particle",  # the posterior set the replication drew (the default samples the posterior)
    "design",
    "accreditation_estimate",
    "accreditation_true_effect",
    "accreditation_choosers",
    "cbhi_coverage_estimate",
    "cbhi_coverage_true_effect",
    "cbhi_coverage_choosers",
    "mean_gain",
    "mean_effect",
    "bottom_quartile_gain",
    "bottom_quartile_effect",
    "sustained_gain",
    "sustained_effect",
    "total_cost",
    "cost_per_point",
    "goals",
    "unmatched_goals",
]
COLUMNS = {"panel": PANEL, "ties": TIES, "events": EVENTS, "summary": SUMMARY}
DESIGNS = sorted(sim.core.designs.base.DESIGNS)
REPS = 5  # the session fixture `small_runs` holds 5 replications per design, root seed 11


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("table", list(COLUMNS))
def test_tables_have_the_documented_columns(small_runs, design, table):
    assert list(getattr(small_runs[design], table).columns) == COLUMNS[table]


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("table", list(COLUMNS))
def test_run_seed_and_design_are_on_every_row(small_runs, design, table):
    frame = getattr(small_runs[design], table)
    assert frame[["run", "seed", "design"]].notna().all().all()
    assert (frame["design"] == design).all()
    seeds = replication_seeds(11, REPS)
    assert (frame["seed"] == frame["run"].map(dict(enumerate(seeds)))).all()
    if len(frame):
        assert set(frame["run"]) == set(range(REPS))


@pytest.mark.parametrize("design", DESIGNS)
def test_panel_has_one_row_per_run_month_institution_and_applicable_topic(small_runs, design):
    panel = small_runs[design].panel
    key = ["run", "month", "institution", "topic"]
    assert not panel.duplicated(key).any()
    assert len(panel) == REPS * 31 * 40 * 5  # 40 members x their 5 topics, months 0..30
    hospital_topics = set(sim.ScenarioConfig().population.types["hospital"].topics)
    is_hospital = panel["type"] == "hospital"
    assert panel.loc[is_hospital, "topic"].isin(hospital_topics).all()
    assert not panel.loc[~is_hospital, "topic"].isin(hospital_topics).any()
    assert sorted(panel["month"].unique()) == list(range(31))


def test_panel_goal_is_fixed_per_member_topic_and_counts_the_goals(small_runs):
    panel = small_runs["tpn"].panel
    per_cell = panel.groupby(["run", "institution", "topic"], observed=True)["goal"].nunique()
    assert (per_cell == 1).all(), "goals are set once, at the kick-off"
    at_start = panel[panel["month"] == 0]
    goals = at_start.groupby("run")["goal"].sum()
    assert (goals == small_runs["tpn"].summary.set_index("run")["goals"]).all()
    per_member = at_start.groupby(["run", "institution"], observed=True)["goal"].sum()
    assert (per_member == 2).all()


def test_panel_dates_run_from_the_kickoff_month(small_runs):
    panel = small_runs["tpn"].panel
    dates = panel.drop_duplicates("month").set_index("month")["date"].astype(str)
    assert dates[0] == "2021-08"
    assert dates[18] == "2023-02", "the programme ends in February 2023"
    assert dates[30] == "2024-02"
    events = small_runs["tpn"].events
    assert (events["date"].astype(str) == events["month"].map(dates)).all()


def test_panel_values_are_in_range(small_runs):
    for r in small_runs.values():
        p = r.panel
        assert p["capacity"].between(0, 100).all() and p["kpi"].between(0, 100).all()
        assert p["motivation"].between(0, 1).all() and p["leadership"].between(0, 1).all()


@pytest.mark.parametrize("design", [d for d in DESIGNS if d != "none"])
def test_ties_have_one_row_per_goal(small_runs, design):
    r = small_runs[design]
    ties = r.ties
    assert not ties.duplicated(["run", "learner", "topic"]).any()
    goals = r.panel.query("month == 0 and goal")[["run", "institution", "topic"]].astype(str)
    listed = ties[["run", "learner", "topic"]].astype(str)
    goal_set = set(map(tuple, goals.to_numpy()))
    assert set(map(tuple, listed.to_numpy())) == goal_set
    assert set(ties["status"]) <= {"matched", "unmatched"}
    assert set(ties["teacher_kind"].dropna()) <= {"peer", "expert"}
    matched = ties["status"] == "matched"
    assert ties.loc[matched, ["teacher", "teacher_kind", "teacher_kpi"]].notna().all().all()
    assert ties.loc[~matched, ["teacher", "teacher_kind", "teacher_kpi"]].isna().all().all()
    unmatched = ties[~matched].groupby("run").size().reindex(range(REPS), fill_value=0)
    assert (unmatched.to_numpy() == r.summary["unmatched_goals"].to_numpy()).all()


def test_ties_baseline_kpis_are_the_panel_month_0_kpis(small_runs):
    r = small_runs["tpn"]
    kpi0 = r.panel.query("month == 0").astype({"institution": str, "topic": str})
    kpi0 = kpi0.set_index(["run", "institution", "topic"])["kpi"]
    ties = r.ties
    learner_kpi = kpi0.loc[list(zip(ties["run"], ties["learner"], ties["topic"], strict=True))]
    np.testing.assert_allclose(ties["learner_kpi"], learner_kpi.to_numpy())
    matched = ties[ties["status"] == "matched"]
    teacher_kpi = kpi0.loc[
        list(zip(matched["run"], matched["teacher"], matched["topic"], strict=True))
    ]
    np.testing.assert_allclose(matched["teacher_kpi"], teacher_kpi.to_numpy())


@pytest.mark.parametrize("design", DESIGNS)
def test_events_cost_adds_up_to_the_summary(small_runs, design):
    r = small_runs[design]
    cost = r.events.groupby("run")["cost"].sum().reindex(range(REPS), fill_value=0.0)
    np.testing.assert_allclose(cost.to_numpy(float), r.summary["total_cost"].to_numpy())
    assert (r.events["participants"] >= 0).all()
    assert set(r.events["mode"]) <= {"in_person", "virtual"}


def test_events_have_one_row_per_activity(small_runs):
    events = small_runs["tpn"].events
    assert not events.duplicated(["run", "month", "event", "group"]).any()
    per_run = events.groupby(["run", "event"]).size().unstack()
    assert (per_run["coaching"] == 3).all()
    assert (per_run["network_workshop"] == 4).all()
    assert (per_run["provincial_workshop"] == 4).all()
    assert (per_run["codesign"] == 1).all() and (per_run["kickoff"] == 1).all()


@pytest.mark.parametrize("design", DESIGNS)
def test_summary_has_one_row_per_replication(small_runs, design):
    s = small_runs[design].summary
    assert s["run"].tolist() == list(range(REPS))
    assert s["seed"].is_unique


# --- describe() -------------------------------------------------------------------------------


def test_describe_reports_mean_ci_and_range_per_design_and_measure(small_runs):
    r = small_runs["tpn"]
    d = r.describe()
    assert list(d.index.names) == ["design", "measure"]
    assert list(d.columns) == ["mean", "ci_low", "ci_high", "p2.5", "p97.5", "n"]
    measures = [c for c in SUMMARY if c not in ("run", "seed", "particle", "design")]
    assert sorted(d.loc["tpn"].index) == sorted(measures)
    for measure in measures:
        values = r.summary[measure].dropna()
        row = d.loc[("tpn", measure)]
        assert row["n"] == len(values)
        if not len(values):
            continue
        assert row["mean"] == pytest.approx(values.mean())
        half = 1.96 * values.std() / math.sqrt(len(values))
        if len(values) > 1:
            assert row["ci_low"] == pytest.approx(values.mean() - half)
            assert row["ci_high"] == pytest.approx(values.mean() + half)
        assert row["ci_low"] <= row["mean"] <= row["ci_high"] or values.nunique() == 1
        assert row["p2.5"] == pytest.approx(values.quantile(0.025))
        assert row["p97.5"] == pytest.approx(values.quantile(0.975))
        assert values.min() <= row["p2.5"] <= row["p97.5"] <= values.max()


def test_describe_separates_designs_after_concatenation(small_runs):
    combined = pd.concat([small_runs["tpn"].summary, small_runs["none"].summary], ignore_index=True)
    d = describe(combined)
    assert set(d.index.get_level_values("design")) == {"tpn", "none"}
    pd.testing.assert_frame_equal(d.loc["tpn"], small_runs["tpn"].describe().loc["tpn"])
    pd.testing.assert_frame_equal(d.loc["none"], small_runs["none"].describe().loc["none"])
    assert d.loc[("none", "mean_effect"), "mean"] == 0


def test_describe_with_one_replication_has_no_interval(make_config, quiet_run):
    d = sim.run_scenario(make_config(replications=1)).describe()
    row = d.loc[("tpn", "mean_gain")]
    assert row["n"] == 1 and np.isfinite(row["mean"])
    assert math.isnan(row["ci_low"]) and math.isnan(row["ci_high"])
    assert row["p2.5"] == row["p97.5"] == row["mean"]


def test_tables_from_different_scenarios_concatenate_without_losing_provenance(small_runs):
    panels = pd.concat([small_runs[d].panel for d in ("tpn", "random")], ignore_index=True)
    counts = panels.groupby(["design", "run"]).size()
    assert len(counts) == 2 * REPS
    assert counts.nunique() == 1


def test_empty_tables_keep_their_dtypes_when_concatenated(small_runs):
    for name in ("events", "ties"):
        full = getattr(small_runs["tpn"], name)
        empty = getattr(small_runs["none"], name)
        assert empty.empty
        pd.testing.assert_series_equal(empty.dtypes, full.dtypes)
        combined = pd.concat([full, empty], ignore_index=True)
        pd.testing.assert_series_equal(combined.dtypes, full.dtypes)
