"""The Hydra side of the configuration: the configs under `configs/`, composed and validated as
`tpn-sim` does, for the command line, scripts and notebooks alike.

Importing this module registers the structured schema and the resolvers the YAML files use:
notebooks and scripts get them with `compose_scenario`, and the worker processes of Hydra's
launchers, which import the command line to run a job, get them before they resolve its folder.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import typing
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from functools import cache
from pathlib import Path

import yaml
from hydra import compose, version
from hydra._internal.hydra import Hydra
from hydra._internal.utils import create_config_search_path
from hydra.core.config_search_path import SearchPathQuery
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Glob, Override
from hydra.errors import HydraException, MissingConfigException
from hydra.initialize import get_gh_backup, restore_gh_from_backup
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import InterpolationResolutionError, OmegaConfBaseException, ValidationError

from sim.analysis.sensitivity import JobConfig
from sim.config import ROOT, ConfigError, Sample, representative, yaml_problem
from sim.core.memory import check_memory
from sim.core.model import TwinningModel
from sim.core.posterior import kept
from sim.core.scenario import ScenarioConfig, declared
from sim.results.store import capped, sweep_dirname

CONFIG_DIR = str(ROOT / "configs")
# the project's config groups, whose options are the YAML files under configs/<group>/
GROUPS = sorted(p.name for p in Path(CONFIG_DIR).iterdir() if p.is_dir() and p.name != "hydra")
OPTION_NAME = r"[A-Za-z0-9_]{1,250}"  # a plain ASCII name, short enough for a file name
# what composing can raise, besides our ConfigError (a ValueError)
COMPOSING = (HydraException, OmegaConfBaseException, yaml.YAMLError, ValueError)
SCHEMA = JobConfig  # the structured config that configs/config.yaml extends: a scenario and,
# for a study, its `sensitivity` section


def register() -> None:
    """Store the typed schema (`scenario_schema`, which configs/config.yaml extends) and the
    resolvers the YAML files use."""
    ConfigStore.instance().store(name="scenario_schema", node=SCHEMA)
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


@contextmanager
def hydra_configs(config_dir: str | None = None) -> Iterator[None]:
    """Hydra set up to compose as `tpn-sim [-cd config_dir]` runs: the same search path (Hydra's
    own configs, configs/, then the user's folder, where Hydra puts it), so that the checks
    before a run, scripts and the run itself see the same options. Hydra's global state is
    restored afterwards."""
    search_path = create_config_search_path(f"file://{CONFIG_DIR}")
    if config_dir is not None:  # as hydra/_internal/utils.py adds --config-dir
        folder = f"file://{user_config_dir(config_dir)}"
        search_path.prepend("command-line", folder, anchor=SearchPathQuery(provider="schema"))
    backup = get_gh_backup()
    GlobalHydra.instance().clear()
    version.setbase("1.3")
    try:
        Hydra.create_main_hydra2("tpn-sim", search_path)
        yield
    finally:
        restore_gh_from_backup(backup)


def user_config_dir(path: str) -> str:
    """The absolute path of a `-cd/--config-dir` folder of the user's own options. Hydra reads
    configs/ before it, so a file there named like a shipped one (network/tpn.yaml) would be
    silently ignored: it is refused, as is a folder that does not exist."""
    folder = Path(os.path.abspath(path))  # as Hydra makes it
    if not folder.is_dir():
        raise ConfigError(
            f"--config-dir={shown(path)} is invalid: no such folder; allowed a folder of your "
            "own options, e.g. mydir/network/my_design.yaml for network=my_design"
        )
    for shipped in sorted(Path(CONFIG_DIR).rglob("*.yaml")):
        name = shipped.relative_to(CONFIG_DIR)
        if (folder / name).is_file():
            mine = Path(path) / name
            raise ConfigError(
                f"--config-dir={shown(path)}: {mine} is invalid: Hydra reads configs/{name} in "
                "its place (configs/ comes first in its search path); allowed a name configs/ "
                f"does not use, e.g. {mine.with_name('my_' + mine.name)}"
            )
    return str(folder)


# --- values a user set, and the calibration ----------------------------------------------------


def calibrated_name(key: str) -> str:
    """A configuration key as sim.core.posterior names it: a topic's baseline fields as
    `topic.<name>.<field>`, whichever type has the topic."""
    return re.sub(r"^population\.types\.\w+\.topics\.", "topic.", key)


def keep_overridden(
    config: ScenarioConfig, overrides: list[str], options: Iterable[str] = ()
) -> ScenarioConfig:
    """With `calibration.sample=posterior`, calibrated parameters set on purpose, on the command
    line (an ablation, a swept value) or in an option file (`options`: the keys those set),
    keep that value instead of being drawn from the posterior: a value you set wins over the
    calibration."""
    keys = {o.partition("=")[0].lstrip("+~") for o in overrides} | set(options)
    return kept(config, {calibrated_name(k) for k in keys})


Setting = tuple[str, str, object]  # (option, dotted key, value)


def option_settings(overrides: Sequence[str], config_name: str = "config") -> tuple[Setting, ...]:
    """Every value the option files of a composition set, as (option, dotted key, value) in
    Hydra's order (a later one wins), leaving out the schema's defaults and Hydra's own
    settings. Needs Hydra set up (`hydra_configs`)."""
    loader = GlobalHydra.instance().config_loader()

    def selects(override: str) -> bool:  # only options change which files are read
        key = override.partition("=")[0].lstrip("+~")
        return key.startswith("hydra.searchpath") or loader.repository.group_exists(key)

    sources = tuple(source.path for source in loader.get_sources())
    return settings_of(sources, config_name, tuple(o for o in overrides if selects(o)))


@cache
def settings_of(sources: tuple[str, ...], config_name: str, chosen: tuple[str, ...]) -> tuple:
    """`option_settings` of a search path and options (a sweep's jobs share them)."""
    loader = GlobalHydra.instance().config_loader()
    found: list[Setting] = []
    for default in loader.compute_defaults_list(config_name, list(chosen), RunMode.RUN).defaults:
        path = default.config_path
        if path is None or path == "scenario_schema" or path.startswith("hydra/"):
            continue
        tree = OmegaConf.to_container(loader.repository.load_config(path).config)
        tree.pop("defaults", None)
        if not default.package:
            tree.pop("hydra", None)
        found += [(path, key, value) for key, value in flat(tree, default.package)]
    return tuple(found)


def flat(tree: object, prefix: str) -> list[tuple[str, object]]:
    """A nested mapping's values by dotted key (lists are values)."""
    if not isinstance(tree, dict):
        return [(prefix, tree)]
    return [item for k, v in tree.items() for item in flat(v, f"{prefix}.{k}".lstrip("."))]


def calibration_notes(
    config: ScenarioConfig, overrides: list[str], settings: Sequence[Setting]
) -> list[str]:
    """What to tell a user whose option file sets a calibrated parameter: that their value wins,
    and over what (the command line's values are documented to win)."""
    typed = {calibrated_name(o.partition("=")[0].lstrip("+~")) for o in overrides}
    calibration = {calibrated_name(k): (o, v) for o, k, v in settings if is_calibration(o)}
    notes = []
    for option, key, value in settings:
        name = calibrated_name(key)
        if is_calibration(option) or name not in representative() or name in typed:
            continue
        if name in calibration:
            what = "replaces {}'s {}".format(*calibration[name])
        elif config.calibration.sample == Sample.posterior:
            what = "is kept in every replication instead of drawn from the posterior"
        else:
            continue
        notes.append(f"{key}={value} ({option}.yaml) {what}: a value you set wins")
    return notes


def is_calibration(option: str) -> bool:
    return option.startswith("calibration/")


def scenario(
    cfg: DictConfig, overrides: list[str], config_name: str = "config"
) -> tuple[ScenarioConfig, list[str]]:
    """A composed job's ScenarioConfig, the calibrated values set on purpose kept (the command
    line's and the option files'), and what to tell the user about the latter."""
    settings = option_settings(overrides, config_name)
    mine = [key for option, key, _ in settings if not is_calibration(option)]
    config = keep_overridden(OmegaConf.to_object(cfg), overrides, mine)
    return config, calibration_notes(config, overrides, settings)


# --- one job, composed and checked --------------------------------------------------------------


def validate(overrides: list[str], config_name: str = "config") -> ScenarioConfig:
    """Compose one job as Hydra will, build (so range-check) its ScenarioConfig, check that it
    fits in memory, and set up one model from it: that reads and validates the users' files and
    checks that the budget pays for the design's fixed activities, exactly as the run will.
    Returns the config."""
    return composed(overrides, config_name)[0]


def composed(
    overrides: list[str], config_name: str = "config"
) -> tuple[ScenarioConfig, dict[str, str]]:
    """`validate`, and the job's folders as Hydra will name them (`run`, or `sweep` below the
    sweep's folder). Needs Hydra set up (`hydra_configs`); any problem is a one-line
    ConfigError."""
    with one_line_errors(overrides, config_name):
        cfg = compose(config_name, overrides, return_hydra_config=True)
        folders = {"run": cfg.hydra.run.dir, "sweep": cfg.hydra.sweep.subdir}
        with open_dict(cfg):
            del cfg["hydra"]
        config = scenario(cfg, overrides, config_name)[0]
    check_memory(config)
    TwinningModel(config)
    return config, folders


def compose_scenario(overrides: Sequence[str] = ()) -> ScenarioConfig:
    """One scenario (not a sweep) composed from configs/ and validated as `tpn-sim` would: for
    notebooks, scripts and the other command-line tools (export, compare); any problem is a
    one-line ConfigError. `overrides` are as on the command line (`["network=hub"]`)."""
    overrides = list(overrides)
    check_overrides(overrides)
    with hydra_configs(), one_line_errors(overrides):
        parser = OverridesParser.create(config_loader=GlobalHydra.instance().config_loader())
        parsed = parser.parse_overrides(overrides)
        swept = [o.input_line for o in parsed if o.is_sweep_override()]
        if swept:
            raise ConfigError(f"{swept[0]} is a sweep: allowed one value per scenario")
        base = compose("config", overrides, return_hydra_config=True)
        if base.hydra.mode == RunMode.MULTIRUN:  # e.g. +experiment=designs
            raise ConfigError(f"{shlex.join(overrides)} is a sweep: allowed one value per scenario")
        return validate(overrides)


def new_entry(key: str) -> bool:
    """Whether `key` names an entry of a mapping in the configuration (such as a province's
    `counts`), which `+` may add, rather than a field, which it may not."""
    parent = key.rpartition(".")[0]
    try:
        return typing.get_origin(declared(parent)[0]) is dict
    except KeyError:
        return False


def check_overrides(overrides: Sequence[str], config_dir: str | None = None) -> None:
    """Refuse, before anything is composed, what an override must not do: run code (a
    `_target_` or a Hydra callback names a callable), read a file outside the config folders (an
    option named like a path, `network=../../x`: options are plain ASCII names, short enough
    for a file name), or add a key nothing reads (`+foo=1`, which would pass silently). Each
    problem names its override; `config_dir` (-cd) adds its options to those listed."""
    parser = OverridesParser.create()
    for line in overrides:
        try:
            [override] = parser.parse_overrides([line])
        except HydraException:
            raise ConfigError(
                f"{shown(line)!r} is invalid: allowed key=value in Hydra's override syntax, with "
                "plain ASCII names (e.g. network=pairwise, learning.peer_contact_rate=0.1)"
            ) from None
        except ValueError:  # Python reads no integer of more digits
            raise ConfigError(
                f"{shown(line)!r} is invalid: allowed a number of at most "
                f"{sys.get_int_max_str_digits():,} digits"
            ) from None
        check_override(override, config_dir)


def check_override(override: Override, config_dir: str | None = None) -> None:
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
            f"{shown(override.input_line)} is invalid: `+` adds a key the model never reads; "
            f"allowed {key}=value for a key the configuration has (tpn-sim --cfg job lists them)"
        )
    if (key in GROUPS or key.startswith("hydra/")) and not isinstance(override.value(), Glob):
        values = (  # (a glob only picks among the options there are)
            list(override.sweep_string_iterator())
            if override.is_sweep_override()
            else [override.value()]
        )
        for value in values:
            if not (isinstance(value, str) and re.fullmatch(OPTION_NAME, value)):
                folders = [CONFIG_DIR, *([config_dir] if config_dir else [])]
                options = sorted({f.stem for d in folders for f in (Path(d) / key).glob("*.yaml")})
                allowed = f"one of {options}" if key in GROUPS else "a plain option name"
                text = repr(shown(value)) if isinstance(value, str) else repr(value)  # nan
                raise ConfigError(f"{key}={text} is invalid: allowed {allowed}")


def shown(text: str, limit: int = 100) -> str:
    """A user's input as an error names it: whole, or its start and its length when too long
    to read."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


# --- composition errors in one line ------------------------------------------------------------


@contextmanager
def one_line_errors(overrides: list[str], config_name: str = "config") -> Iterator[None]:
    """Any problem composing `overrides` as a one-line ConfigError (`one_line`). Inside
    `hydra_configs`, which `located` composes with."""
    try:
        yield
    except ConfigError:
        raise
    except COMPOSING as error:
        raise ConfigError(one_line(error, overrides, config_name)) from None


def one_line(error: Exception, overrides: list[str], config_name: str = "config") -> str:
    """A composition error as one line naming the key, the value and what is allowed: a config
    file's YAML by file, line and column."""
    if isinstance(error, ConfigError):
        return str(error)
    if isinstance(error, MissingConfigException) and error.missing_cfg_file:
        group, _, name = error.missing_cfg_file.rpartition("/")
        options = sorted(error.options or [])
        if not group:  # the primary config (-cn)
            return (
                f"--config-name={shown(name)} is invalid: allowed the name of a YAML file in "
                "configs/ or your -cd folder (default: config)"
            )
        return f"{group}={shown(name)} is invalid: allowed one of {options}"
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, OmegaConfBaseException | yaml.YAMLError):
        cause = cause.__cause__ or cause.__context__  # Hydra raises anew, naming the file
    if isinstance(cause, yaml.YAMLError):
        return yaml_problem(cause)
    if isinstance(cause, OmegaConfBaseException) and getattr(cause, "full_key", None):
        return omegaconf_line(cause, overrides, config_name)
    if isinstance(error, UnicodeDecodeError):
        return not_utf8(error)
    option = re.match(r"In '([^']+)': ", str(error))  # a whole file Hydra could not merge
    if option and cause is not None:
        return (
            f"{option[1]}.yaml is invalid ({str(cause.msg).splitlines()[0]}): allowed a mapping "
            "of keys the configuration has (tpn-sim --cfg job lists them)"
        )
    return shown(str(error).strip().splitlines()[0], 300)


def not_utf8(error: UnicodeDecodeError) -> str:
    """Hydra reads config files as UTF-8 and does not say which one it could not: find it."""
    sources = GlobalHydra.instance().config_loader().get_sources()
    folders = [Path(s.path) for s in sources if s.scheme() == "file"]
    for file in (f for folder in folders for f in sorted(folder.rglob("*.yaml"))):
        try:
            file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            return f"{file} is invalid: not UTF-8 text ({error.reason}): allowed UTF-8 YAML"
    return f"a config file is not UTF-8 text ({error.reason}): allowed UTF-8 YAML"


def omegaconf_line(error: OmegaConfBaseException, overrides: list[str], config_name: str) -> str:
    """OmegaConf's error as `key=value is invalid: allowed ...`, with the full key even when
    OmegaConf names it from inside an element of a list (`kind` of schedule.events[3])."""
    message = str(error.msg).splitlines()[0]
    ours = message.partition("ConfigError raised while resolving interpolation: ")[2]
    if ours:  # required(): already a whole sentence
        return ours
    written = [o for o in overrides if "${" in o]
    if isinstance(error, InterpolationResolutionError) and written:  # not the folder it reached
        return (
            f"{shown(written[0])} is invalid: {message}; allowed a value, or the interpolation of "
            "a key the configuration has (e.g. ${learning.peer_contact_rate})"
        )
    key, value = error.full_key, None
    if re.split(r"[.\[]", key)[0] not in TOP_KEYS:
        key, value = located(error, overrides, config_name) or (key, None)
    dotted = re.sub(r"\[(\w+)\]", r".\1", key)  # 'a[0].b' is typed 'a.0.b'
    typed = [o for o in overrides if o.partition("=")[0].lstrip("+~") == dotted]
    schema = getattr(error, "object_type", None)
    if "not in" in message and schema is not None and hasattr(schema, "__dataclass_fields__"):
        section = dotted.rpartition(".")[0] or "the configuration"
        allowed = [f.name for f in fields(schema)]
        named = shown(typed[0]) if typed else key
        return f"{named} is invalid: not a key of {section}; allowed {allowed}"
    if "not in struct" in message and typed:  # a new entry of a mapping (type, count)
        return (
            f"{typed[0]} is invalid: no such entry yet; allowed as a new entry with a leading "
            f"'+': +{typed[0]}"
        )
    found, allowed = reading(message, dotted)
    values = [v for v in (found, *(o.partition("=")[2] for o in typed), value) if v is not None]
    named = f"{key}={shown(repr(values[0]))}" if values else key
    if allowed is None:
        return f"{named} is invalid: {message}"
    return f"{named} is invalid: allowed {allowed.format(value=values[0] if values else 'a, b')}"


KINDS = {"Integer": "an integer", "Float": "a number", "Boolean": "true or false"}


def reading(message: str, key: str) -> tuple[str | None, str | None]:
    """The value an OmegaConf message names, if any, and what is allowed, in this project's
    words (a number's declared range included)."""
    if match := re.match(r"Invalid value '(.*)', expected one of \[(.*)\]", message):
        return match[1], f"one of {match[2].split(', ')}"
    converted = re.match(
        r"Value '(.*?)' (?:of type '\w+' )?could not be converted to (\w+)", message
    )
    if converted:
        kind = KINDS.get(converted[2], converted[2].lower())
        try:
            low, high = declared(key)[1].metadata["range"]
        except KeyError:
            return converted[1], kind
        return converted[1], f"{kind} in [{low}, {high}]"
    if "is not a ListConfig, list or tuple" in message:
        return None, "a list, e.g. [{value}]"
    if message.startswith("Cannot convert"):
        return None, "a text"
    return None, None


TOP_KEYS = {f.name for f in fields(SCHEMA)} | {"hydra"}


def section_lists(node: type = SCHEMA, prefix: str = "") -> list[tuple[str, type]]:
    """The lists of sections in the configuration (`population.provinces`, `schedule.events`),
    by dotted key, with their element type."""
    hints = typing.get_type_hints(node)
    found = []
    for f in fields(node):
        kind, args = hints[f.name], typing.get_args(hints[f.name])
        if typing.get_origin(kind) is list and args and is_dataclass(args[0]):
            found.append((f"{prefix}{f.name}", args[0]))
        elif is_dataclass(kind):
            found += section_lists(kind, f"{prefix}{f.name}.")
    return found


SECTION_LISTS = section_lists()


def located(
    error: OmegaConfBaseException, overrides: list[str], config_name: str
) -> tuple[str, object] | None:
    """The full key and value of an error OmegaConf names from inside an element of a list of
    sections ('kind' for schedule.events[3].kind): each element of the lists, composed without
    the schema, checked alone until one fails the same way."""
    try:
        raw = untyped(overrides, config_name)
    except COMPOSING:
        return None
    for path, kind in SECTION_LISTS:
        items = OmegaConf.select(raw, path)
        for i, item in enumerate(items if OmegaConf.is_list(items) else []):
            try:
                OmegaConf.merge(OmegaConf.structured(kind), item)
            except ValidationError as again:
                if again.full_key == error.full_key:
                    return f"{path}[{i}].{again.full_key}", OmegaConf.select(item, again.full_key)
    return None


def untyped(overrides: list[str], config_name: str) -> DictConfig:
    """The composition without the schema: every file and override merged, nothing checked."""
    ConfigStore.instance().store(name="scenario_schema", node={})
    try:
        return compose(config_name, overrides)
    finally:
        register()


register()
