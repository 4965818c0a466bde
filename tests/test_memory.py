"""Very large runs: `collect=summary` keeps only summaries, and a run that cannot fit in memory is
refused before it starts, with one line saying how much it needs and what to lower."""

from __future__ import annotations

import logging
from dataclasses import replace

import pandas as pd
import pytest

import sim
from sim.config import Collect, ConfigError
from sim.core.memory import GIB, check_memory, needed


def large_population(config: sim.ScenarioConfig) -> sim.ScenarioConfig:
    """A hundred thousand hospitals: twenty thousand per province."""
    types = dict(config.population.types)
    types["hospital"] = replace(types["hospital"], count=20_000)
    return replace(config, population=replace(config.population, types=types))


def test_a_summary_run_keeps_the_summary_rows_only(make_config) -> None:
    config = make_config(replications=3, seed=5)
    full = sim.run_scenario(config)
    summary = sim.run_scenario(replace(config, collect=Collect.summary))
    pd.testing.assert_frame_equal(summary.summary, full.summary)
    for table in ("panel", "ties", "events", "model_vars", "agent_vars"):
        assert getattr(summary, table).empty, table


def test_the_default_run_needs_little_memory() -> None:
    parts = needed(sim.ScenarioConfig())
    assert sum(parts.values()) < 0.1 * GIB
    check_memory(sim.ScenarioConfig(), available=GIB)


def test_memory_grows_with_members_months_and_replications(make_config) -> None:
    config = make_config(replications=100)
    base = needed(config)
    more = needed(replace(config, replications=1_000))
    assert more["panel"] == pytest.approx(10 * base["panel"])
    assert more["model"] == base["model"]
    longer = needed(replace(config, schedule=replace(config.schedule, followup_months=42)))
    assert longer["model"] == pytest.approx(base["model"] * 61 / 31)
    assert "panel" not in needed(replace(config, collect=Collect.summary))


def test_too_many_replications_are_refused_with_what_to_lower(make_config) -> None:
    config = make_config(replications=10_000_000)
    with pytest.raises(ConfigError) as error:
        check_memory(config, available=20 * GIB)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("replications=10000000 of 40 members need about ")
    assert "GiB" in message and "20.0 GiB is available" in message
    assert message.endswith("set collect=summary, or lower replications")
    summary_only = replace(config, collect=Collect.summary)
    with pytest.raises(ConfigError, match=r"lower replications, or split them into a sweep"):
        check_memory(summary_only, available=1 * GIB)
    check_memory(summary_only, available=20 * GIB)  # 10 million summary rows fit


def test_a_population_too_large_for_the_machine_is_refused(make_config) -> None:
    config = large_population(make_config(replications=1, collect=Collect.summary))
    with pytest.raises(ConfigError, match=r"of 100,030 members need about .*: lower the "):
        check_memory(config, available=GIB)


def test_the_command_line_refuses_a_run_that_cannot_fit(tpn_sim, tmp_path) -> None:
    done = tpn_sim("replications=10000000", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tpn-sim: error: replications=10000000 of 40")
    assert not (tmp_path / "results").exists()


def test_run_scenario_refuses_before_running(make_config, caplog) -> None:
    with caplog.at_level(logging.INFO), pytest.raises(ConfigError, match=r"members need about"):
        sim.run_scenario(make_config(replications=10_000_000))
    assert not caplog.records  # nothing ran
