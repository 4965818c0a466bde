"""Paired what-if comparisons (sim.compare): the Python API on small real runs, and the
`tpn-sim-compare` command line (as a subprocess, and its errors through `main`)."""

from __future__ import annotations

import logging
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim.analysis.compare import COMPARED, compare, config_changes
from sim.config import ConfigError
from sim.core.run import run_summaries
from sim.interfaces.compare_cli import main

OUTCOME_COLUMNS = list(COMPARED)


@pytest.fixture
def base(make_config):
    """The default Rwanda scenario on few replications."""
    return make_config(replications=8, seed=5)


def rows(comparison, scenario: str) -> pd.DataFrame:
    table = comparison.table
    return table[table["scenario"] == scenario].set_index("outcome")


def test_a_scenario_compared_with_itself_differs_by_exactly_zero(base):
    comparison = compare(base, base)
    same = rows(comparison, "same as baseline")
    assert list(same.index) == OUTCOME_COLUMNS
    assert (same[["diff", "diff_low", "diff_high"]] == 0).all().all()
    assert same["mean"].equals(rows(comparison, "baseline")["mean"])


def test_the_difference_is_the_mean_of_per_seed_differences(base, make_config):
    """Computed again by hand from two independent runs, paired by seed."""
    alt = make_config(base, design="pairwise")
    comparison = compare(base, alt)
    by_hand = run_summaries(base).merge(run_summaries(alt), on="seed", suffixes=("_b", "_a"))
    got = rows(comparison, "network.design=pairwise")
    for column in ("mean_effect", "cost_per_point"):
        diff = (by_hand[f"{column}_a"] - by_hand[f"{column}_b"]).dropna()
        half = 1.96 * diff.std() / np.sqrt(len(diff))
        expected = (diff.mean(), diff.mean() - half, diff.mean() + half)
        assert tuple(got.loc[column, ["diff", "diff_low", "diff_high"]]) == pytest.approx(expected)
    scenarios = list(comparison.summary["scenario"].unique())
    assert scenarios == ["baseline", "network.design=pairwise"]
    assert len(comparison.summary) == 2 * base.replications


def test_a_programme_gains_over_no_programme(base, make_config):
    comparison = compare(make_config(base, design="none"), base)
    tpn = rows(comparison, "network.design=tpn")
    assert tpn.loc["mean_effect", "diff_low"] > 0
    assert rows(comparison, "baseline").loc["cost_per_point", "n"] == 0  # undefined without cost
    assert np.isnan(tpn.loc["cost_per_point", "diff"])
    assert "more money" in comparison.sentences[0]


def test_unequal_cost_warns_and_equal_budget_does_not(base, make_config, caplog):
    rare_visits = make_config(base, schedule={"exchange_visit_every": 6})
    with caplog.at_level(logging.WARNING, logger="sim.analysis.compare"):
        comparison = compare(base, rare_visits)
    assert len(comparison.warnings) == 1 and "costs.budget=" in comparison.warnings[0]
    assert [r.getMessage() for r in caplog.records] == comparison.warnings
    assert comparison.sentences[0].endswith("at unequal cost")

    caplog.clear()
    budget = {"budget": 221_000.0}
    with caplog.at_level(logging.WARNING, logger="sim.analysis.compare"):
        equal = compare(make_config(base, costs=budget), make_config(rare_visits, costs=budget))
    assert equal.warnings == [] and not caplog.records
    assert "unequal" not in equal.sentences[0]


@pytest.mark.parametrize("key", ["seed", "replications"])
def test_alternatives_must_share_seed_and_replications(base, make_config, key):
    other = make_config(base, **{key: getattr(base, key) + 1})
    with pytest.raises(ConfigError, match=rf"^{key}=\d+ .* {key}=\d+: they must match"):
        compare(base, other)


def test_the_sentence_carries_the_numbers(base, make_config):
    comparison = compare(base, make_config(base, schedule={"exchange_visit_every": 6}))
    effect = rows(comparison, "schedule.exchange_visit_every=6").loc["mean_effect"]
    cost = comparison.table.set_index(["scenario", "outcome"])["mean"].xs("total_cost", level=1)
    alt, ref = cost["schedule.exchange_visit_every=6"], cost["baseline"]
    assert comparison.sentences == [
        f"schedule.exchange_visit_every=6: {effect['diff']:+.2f} points "
        f"[{effect['diff_low']:.2f}, {effect['diff_high']:.2f}] in the chosen topics for "
        f"{(ref - alt) / ref:.0%} less money ({alt:,.0f} vs {ref:,.0f} USD), at unequal cost"
    ]
    assert "| schedule.exchange_visit_every=6 | programme effect in chosen topics |" in (
        comparison.to_markdown()
    )


def test_names_say_what_changed_unless_given(base, make_config):
    alt = make_config(
        base, design="pairwise", schedule={"exchange_visit_every": 6}, costs={"budget": 2.2e5}
    )
    assert config_changes(base, alt) == [
        "network.design=pairwise",
        "schedule.exchange_visit_every=6",
        "costs.budget=220000",
    ]
    assert config_changes(base, base) == []
    named = compare(base, alt, names=["now", "plan B"])
    assert list(named.table["scenario"].unique()) == ["now", "plan B"]
    assert named.sentences[0].startswith("plan B: ")
    with pytest.raises(ConfigError, match="one per scenario"):
        compare(base, alt, names=["plan B"])
    with pytest.raises(ConfigError, match="repeated"):
        compare(base, alt, alt)


# --- the command line ---------------------------------------------------------------------------


@pytest.mark.slow
def test_command_prints_the_comparison_and_writes_the_table(tmp_path):
    out = tmp_path / "new" / "cmp.csv"
    command = ["--set", "replications=3", "", "network=pairwise", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "sim.interfaces.compare_cli", *command],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "| scenario | label | unit | mean |" in done.stdout
    assert "\nnetwork.design=pairwise: " in done.stdout
    assert "warning: 'network.design=pairwise' costs" in done.stdout
    table = pd.read_csv(out)
    assert len(table) == 2 * len(COMPARED) and set(table["n"]) == {3}
    assert [p.name for p in out.parent.iterdir()] == ["cmp.csv"]  # no temporary file left


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("learning.peer_contact_rate=-1", "learning.peer_contact_rate=-1.0 is invalid: allowed"),
        ("network=hub,tpn", "network=hub,tpn is a sweep: allowed one value per scenario"),
        ("+experiment=designs", "+experiment=designs is a sweep"),
    ],
)
def test_bad_overrides_stop_with_one_line_and_write_nothing(tmp_path, capsys, override, message):
    out = tmp_path / "new" / "cmp.csv"
    assert main(["", override, "--out", str(out)]) == 2
    done = capsys.readouterr()
    [line] = done.err.splitlines()
    assert line.startswith("tpn-sim-compare: error: ") and message in line
    assert not done.out
    assert not out.parent.exists()
