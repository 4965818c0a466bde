"""configs/: every option of every group composes (Hydra's compose API) into a valid scenario.

Options are discovered by listing the YAML files, so a new file is covered without editing this
module. `sim.interfaces.hydra_config` is imported first: it registers the structured schema
(`scenario_schema`) and the resolvers that configs/config.yaml relies on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict

import sim.interfaces.hydra_config  # noqa: F401  (registers the schema and the resolvers)
from sim import ScenarioConfig
from sim.analysis.sensitivity import JobConfig
from sim.config import tpn_events
from sim.core.designs.base import DESIGNS

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
SPECIAL = {"experiment"}  # groups composed with `+group=option`, checked separately


def options() -> dict[str, list[str]]:
    """{group: [option, ...]} for every YAML file below configs/ except the primary config."""
    found: dict[str, list[str]] = {}
    for file in sorted(CONFIGS.rglob("*.yaml")):
        if file.parent == CONFIGS:
            continue
        group = file.parent.relative_to(CONFIGS).as_posix()
        found.setdefault(group, []).append(file.stem)
    return found


def scenario_options() -> list[Any]:
    return [
        pytest.param(group, name, id=f"{group}={name}")
        for group, names in options().items()
        if group not in SPECIAL and not group.startswith("hydra/")
        for name in names
    ]


def experiment_options() -> list[str]:
    return options().get("experiment", [])


def launcher_options() -> list[str]:
    return options().get("hydra/launcher", [])


def option_values(group: str, name: str) -> dict[str, Any]:
    """The values an option file sets itself (its `defaults` list left out)."""
    content = yaml.safe_load((CONFIGS / group / f"{name}.yaml").read_text()) or {}
    content.pop("defaults", None)
    return content


def assert_contains(actual: Any, expected: Any, where: str) -> None:
    """`expected` (from a YAML file) is part of `actual` (composed): every key it sets has the
    value it sets; lists match item by item; composed items may carry extra schema defaults."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: {actual!r} is not a mapping"
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} missing from the composed config"
            assert_contains(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), (where, actual)
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_contains(a, e, f"{where}[{i}]")
    elif not str(expected).startswith("${tpn.required"):  # a value only the user gives
        assert actual == expected, f"{where}: composed {actual!r}, file sets {expected!r}"


def container(node: DictConfig) -> dict[str, Any]:
    return OmegaConf.to_container(node, resolve=False, enum_to_str=True)  # type: ignore[return-value]


@pytest.fixture
def hydra_compose() -> Iterator[Any]:
    """`hydra_compose(*overrides, hydra=False)`: compose configs/config.yaml as tpn-sim does."""
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        yield lambda *overrides, hydra=False: compose(
            "config", overrides=list(overrides), return_hydra_config=hydra
        )


def test_discovery_finds_every_group() -> None:
    """A guard on the discovery itself: an empty parametrisation would test nothing."""
    found = options()
    for group in ("population", "kickoff", "network", "learning", "schedule", "costs"):
        assert found.get(group), f"no options found for {group}"
    assert experiment_options() and launcher_options()


EXAMPLE = {  # the shipped example file an option that reads a file is tried with
    "population": "configs/data/rwanda/institutions.csv",
    "network": "configs/data/rwanda/pairs.csv",
    "schedule": "configs/data/rwanda/calendar.csv",
}


def with_files(group: str, name: str) -> list[str]:
    """The option, and the example file it needs when it reads a user's file (a required
    `path`)."""
    reads = str(option_values(group, name).get("path", "")).startswith("${tpn.required")
    root = CONFIGS.parent
    return [f"{group}={name}", *([f"{group}.path={root / EXAMPLE[group]}"] if reads else [])]


@pytest.mark.parametrize(("group", "name"), scenario_options())
def test_every_option_composes_into_a_valid_scenario(hydra_compose, group: str, name: str) -> None:
    cfg = hydra_compose(*with_files(group, name))
    config = OmegaConf.to_object(cfg)  # ScenarioConfig.__post_init__ validates every section
    assert isinstance(config, ScenarioConfig)
    text = (CONFIGS / group / f"{name}.yaml").read_text()
    if "# @package _global_" in text:  # e.g. calibration: sets keys of several sections
        assert_contains(container(cfg), option_values(group, name), group)
    else:
        assert_contains(container(cfg[group]), option_values(group, name), group)


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_every_design_has_a_network_option(name: str) -> None:
    assert name in options()["network"]


@pytest.mark.parametrize("name", options()["network"])
def test_network_option_selects_the_design_of_its_name(hydra_compose, name: str) -> None:
    """An option is named by the design and the expert variants it runs (`network.label`)."""
    config = OmegaConf.to_object(hydra_compose(*with_files("network", name)))
    assert config.network.label.replace("+", "_") == name


def test_default_config_equals_the_python_defaults(hydra_compose) -> None:
    """configs/ and the declared defaults must not drift apart (schedule events included)."""
    config = OmegaConf.to_object(hydra_compose())
    assert config == JobConfig()  # the scenario, and no sensitivity study
    assert asdict(config) == asdict(JobConfig())
    assert config.scenario() == ScenarioConfig()
    assert [asdict(e) for e in config.schedule.events] == [asdict(e) for e in tpn_events()]


@pytest.mark.parametrize("name", experiment_options())
def test_experiment_writes_to_its_own_folder(hydra_compose, name: str) -> None:
    """A study is either a sweep (MULTIRUN, own sweep folder) or one run in its own folder."""
    cfg = hydra_compose(f"+experiment={name}", hydra=True)
    assert isinstance(OmegaConf.to_object(cfg_without_hydra(cfg)), ScenarioConfig)
    if cfg.hydra.mode != RunMode.MULTIRUN:
        assert cfg.hydra.run.dir == f"results/{name}"
        return
    params = dict(cfg.hydra.sweeper.params or {})
    assert params, f"experiment {name} sweeps nothing"
    assert f"{cfg.hydra.sweep.dir}/".startswith(f"results/{name}/")
    # every value it sweeps composes into a valid scenario too
    for key, values in params.items():
        [swept] = OverridesParser.create().parse_overrides([f"{key}={values}"])
        for value in swept.sweep_string_iterator():
            job = hydra_compose(f"+experiment={name}", f"{key}={value}")
            assert isinstance(OmegaConf.to_object(job), ScenarioConfig), (key, value)


def cfg_without_hydra(cfg: DictConfig) -> DictConfig:
    """The job's own config, as Hydra hands it to the task function."""
    job = cfg.copy()
    with open_dict(job):
        del job["hydra"]
    return job


@pytest.mark.parametrize("name", launcher_options())
def test_launcher_option_composes(hydra_compose, name: str) -> None:
    cfg = hydra_compose(f"hydra/launcher={name}", hydra=True)
    assert_contains(container(cfg.hydra.launcher), option_values("hydra/launcher", name), name)
    assert isinstance(OmegaConf.to_object(hydra_compose(f"hydra/launcher={name}")), ScenarioConfig)


def test_slurm_launcher_is_submitit(hydra_compose) -> None:
    cfg = hydra_compose("hydra/launcher=slurm", hydra=True)
    assert "submitit" in cfg.hydra.launcher._target_
    assert "slurm" in cfg.hydra.launcher._target_.lower()
