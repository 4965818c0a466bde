"""Shared fixtures and helpers for the twinning-sim test suite.

Everything here is deterministic: seeds are fixed, and the "many seeds" used by property-style
checks are a fixed range. Helpers that build configurations are exposed as fixtures returning
callables, so test modules never import from conftest.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import sim
from sim import ScenarioConfig
from sim.config import EventSpec, ProvinceSpec, ScheduleConfig, tpn_events
from sim.core.designs.base import DESIGNS
from sim.core.posterior import kept

_ALL_DESIGNS = tuple(sorted(DESIGNS))
DATA = Path(__file__).resolve().parent.parent / "configs" / "data"
EXAMPLE_PAIRS = str(DATA / "rwanda" / "pairs.csv")  # the default members' drawn pairs


def configure(
    config: ScenarioConfig | None = None,
    *,
    design: str | None = None,
    replications: int | None = None,
    seed: int | None = None,
    **sections: dict[str, Any],
) -> ScenarioConfig:
    """A copy of `config` (default: the Rwanda scenario) with a design and section overrides.

    `sections` maps a section name to field overrides, e.g.
    ``configure(design="none", learning={"drift_sd": 20.0})``. A design that reads pairs from a
    file gets the shipped Rwanda example unless `network` names one. Every step goes through
    ``dataclasses.replace``, so the result is validated exactly like a user's config. Values
    set here keep their value when the scenario draws from the posterior, as the command
    line's do (`sim.core.posterior.kept`).
    """
    config = config or ScenarioConfig()
    top: dict[str, Any] = {}
    for name, overrides in sections.items():
        if isinstance(overrides, dict):
            top[name] = replace(getattr(config, name), **overrides)
        else:
            top[name] = overrides
    if design is not None:
        network = top.get("network", config.network)
        path = network.path or (EXAMPLE_PAIRS if design == "from_file" else "")
        top["network"] = replace(network, design=design, path=path)
    if replications is not None:
        top["replications"] = replications
    if seed is not None:
        top["seed"] = seed
    chosen = {f"{name}.{key}" for name, o in sections.items() if isinstance(o, dict) for key in o}
    return kept(replace(config, **top), chosen)


def lone_hospital_config(**overrides: Any) -> ScenarioConfig:
    """One province with a single hospital and three districts: the hospital has no peer."""
    provinces = [ProvinceSpec("Solo", ["Alpha", "Beta", "Gamma"], "Solo group", {"hospital": 1})]
    events: list[EventSpec] = [e for e in tpn_events() if not e.group]
    return configure(
        population={"provinces": provinces},
        schedule=ScheduleConfig(events=events),
        **overrides,
    )


@pytest.fixture
def default_config() -> ScenarioConfig:
    """The default Rwanda TPN scenario."""
    return ScenarioConfig()


@pytest.fixture
def make_config() -> Callable[..., ScenarioConfig]:
    """`make_config(design=..., replications=..., seed=..., <section>={...})`."""
    return configure


@pytest.fixture
def with_design() -> Callable[[ScenarioConfig, str], ScenarioConfig]:
    """Switch the network design of a config: `with_design(config, "none")`."""
    return lambda config, design: configure(config, design=design)


@pytest.fixture
def lone_hospital() -> Callable[..., ScenarioConfig]:
    """A scenario in which the only hospital can find no higher-performing peer."""
    return lone_hospital_config


@contextmanager
def quiet_run_log() -> Iterator[None]:
    """Inside the block the `sim.core.run` logger passes errors only, not warnings (unmatched
    goals)."""
    logger = logging.getLogger("sim.core.run")
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(logging.NOTSET)


@pytest.fixture
def quiet_run() -> Iterator[None]:
    """`quiet_run_log` around a test: `pytestmark = pytest.mark.usefixtures("quiet_run")`."""
    with quiet_run_log():
        yield


@pytest.fixture(scope="session")
def quiet_log() -> Callable[[], AbstractContextManager[None]]:
    """`quiet_run_log` for fixtures and helpers of any scope: `with quiet_log(): ...`."""
    return quiet_run_log


@pytest.fixture(scope="session")
def small_runs() -> dict[str, sim.Results]:
    """Five replications of the default scenario under every design (computed once)."""
    with quiet_run_log():
        return {
            d: sim.run_scenario(configure(design=d, replications=5, seed=11)) for d in _ALL_DESIGNS
        }


# --- command-line helpers (subprocesses of the installed console scripts) ----------------------

BIN = Path(sys.executable).parent
RESULT_FILES = (
    "panel.parquet",
    "events.parquet",
    "ties.parquet",
    "summary.csv",
    "config.yaml",
    "manifest.json",
)


def run_command(
    program: str,
    *args: str,
    cwd: Path,
    module: bool = False,
    timeout: float = 300,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a console script (`tpn-sim`, `tpn-sim-report`) in `cwd`, or `python -m sim` if
    `module`; stdout and stderr are captured as text. Never raises on a non-zero exit.
    `preexec_fn` runs in the child before the program (e.g. to drop privileges)."""
    command = [sys.executable, "-m", "sim"] if module else [str(BIN / program)]
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        preexec_fn=preexec_fn,
    )


@pytest.fixture(scope="session")
def tpn_sim() -> Callable[..., subprocess.CompletedProcess[str]]:
    """`tpn_sim(*overrides, cwd=tmp_path, module=False)`: run the `tpn-sim` command line."""
    return lambda *args, **kwargs: run_command("tpn-sim", *args, **kwargs)


@pytest.fixture(scope="session")
def tpn_sim_report() -> Callable[..., subprocess.CompletedProcess[str]]:
    """`tpn_sim_report(folder, "--out", dir, cwd=tmp_path)`: run `tpn-sim-report`."""
    return lambda *args, **kwargs: run_command("tpn-sim-report", *args, **kwargs)


@pytest.fixture(scope="session")
def result_files() -> tuple[str, ...]:
    """The files every complete run folder holds (README, "Results store")."""
    return RESULT_FILES
