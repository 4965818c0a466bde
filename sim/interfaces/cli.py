"""`tpn-sim`: the Hydra command line. Runs a scenario or a sweep into the results store.

Before Hydra starts, every job of the command line is composed and validated (types by the
structured config, ranges by the dataclasses), with the user's `-cd` folder where Hydra puts it,
and each job's folder is checked to be writable, so bad input stops with one line naming the
key, the value and what is allowed, before any output folder exists.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import hydra
import pandas as pd
from hydra import compose
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra._internal.utils import get_args_parser
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict

from sim.analysis import sensitivity
from sim.config import ROOT, ConfigError, Sample
from sim.core.posterior import SHIPPED
from sim.core.run import run_scenario
from sim.core.scenario import ScenarioConfig
from sim.interfaces.hydra_config import (
    CONFIG_DIR,
    check_overrides,
    composed,
    hydra_configs,
    one_line_errors,
    scenario,
    shown,
    user_config_dir,
)
from sim.results.store import (
    MODEL_SOURCES,
    claimed,
    code_hash,
    config_key,
    damaged,
    file_digests,
    is_complete,
    read_manifest,
    read_table,
    save,
    well_formed,
)
from sim.results.tables import describe

PACKAGES = [
    "twinning-sim",
    "mesa",
    "numpy",
    "pandas",
    "scipy",
    "hydra-core",
    "omegaconf",
    "pyarrow",
]
log = logging.getLogger(__name__)


def package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def git_state() -> dict[str, object]:
    """The source commit, if the package runs from a git checkout."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        except OSError:
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    return {
        "git_commit": commit,
        "git_dirty": bool(git("status", "--porcelain")) if commit else None,
    }


def format_summary(summary: pd.DataFrame) -> str:
    """Mean, 95% confidence interval of the mean, and 95% range of replications, per measure."""
    table = describe(summary)
    table = table.assign(
        mean=table["mean"].map("{:,.2f}".format),
        ci95=[
            f"[{a:,.2f}, {b:,.2f}]" for a, b in zip(table["ci_low"], table["ci_high"], strict=True)
        ],
        range95=[
            f"[{a:,.2f}, {b:,.2f}]" for a, b in zip(table["p2.5"], table["p97.5"], strict=True)
        ],
        n=table["n"].astype(int),
    )
    with pd.option_context("display.width", 200):
        return table[["mean", "ci95", "range95", "n"]].to_string()


def provenance(config: ScenarioConfig, key: str, code: str, started: str) -> dict:
    """What the manifest records about a run, so that anyone can tell how it was made."""
    hydra_cfg = HydraConfig.get()
    task = list(hydra_cfg.overrides.task)
    own = [o for o in hydra_cfg.overrides.hydra if not o.startswith("hydra.mode=")]
    sweep = ["-m"] if hydra_cfg.mode == RunMode.MULTIRUN else []
    return {
        "config_key": key,
        "code_hash": code,
        "root_seed": config.seed,
        "replications": config.replications,
        "design": config.network.label,
        "programme_months": config.schedule.programme_months,
        "overrides": task,
        "inputs": file_digests(input_paths(config)),
        "command": shlex.join(["tpn-sim", *sweep, *own, *task]),  # this job, whatever launcher
        "started": started,
        "finished": datetime.now(UTC).isoformat(),
        "python": sys.version.split()[0],
        "packages": {name: package_version(name) for name in PACKAGES},
        **git_state(),
    }


def input_paths(config: DictConfig | ScenarioConfig) -> list[str]:
    """The files a scenario reads: institutions, pairs, calendar, and the posterior it samples."""
    files = [config.population.path, config.network.path, config.schedule.path]
    if config.calibration.sample == Sample.posterior:
        files.append(config.calibration.posterior or str(SHIPPED))
    return [p for p in files if p]


def run_key(cfg: DictConfig) -> tuple[str, str, str]:
    """A job's resolved config as YAML, the code fingerprint (the model's, and a study's
    sampling for a study job), and the store key of both and of the content of the files the
    config names."""
    config_yaml = OmegaConf.to_yaml(cfg, resolve=True, sort_keys=True)
    code = code_hash(sensitivity.SOURCES if is_study(cfg) else MODEL_SOURCES)
    return config_yaml, code, config_key(config_yaml, code, file_digests(input_paths(cfg)))


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def run_job(cfg: DictConfig) -> None:
    """One job: run the configured scenario unless its complete results already exist."""
    overrides = list(HydraConfig.get().overrides.task)
    config, notes = scenario(cfg, overrides, HydraConfig.get().job.config_name)
    for note in notes:  # a calibrated value from an option file: the user's value wins
        log.warning("%s", note)
    folder = Path(HydraConfig.get().runtime.output_dir)
    config_yaml, code, key = run_key(cfg)
    with claimed(folder):  # another process on this folder finishes first; then it is complete
        if is_complete(folder, key):
            log.info(
                "complete results for this configuration (key %s) exist in %s: skipped",
                key,
                folder,
            )
        else:
            warn_damaged(folder, key)
            log.info(
                "running design %r, %d replications, root seed %d, overrides %s",
                config.network.label,
                config.replications,
                config.seed,
                overrides,
            )
            started = datetime.now(UTC).isoformat()
            if is_study(cfg):
                results = sensitivity.run_chunk(config)
            else:
                results = run_scenario(config, progress=True)
            save(results, folder, config_yaml, provenance(config, key, code, started))
            log.info("results written to %s", folder)
    where = os.path.relpath(folder)
    print(f"{where}: design {config.network.label!r}, {config.replications} replications")
    summary = read_table(folder, "summary")
    if is_study(cfg):
        study = config.sensitivity
        print(f"{study.method} study, chunk {study.chunk}: {summary['point'].nunique()} points")
    else:
        print(format_summary(summary))


def is_study(cfg: DictConfig) -> bool:
    """Whether a job runs a chunk of a sensitivity study rather than one scenario."""
    return cfg.sensitivity.method != sensitivity.Method.none


def warn_damaged(folder: Path, key: str) -> None:
    """Say which files of this configuration's finished run no longer match its manifest."""
    manifest = read_manifest(folder)
    if well_formed(manifest) and manifest.get("config_key") == key:
        log.warning(
            "%s in %s no longer match the run's manifest (damaged or edited): recomputing",
            ", ".join(damaged(folder, manifest)),
            folder,
        )


# --- validation before Hydra runs -------------------------------------------------------------


def job_overrides(
    parser: OverridesParser, overrides: list[str], multirun: bool, sweep_params: dict
) -> list[list[str]]:
    """The override list of every job Hydra would launch (one list for a single run)."""
    parsed = parser.parse_overrides(overrides)
    own = [o.input_line for o in parsed if o.get_key_element().lstrip("+~").startswith("hydra")]
    task = [o.input_line for o in parsed if o.input_line not in own]
    if not multirun:
        swept = [o.input_line for o in parsed if o.is_sweep_override()]
        if swept:
            raise ConfigError(f"{swept[0]} is a sweep: allowed only with -m/--multirun")
        return [overrides]
    params = [f"{k}={v}" for k, v in sweep_params.items()] + task
    jobs = BasicSweeper.split_arguments(parser.parse_overrides(params), None)[0]
    return [own + job for job in jobs]


def preflight(argv: list[str]) -> str | None:
    """Validate every job of the command line, and that each job's folder can be written; the
    first problem as one line, or None."""
    args = get_args_parser().parse_args(argv)
    try:
        check_overrides(args.overrides, args.config_dir)  # even before --help, which Hydra runs
        if args.config_dir is not None:
            user_config_dir(args.config_dir)
        if args.config_path is not None:
            raise ConfigError(
                f"--config-path={shown(args.config_path)} is invalid: allowed -cd/--config-dir "
                "<folder>, which adds your options to configs/ (the model's options and checks)"
            )
        if args.multirun and args.cfg:
            raise ConfigError("-m/--multirun with --cfg is invalid: allowed one of the two")
        if args.help or args.hydra_help or args.info or args.shell_completion:
            return None
        with hydra_configs(args.config_dir):
            check_jobs(args.overrides, args.config_name or "config", args.multirun)
    except ConfigError as error:
        return str(error)
    return None


def check_jobs(overrides: list[str], config_name: str, multirun: bool) -> None:
    """Compose and validate every job Hydra would launch, and check that its folder can be
    written. Needs Hydra set up (`hydra_configs`)."""
    hydra_app = GlobalHydra.instance()
    parser = OverridesParser.create(config_loader=hydra_app.config_loader())
    with one_line_errors(overrides, config_name):
        parsed = parser.parse_overrides(overrides)
        plain = [o.input_line for o in parsed if not o.is_sweep_override()]
        base = compose(config_name, plain, return_hydra_config=True)
        multirun = multirun or base.hydra.mode == RunMode.MULTIRUN
        with open_dict(base):
            sweep_params = dict(base.hydra.sweeper.get("params") or {})
        jobs = job_overrides(parser, overrides, multirun, sweep_params)
        if multirun:  # the sweep's folder, named as Hydra names it from the whole command line
            sweep = hydra_app.hydra.compose_config(config_name, overrides, RunMode.MULTIRUN)
            sweep_dir = str(sweep.hydra.sweep.dir)
    for job in jobs:
        _, folders = composed(job, config_name)
        if multirun:
            check_folder(f"hydra.sweep.dir={sweep_dir}", Path(sweep_dir, folders["sweep"]))
        else:
            check_folder(f"hydra.run.dir={folders['run']}", Path(folders["run"]))


NAME_MAX = 255  # bytes in one folder name (Linux, macOS, Windows)


def check_folder(setting: str, folder: Path) -> None:
    """Refuse a job's folder that cannot be made or written (a name too long, a results folder
    that is read-only) before anything is written: Hydra would fail with a traceback, after
    making part of it."""
    long = [part for part in folder.parts if len(os.fsencode(part)) > NAME_MAX]
    if long:
        raise ConfigError(
            f"{shown(setting)} is invalid: a folder name of {len(long[0]):,} characters; allowed "
            f"names of at most {NAME_MAX} bytes"
        )
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(
            f"{shown(setting)} is invalid: {existing} cannot be written; allowed a folder you "
            f"can write to ({setting.partition('=')[0]}=<folder>)"
        )


def main() -> int:
    problem = preflight(sys.argv[1:])
    if problem:
        print(f"tpn-sim: error: {problem}", file=sys.stderr)
        return 2
    logging.getLogger("sim").setLevel(logging.INFO)
    run_job()
    return 0
