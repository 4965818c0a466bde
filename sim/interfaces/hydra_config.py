"""The Hydra side of the configuration: the configs under `configs/`, composed and validated as
`tpn-sim` does, for the command line, scripts and notebooks alike.

Importing this module registers the structured schema and the resolvers the YAML files use:
notebooks and scripts get them with `compose_scenario`, and the worker processes of Hydra's
launchers, which import the command line to run a job, get them before they resolve its folder.
"""

from __future__ import annotations

import re
import shlex
import typing
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Glob, Override
from hydra.errors import HydraException, MissingConfigException
from hydra.types import RunMode
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sim.analysis.sensitivity import JobConfig
from sim.config import ROOT, ConfigError
from sim.core.memory import check_memory
from sim.core.model import TwinningModel
from sim.core.posterior import kept
from sim.core.scenario import ScenarioConfig, declared
from sim.results.store import capped, sweep_dirname

CONFIG_DIR = str(ROOT / "configs")
# the project's config groups, whose options are the YAML files under configs/<group>/
GROUPS = sorted(p.name for p in Path(CONFIG_DIR).iterdir() if p.is_dir() and p.name != "hydra")


def register() -> None:
    """Store the typed schema (`scenario_schema`, which configs/config.yaml extends: a scenario
    and, for a study, its `sensitivity` section) and the resolvers the YAML files use."""
    ConfigStore.instance().store(name="scenario_schema", node=JobConfig)
    OmegaConf.register_new_resolver("tpn.dirname", run_dirname, replace=True)
    # Cached: Hydra copies the sweep's resolver cache into every job, so each job gets the
    # folder named from the sweep's overrides, not from its own (hydra.overrides.task differs).
    OmegaConf.register_new_resolver("tpn.sweepname", sweep_dirname, replace=True, use_cache=True)
    OmegaConf.register_new_resolver("tpn.required", required, replace=True)


def run_dirname(override_dirname: str) -> str:
    """Folder name of a run: its overrides (so a re-run lands in the same place), or 'default';
    a hash stands in for the end of overrides too long for a file name."""
    name = override_dirname.replace("/", "_") or "default"
    return capped(name, name)


def required(key: str, example: str) -> str:
    """The value of an option's key that only the user can give (the path of their file)."""
    raise ConfigError(f"{key} is not set: allowed the path of your file, e.g. {key}={example}")


def keep_overridden(config: ScenarioConfig, overrides: list[str]) -> ScenarioConfig:
    """With `calibration.sample=posterior`, calibrated parameters the command line sets (an
    ablation, a swept value) keep that value instead of being drawn from the posterior."""
    keys = {o.partition("=")[0].lstrip("+~") for o in overrides}
    return kept(config, {re.sub(r"^population\.types\.\w+\.topics\.", "topic.", k) for k in keys})


def validate(overrides: list[str]) -> ScenarioConfig:
    """Compose one job as Hydra will, build (so range-check) its ScenarioConfig, check that it
    fits in memory, and set up one model from it: that reads and validates the users' files and
    checks that the budget pays for the design's fixed activities, exactly as the run will.
    Returns the config."""
    config = OmegaConf.to_object(compose(config_name="config", overrides=overrides))
    config = keep_overridden(config, overrides)
    check_memory(config)
    TwinningModel(config)
    return config


def compose_scenario(overrides: Sequence[str] = ()) -> ScenarioConfig:
    """One scenario (not a sweep) composed from configs/ and validated as `tpn-sim` would: for
    notebooks, scripts and the other command-line tools (export, compare); any problem is a
    one-line ConfigError. `overrides` are as on the command line (`["network=hub"]`)."""
    overrides = list(overrides)
    try:
        check_overrides(overrides)
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            parser = OverridesParser.create(config_loader=GlobalHydra.instance().config_loader())
            parsed = parser.parse_overrides(overrides)
            swept = [o.input_line for o in parsed if o.is_sweep_override()]
            if swept:
                raise ConfigError(f"{swept[0]} is a sweep: allowed one value per scenario")
            base = compose("config", overrides, return_hydra_config=True)
            if base.hydra.mode == RunMode.MULTIRUN:  # e.g. +experiment=designs
                raise ConfigError(
                    f"{shlex.join(overrides)} is a sweep: allowed one value per scenario"
                )
            return validate(overrides)
    except (HydraException, OmegaConfBaseException, ValueError) as error:
        raise ConfigError(one_line(error, overrides)) from None


def new_entry(key: str) -> bool:
    """Whether `key` names an entry of a mapping in the configuration (such as a province's
    `counts`), which `+` may add, rather than a field, which it may not."""
    parent = key.rpartition(".")[0]
    try:
        return typing.get_origin(declared(parent)[0]) is dict
    except KeyError:
        return False


def check_overrides(overrides: Sequence[str]) -> None:
    """Refuse, before anything is composed, what an override must not do: run code (a
    `_target_` or a Hydra callback names a callable), read a file outside configs/ (an option
    named like a path, `network=../../x`: options are plain ASCII names), or add a key nothing
    reads (`+foo=1`, which would pass silently). Each problem names its override."""
    parser = OverridesParser.create()
    for line in overrides:
        try:
            [override] = parser.parse_overrides([line])
        except HydraException:
            raise ConfigError(
                f"{line!r} is invalid: allowed key=value in Hydra's override syntax, with plain "
                "ASCII names (e.g. network=pairwise, learning.peer_contact_rate=0.1)"
            ) from None
        check_override(override)


def check_override(override: Override) -> None:
    """One parsed override against the rules of `check_overrides`."""
    key = override.key_or_group.lstrip("+~")
    if "_target_" in re.split(r"[./]", key) or key.startswith("hydra.callbacks"):
        raise ConfigError(
            f"{override.input_line} is refused: allowed no `_target_` and no hydra.callbacks "
            "on the command line (they would run code)"
        )
    adds = override.is_add() or override.is_force_add()
    if adds and key not in GROUPS and not key.startswith("hydra") and not new_entry(key):
        raise ConfigError(
            f"{override.input_line} is invalid: `+` adds a key the model never reads; allowed "
            f"{key}=value for a key the configuration has (tpn-sim --cfg job lists them)"
        )
    if (key in GROUPS or key.startswith("hydra/")) and not isinstance(override.value(), Glob):
        values = (  # (a glob only picks among the options there are)
            list(override.sweep_string_iterator())
            if override.is_sweep_override()
            else [override.value()]
        )
        for value in values:
            if not (isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_]+", value)):
                options = sorted(f.stem for f in (Path(CONFIG_DIR) / key).glob("*.yaml"))
                allowed = f"one of {options}" if key in GROUPS else "a plain option name"
                raise ConfigError(f"{key}={value!r} is invalid: allowed {allowed}")


def one_line(error: Exception, overrides: list[str]) -> str:
    """A composition error as one line naming the key, the value and what is allowed."""
    if isinstance(error, ConfigError):
        return str(error)
    if isinstance(error, MissingConfigException) and error.missing_cfg_file:
        group, _, name = error.missing_cfg_file.rpartition("/")
        options = sorted(error.options or [])
        return f"{group}={name} is invalid: allowed one of {options}"
    cause = error
    while cause.__cause__ is not None and not isinstance(cause, OmegaConfBaseException):
        cause = cause.__cause__
    if isinstance(cause, OmegaConfBaseException) and getattr(cause, "full_key", None):
        message = str(cause.msg).splitlines()[0]
        ours = message.partition("ConfigError raised while resolving interpolation: ")[2]
        if ours:  # required(): already a whole sentence
            return ours
        schema = getattr(cause, "object_type", None)
        key = re.sub(r"\[(\w+)\]", r".\1", cause.full_key)  # 'a[0].b' is typed 'a.0.b'
        typed = [o for o in overrides if o.partition("=")[0].lstrip("+~") == key]
        if "not in" in message and schema is not None and hasattr(schema, "__dataclass_fields__"):
            message += f": allowed keys {[f.name for f in fields(schema)]}"
        elif "not in struct" in message and typed:  # a new entry of a mapping (type, count)
            message += f": allowed as a new entry with a leading '+': +{typed[0]}"
        return f"{typed[0] if typed else cause.full_key}: {message}"
    return str(error).strip().splitlines()[0]


register()
