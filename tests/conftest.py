"""Shared fixtures and helpers for the twinning-sim test suite.

Everything here is deterministic: seeds are fixed, and the "many seeds" used by property-style
checks are a fixed range. Helpers that build configurations are exposed as fixtures returning
callables, so test modules never import from conftest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

import sim
from sim import ScenarioConfig
from sim.config import EventSpec, ProvinceSpec, ScheduleConfig, tpn_events
from sim.designs import DESIGNS

_ALL_DESIGNS = tuple(sorted(DESIGNS))


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
    ``configure(design="none", learning={"drift_sd": 20.0})``. Every step goes through
    ``dataclasses.replace``, so the result is validated exactly like a user's config.
    """
    config = config or ScenarioConfig()
    top: dict[str, Any] = {}
    for name, overrides in sections.items():
        if isinstance(overrides, dict):
            top[name] = replace(getattr(config, name), **overrides)
        else:
            top[name] = overrides
    if design is not None:
        top["network"] = replace(top.get("network", config.network), design=design)
    if replications is not None:
        top["replications"] = replications
    if seed is not None:
        top["seed"] = seed
    return replace(config, **top)


def lone_hospital_config(**overrides: Any) -> ScenarioConfig:
    """One province with a single hospital and three districts: the hospital has no peer."""
    provinces = [ProvinceSpec("Solo", ["Alpha", "Beta", "Gamma"], 1, "Solo group")]
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


@pytest.fixture(scope="session")
def small_runs() -> dict[str, sim.Results]:
    """Five replications of the default scenario under every design (computed once)."""
    logging.getLogger("sim.run").setLevel(logging.ERROR)
    try:
        return {
            d: sim.run_scenario(configure(design=d, replications=5, seed=11)) for d in _ALL_DESIGNS
        }
    finally:
        logging.getLogger("sim.run").setLevel(logging.NOTSET)
