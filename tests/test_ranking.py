"""Ranking of designs (sim.analysis.ranking) on hand-made summaries with known answers, and the
ranking section of the report of a real (tiny) sweep."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from sim.analysis.ranking import (
    best_shares,
    leader_map,
    paired_margin,
    rank_designs,
    ranking_overview,
)
from sim.interfaces.report import write_report

# The overview is a table for readers: headed in words and units (sim.analysis.outcomes).
ORDER = "order by programme effect in chosen topics"
BEST = "probability of being best"
EFFECT = "programme effect in chosen topics (points)"
COST = "cost per point gained (USD per point)"

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SEEDS = [101, 202, 303, 404, 505]
# large differences between seeds (populations), small and constant ones between designs
BASE = np.array([0.0, 40.0, -25.0, 90.0, 10.0])
SPREAD = "population.capacity_spread"


def summary(values: dict[str, np.ndarray], measure: str = "mean_effect", **conditions):
    """One row per (design, seed) with `measure` and constant condition columns; rows of each
    design in a different order, so pairing must go by seed, not by position."""
    frames = []
    for i, (design, column) in enumerate(values.items()):
        order = np.roll(np.arange(len(SEEDS)), i)
        frames.append(
            pd.DataFrame(
                {
                    "design": design,
                    "seed": np.array(SEEDS)[order],
                    "run": order,
                    measure: np.asarray(column, dtype=float)[order],
                }
            )
        )
    return pd.concat(frames, ignore_index=True).assign(**conditions)


def paired_designs(**conditions) -> pd.DataFrame:
    """tpn beats pairwise by exactly 1.0 in every seed; hub far behind; none huge but ignored."""
    return summary(
        {
            "pairwise": BASE,
            "tpn": BASE + 1.0,
            "hub": BASE - 5.0,
            "none": BASE + 100.0,
        },
        **conditions,
    )


# --- paired_margin and rank_designs -------------------------------------------------------------


def test_paired_margin_of_a_constant_difference_has_zero_width():
    """Pairing by seed removes between-seed variance: an unpaired interval would be ~+-40."""
    margin, low, high = paired_margin(paired_designs(), "tpn", "pairwise", "mean_effect")
    assert (margin, low, high) == pytest.approx((1.0, 1.0, 1.0))
    assert paired_margin(paired_designs(), "pairwise", "tpn", "mean_effect") == pytest.approx(
        (-1.0, -1.0, -1.0)
    )


def test_paired_margin_known_interval():
    """Mean of the per-seed differences with a normal 95% interval of their standard error."""
    diff = np.array([2.0, -1.0, 3.0, 0.5, 1.5])
    rows = summary({"a": BASE + diff, "b": BASE})
    half = 1.96 * diff.std(ddof=1) / np.sqrt(len(diff))
    got = paired_margin(rows, "a", "b", "mean_effect")
    assert got == pytest.approx((diff.mean(), diff.mean() - half, diff.mean() + half))


def test_rank_designs_orders_by_mean_and_leaves_out_none():
    """Best first by the mean; none (zero effect by construction) must not rank at all."""
    table = rank_designs(paired_designs(), [])
    assert len(table) == 1
    row = table.iloc[0]
    assert row["ranking"] == "tpn > pairwise > hub"
    assert (row["best"], row["runner_up"]) == ("tpn", "pairwise")
    assert row["margin"] == pytest.approx(1.0)
    assert row["margin_low"] == pytest.approx(1.0) and row["margin_high"] == pytest.approx(1.0)
    assert row["clear"]
    assert "none" not in row["ranking"]


def test_a_difference_of_mean_zero_is_not_clear():
    """A lead whose paired interval includes 0 must not be reported as clear."""
    diff = np.array([2.0, -2.0, 1.0, -1.0, 0.0])
    table = rank_designs(summary({"tpn": BASE + diff, "pairwise": BASE}), [])
    row = table.iloc[0]
    assert {row["best"], row["runner_up"]} == {"tpn", "pairwise"}
    assert row["margin"] == pytest.approx(0.0, abs=1e-12)
    assert row["margin_low"] < 0 < row["margin_high"]
    assert not row["clear"]


def test_cost_per_point_ranks_the_cheapest_first_with_a_positive_margin():
    """Lower cost per point is better: the margin says how much cheaper the leader is."""
    rows = summary(
        {"tpn": 300 + BASE, "external_expert": 310 + BASE, "hub": 500 + BASE},
        measure="cost_per_point",
    )
    row = rank_designs(rows, [], "cost_per_point").iloc[0]
    assert row["ranking"] == "tpn > external_expert > hub"
    assert (row["best"], row["runner_up"]) == ("tpn", "external_expert")
    assert (row["margin"], row["margin_low"], row["margin_high"]) == pytest.approx((10, 10, 10))
    assert row["clear"]


def test_cost_per_point_interval_is_flipped_with_the_margin():
    """For a lower-is-better measure the interval must still run from low to high."""
    diff = np.array([12.0, 8.0, 11.0, 9.0, 10.0])  # the runner-up costs 10 more on average
    rows = summary({"tpn": 300 + BASE, "hub": 300 + BASE + diff}, measure="cost_per_point")
    row = rank_designs(rows, [], "cost_per_point").iloc[0]
    half = 1.96 * diff.std(ddof=1) / np.sqrt(len(diff))
    assert row["best"] == "tpn"
    got = (row["margin"], row["margin_low"], row["margin_high"])
    assert got == pytest.approx((10.0, 10.0 - half, 10.0 + half))
    assert row["clear"]


def test_rank_designs_one_row_per_condition_with_its_own_leader():
    """Where the order changes between conditions, each condition must report its own leader."""
    narrow = summary({"tpn": BASE, "external_expert": BASE + 2.0}, **{SPREAD: 0.5})
    wide = summary({"tpn": BASE + 3.0, "external_expert": BASE}, **{SPREAD: 1.5})
    table = rank_designs(pd.concat([wide, narrow], ignore_index=True), [SPREAD])
    assert table[SPREAD].tolist() == [0.5, 1.5]
    assert table["best"].tolist() == ["external_expert", "tpn"]
    assert table["runner_up"].tolist() == ["tpn", "external_expert"]
    assert table["margin"].tolist() == pytest.approx([2.0, 3.0])
    assert table["clear"].tolist() == [True, True]


def test_rank_designs_skips_a_condition_with_a_single_design():
    """No runner-up, no margin: a condition with one design must give no row, not an error."""
    alone = summary({"tpn": BASE, "none": BASE}, **{SPREAD: 0.5})
    pair = summary({"tpn": BASE, "hub": BASE - 1.0}, **{SPREAD: 1.5})
    table = rank_designs(pd.concat([alone, pair], ignore_index=True), [SPREAD])
    assert table[SPREAD].tolist() == [1.5]
    assert rank_designs(alone, [SPREAD]).empty


# --- ranking_overview ---------------------------------------------------------------------------

TEXT = re.compile(r"^(\w+) (~?)([+-][\d,]+\.\d\d) \[(-?[\d,]+\.\d\d), (-?[\d,]+\.\d\d)\]$")


def two_measures(effect: pd.DataFrame | None = None, **conditions) -> pd.DataFrame:
    """mean_effect: tpn leads by exactly 1 (unless `effect` is given); cost_per_point: pairwise
    is exactly 5 cheaper than tpn in every seed."""
    effect = paired_designs(**conditions) if effect is None else effect.assign(**conditions)
    cost = summary(
        {"pairwise": 200 + BASE, "tpn": 205 + BASE, "hub": 900 + BASE},
        measure="cost_per_point",
        **conditions,
    )
    keys = ["design", "seed", "run", *conditions]
    return effect.merge(cost, on=keys, how="left")


def test_ranking_overview_without_conditions():
    """One row: the full order by mean_effect, then the leader's text per ranked measure."""
    overview = ranking_overview(two_measures(), [])
    assert list(overview.columns) == [ORDER, BEST, EFFECT, COST]
    assert len(overview) == 1
    row = overview.iloc[0]
    assert row[ORDER] == "tpn > pairwise > hub"
    assert row[BEST] == "tpn 1.00, pairwise 0.00, hub 0.00"
    assert row[EFFECT] == "tpn +1.00 [1.00, 1.00]"
    assert row[COST] == "pairwise +5.00 [5.00, 5.00]"


def test_best_shares_count_the_seeds_each_design_wins():
    """Each design's share of seeds where it does best: hub wins 2 of 5 seeds, tpn 3; with cost
    per point the lowest value wins."""
    rows = summary({"tpn": BASE + 1.0, "hub": BASE + np.array([2.0, 2.0, 0.0, 0.0, 0.0])})
    assert best_shares(rows, "mean_effect").to_dict() == {"hub": 0.4, "tpn": 0.6}
    costs = summary(
        {"tpn": BASE + 1.0, "hub": BASE + np.array([2.0, 2.0, 0.0, 0.0, 0.0])},
        measure="cost_per_point",
    )
    assert best_shares(costs, "cost_per_point").to_dict() == {"hub": 0.6, "tpn": 0.4}


def test_ranking_overview_marks_an_unclear_lead_with_a_tilde():
    """A lead whose interval includes 0 must be marked '~', and only such a lead."""
    diff = np.array([3.0, -2.0, 1.0, -1.0, 0.5])  # mean 0.3, interval about [-1.6, 2.2]
    overview = ranking_overview(summary({"tpn": BASE + diff, "hub": BASE}), [])
    text = overview.iloc[0][EFFECT]
    match = TEXT.match(text)
    assert match, text
    best, tilde, margin, low, high = match.groups()
    assert (best, tilde, margin) == ("tpn", "~", "+0.30")
    half = 1.96 * diff.std(ddof=1) / np.sqrt(len(diff))
    assert (float(low), float(high)) == pytest.approx((0.3 - half, 0.3 + half), abs=0.005)
    clear = ranking_overview(paired_designs(), []).iloc[0][EFFECT]
    assert "~" not in clear


def test_ranking_overview_with_conditions():
    """One row per condition, the condition first, then the order and a column per measure."""
    narrow = two_measures(**{SPREAD: 0.5})
    hub_leads = summary({"pairwise": BASE, "tpn": BASE + 1.0, "hub": BASE + 3.0})
    wide = two_measures(hub_leads, **{SPREAD: 1.5})
    overview = ranking_overview(pd.concat([narrow, wide], ignore_index=True), [SPREAD])
    spread = "pre-existing capacity spread (multiplier of baseline sd)"
    assert list(overview.columns) == [spread, ORDER, BEST, EFFECT, COST]
    assert overview[spread].tolist() == [0.5, 1.5]
    assert overview[ORDER].iloc[0] == "tpn > pairwise > hub"
    assert overview[ORDER].iloc[1] == "hub > tpn > pairwise"
    assert overview[EFFECT].iloc[0] == "tpn +1.00 [1.00, 1.00]"
    assert overview[EFFECT].iloc[1] == "hub +2.00 [2.00, 2.00]"
    assert overview[COST].tolist() == ["pairwise +5.00 [5.00, 5.00]"] * 2


def test_ranking_overview_uses_only_the_measures_present():
    """Measures missing from the summary get no column; the order is by the first one present."""
    rows = summary({"tpn": BASE + 1, "hub": BASE}, measure="sustained_effect")
    overview = ranking_overview(rows, [])
    sustained = "programme effect at the end of follow-up (points)"
    assert list(overview.columns) == [
        "order by programme effect at the end of follow-up",
        BEST,
        sustained,
    ]
    assert overview.iloc[0][sustained] == "tpn +1.00 [1.00, 1.00]"
    assert ranking_overview(summary({"tpn": BASE}), []).empty


# --- the report of a real sweep -----------------------------------------------------------------


@pytest.mark.slow
def test_report_of_a_design_sweep_ranks_the_designs(tmp_path, tpn_sim):
    """tpn-sim-report must add the ranking table and figure when a sweep varies the design."""
    done = tpn_sim(
        "-m",
        "network=tpn,external_expert",
        f"{SPREAD}=0.5,1.5",
        "replications=3",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    report = write_report(tmp_path / "results" / "sweeps", tmp_path / "report")
    text = report.read_text()
    assert "## Ranking of designs" in text
    section = text.split("## Ranking of designs", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| 0.5 ")]
    rows += [line for line in section.splitlines() if line.startswith("| 1.5 ")]
    assert len(rows) == 2, section
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert set(cells[1].split(" > ")) == {"tpn", "external_expert"}
        assert cells[3].split(" ", 1)[0] == cells[1].split(" > ", 1)[0]  # the leader leads
        assert TEXT.match(cells[3]), cells[3]
        shares = dict(part.split(" ") for part in cells[2].split(", "))
        assert sum(map(float, shares.values())) == pytest.approx(1.0, abs=0.01)
    assert "![ranking](ranking.png)" in text
    assert (tmp_path / "report" / "ranking.png").read_bytes().startswith(PNG_MAGIC)


def test_leader_map_puts_each_cells_leader_on_the_grid():
    """Rows and columns are the two conditions; each cell names its own leader and margin."""
    cells = []
    for spread, leadership, lead in [(0.5, 0.3, 2.0), (0.5, 0.9, -3.0), (2.0, 0.3, 0.0)]:
        values = {"tpn": BASE + lead, "external_expert": BASE}
        if lead == 0.0:  # a tie on average: the lead is unclear
            values["tpn"] = BASE + np.array([1.0, -1.0, 1.0, -1.0, 0.0])
        cells.append(summary(values, **{SPREAD: spread, "leadership": leadership}))
    grid = leader_map(pd.concat(cells), SPREAD, "leadership", "mean_effect")
    assert list(grid.index) == [0.5, 2.0] and list(grid.columns) == [0.3, 0.9]
    assert grid.loc[0.5, 0.3] == "tpn +2.0"
    assert grid.loc[0.5, 0.9] == "external_expert +3.0"
    assert "(~)" in grid.loc[2.0, 0.3]
    assert pd.isna(grid.loc[2.0, 0.9])  # no runs in that cell


def test_report_draws_no_ranking_figure_that_would_pool_over_a_third_condition():
    """Two numeric conditions: a figure and leader maps; three: the table alone."""
    from sim.interfaces.report import ranking_section

    conditions = {SPREAD: 1.0, "leadership": 0.5, "budget": 1000.0}
    rows = paired_designs(**conditions)
    lines, figures = ranking_section(rows, [SPREAD, "leadership", "network"])
    assert set(figures) == {"ranking"} and any(line.startswith("Leader by") for line in lines)
    lines, figures = ranking_section(rows, [SPREAD, "leadership", "budget", "network"])
    assert figures == {} and not any(line.startswith("Leader by") for line in lines)
    assert "## Ranking of designs" in lines
