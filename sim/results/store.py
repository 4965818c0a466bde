"""The results store: one folder per run, written atomically, found again by a hash of its config.

A run folder holds `panel.parquet`, `events.parquet`, `ties.parquet`, `summary.csv`,
`config.yaml` and, written last, `manifest.json` with every file's size and sha256. A folder
counts as complete only when its manifest exists and every file it lists has the recorded size
and content, so neither a run killed half-way nor a file damaged since is mistaken for a finished
run: a re-run recomputes exactly the runs that are not complete, and `load` warns of a damaged
one by name. One process at a time writes a folder (`claimed`): a second waits, then finds the
run complete.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from filelock import FileLock
from hydra.core.override_parser.overrides_parser import OverridesParser

from sim.results.tables import Results

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
LOCK = ".lock"  # held by the process writing the folder
TABLES = {
    "panel": "panel.parquet",
    "events": "events.parquet",
    "ties": "ties.parquet",
    "summary": "summary.csv",
}
PARTIAL_PREFIX = ".partial-"
SUPERSEDED = ".superseded"  # earlier complete runs of a folder, kept when a new run replaces them
SWEEP_RECORD = "multirun.yaml"  # Hydra's record of a sweep, at the root of its folder
SWEEP_NAME_LIMIT = 120  # characters; file systems allow 255 bytes per folder name


# What decides a run's tables, as paths under sim/: the configuration and every module of the
# data and core layers (sim/__init__.py). Analysis, results and interfaces are left out, so
# editing a figure does not make every stored run stale.
MODEL_SOURCES = ["config.py", "data", "core"]


def sources(paths: Iterable[str] = MODEL_SOURCES) -> list[Path]:
    """The source files at `paths` under sim/: a module's file, every module of a package."""
    root = Path(__file__).resolve().parent.parent
    return [
        source
        for name in paths
        for source in (
            sorted((root / name).rglob("*.py")) if (root / name).is_dir() else [root / name]
        )
    ]


def code_hash(paths: Iterable[str] = MODEL_SOURCES) -> str:
    """Fingerprint of the model's source (and of any other `paths` that decide a job's tables),
    so changed code never reuses old results."""
    fingerprint = hashlib.sha256()
    for source in sources(paths):
        fingerprint.update(source.read_bytes())
    return fingerprint.hexdigest()[:16]


def sweep_dirname(task: Iterable[str], limit: int = SWEEP_NAME_LIMIT) -> str:
    """Folder name of an ad-hoc sweep from its own command-line overrides, sweep syntax included
    ('network=tpn,none+replications=2'), so the same sweep, re-run, resumes in its folder and
    unrelated sweeps never share one. The order on the command line does not matter. Characters
    unsafe in a path are replaced, and then, or when the name is too long, a hash of the
    overrides is appended, so that two sweeps still never map to one name."""
    raw = "+".join(sorted(task)) or "default"
    return capped(re.sub(r"[^A-Za-z0-9_.,=+-]", "_", raw), raw, limit)


def capped(name: str, raw: str, limit: int = SWEEP_NAME_LIMIT) -> str:
    """`name` (made from `raw`) as a folder name: itself if unchanged and short enough, else
    its start and a hash of `raw`, so that two names never meet and none exceeds `limit`."""
    if name == raw and len(name) <= limit:
        return name
    return f"{name[: limit - 9]}-{hashlib.sha256(raw.encode()).hexdigest()[:8]}"


def config_key(config_yaml: str, code: str, inputs: dict[str, str] | None = None) -> str:
    """Stable identity of a run: the resolved configuration, the content of the users' files it
    names (`inputs`: path -> sha256), and the code that ran it."""
    files = json.dumps(inputs or {}, sort_keys=True)
    return hashlib.sha256(f"{code}\n{config_yaml}\n{files}".encode()).hexdigest()[:16]


def file_digests(paths: list[str]) -> dict[str, str]:
    """sha256 of each existing file: an edited input file must not reuse old results."""
    return {p: digest(Path(p)) for p in paths if Path(p).is_file()}


def read_manifest(folder: Path) -> dict | None:
    """The folder's manifest, or None where there is none that reads as JSON."""
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):  # missing, unreadable, not text, not JSON
        return None


def digest(path: Path) -> str:
    """The sha256 of a file's content."""
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def damaged(folder: Path, manifest: dict) -> list[str]:
    """The files a manifest lists that are missing, or differ from it in size or content."""
    return [
        name
        for name, recorded in manifest["files"].items()
        if not (folder / name).is_file()
        or (folder / name).stat().st_size != recorded["bytes"]
        or digest(folder / name) != recorded["sha256"]
    ]


def well_formed(manifest: object) -> bool:
    """A manifest naming every table and the config, each with its size and sha256, and no
    file outside its own folder."""
    files = manifest.get("files") if isinstance(manifest, dict) else None
    return (
        isinstance(files, dict)
        and {*TABLES.values(), "config.yaml"} <= files.keys()
        and all(Path(name).name == name and not name.startswith(".") for name in files)
        and all(
            isinstance(entry, dict) and {"bytes", "sha256"} <= entry.keys()
            for entry in files.values()
        )
    )


def is_complete(folder: Path, key: str | None = None) -> bool:
    """Whether the folder holds a finished, undamaged run (of configuration `key`, if given)."""
    manifest = read_manifest(folder)
    if not well_formed(manifest) or (key is not None and manifest.get("config_key") != key):
        return False
    return not damaged(folder, manifest)


def claimed(folder: Path) -> FileLock:
    """The lock a process holds while it checks, computes and saves the run in `folder`: a
    second writer of the same folder waits for it, then finds the run complete."""
    folder.mkdir(parents=True, exist_ok=True)
    return FileLock(folder / LOCK)


def save(results: Results, folder: Path, config_yaml: str, manifest: dict) -> Path:
    """Write a run's tables, config and manifest; each file appears whole or not at all. Call
    it holding `claimed(folder)`, so that no other process writes there meanwhile.

    A complete run of another configuration (or of other model code) already in the folder is
    moved aside first (`supersede`), never overwritten. The new manifest is renamed into place
    last, so until the end the folder reads as incomplete.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if is_complete(folder):
        supersede(folder)
    (folder / MANIFEST).unlink(missing_ok=True)
    discard_partials(folder)
    partial = Path(tempfile.mkdtemp(prefix=PARTIAL_PREFIX, dir=folder))
    for name, file in TABLES.items():
        table = getattr(results, name)
        if file.endswith(".csv"):
            table.to_csv(partial / file, index=False)
        else:
            table.to_parquet(partial / file, index=False)
    (partial / "config.yaml").write_text(config_yaml)
    files = {
        p.name: {"bytes": p.stat().st_size, "sha256": digest(p)} for p in sorted(partial.iterdir())
    }
    for name in files:
        os.replace(partial / name, folder / name)
    (partial / MANIFEST).write_text(json.dumps(manifest | {"files": files}, indent=2) + "\n")
    os.replace(partial / MANIFEST, folder / MANIFEST)
    partial.rmdir()
    return folder


def write_csv(table: pd.DataFrame, out: Path) -> None:
    """One table as CSV, written under a temporary name of this process and renamed: a reader
    never sees a partial file, and two writers never share one."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=out.parent, prefix=f".{out.name}.", suffix=".partial", delete=False
    ) as f:
        table.to_csv(f, index=False)
    os.replace(f.name, out)


def supersede(folder: Path) -> Path:
    """Move a complete run out of its folder, to `<parent>/.superseded/<name>@<config_key>/`,
    where `runs` and `load` of the parent no longer see it but nothing is lost. Only a
    complete run's own files move (its manifest is well formed: no name leaves the folder)."""
    manifest = read_manifest(folder)
    assert well_formed(manifest), f"{folder}: superseding a run that is not complete"
    kept = folder.parent / SUPERSEDED / f"{folder.name}@{manifest['config_key']}"
    kept.mkdir(parents=True, exist_ok=True)
    for name in [*manifest["files"], MANIFEST]:
        os.replace(folder / name, kept / name)
    return kept


def discard_partials(folder: Path) -> None:
    """Remove what a killed run left half-written."""
    for leftover in folder.glob(PARTIAL_PREFIX + "*"):
        shutil.rmtree(leftover, ignore_errors=True)


@dataclass(frozen=True)
class StoredRun:
    folder: Path
    manifest: dict

    @property
    def parameters(self) -> dict[str, object]:
        """The run's command-line overrides as {key: value}, typed as Hydra reads them."""
        return parse_overrides(self.manifest.get("overrides", []))

    def matches(self, selection: dict[str, object]) -> bool:
        """Whether the run was made with every override in `selection`."""
        return made_with(self.parameters, selection)


def made_with(parameters: dict[str, object], selection: dict[str, object]) -> bool:
    """Whether `parameters` (a run's or a job's overrides) include every override in
    `selection`."""
    return all(k in parameters and parameters[k] == v for k, v in selection.items())


def parse_overrides(overrides: list[str]) -> dict[str, object]:
    """`key=value` overrides as {key: value}, typed as Hydra reads them (Hydra's keys left out)."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    return {o.key_or_group: o.value() for o in parsed if not o.key_or_group.startswith("hydra")}


class DamagedRun(RuntimeError):
    """A finished run whose files no longer match its manifest."""


def runs(path: Path | str, damaged_runs: str = "warn") -> Iterator[StoredRun]:
    """Every complete run at or below `path` (one run folder or a whole sweep), in path order.
    A run whose files no longer match its manifest is left out with a warning naming it and
    its files, or, with `damaged_runs="raise"`, stops with DamagedRun."""
    if damaged_runs not in ("warn", "raise"):
        raise ValueError(f"damaged_runs={damaged_runs!r} is invalid: allowed 'warn' or 'raise'")
    path = Path(path)
    folders = (
        [path] if (path / MANIFEST).exists() else sorted(p.parent for p in path.rglob(MANIFEST))
    )
    for folder in folders:
        below = folder.relative_to(path).parts
        if any(part.startswith((PARTIAL_PREFIX, SUPERSEDED)) for part in below):
            continue
        manifest = read_manifest(folder)
        wrong = damaged(folder, manifest) if well_formed(manifest) else [MANIFEST]
        if not wrong:
            yield StoredRun(folder, manifest)
            continue
        message = (
            f"{folder}: {', '.join(wrong)} no longer match the run's manifest (damaged or "
            "edited): left out; running its job again recomputes it"
        )
        if damaged_runs == "raise":
            raise DamagedRun(message)
        log.warning(message)


def load(
    path: Path | str,
    table: str = "summary",
    columns: list[str] | None = None,
    damaged_runs: str = "warn",
) -> pd.DataFrame:
    """One tidy table from a run or a whole sweep, with each run's overrides as columns.

    `table` is one of 'summary' (one row per replication), 'panel', 'events' or 'ties'. A
    damaged run is left out with a warning, or stops the load with `damaged_runs="raise"`.
    """
    if table not in TABLES:
        raise ValueError(f"table={table!r} is invalid: allowed one of {sorted(TABLES)}")
    frames = []
    for run in runs(path, damaged_runs):
        frame = read_table(run.folder, table, columns)
        for key, value in run.parameters.items():
            frame[key] = value
        frame["job"] = str(run.folder.relative_to(path) if run.folder != Path(path) else ".")
        frames.append(frame)
    if not frames:
        raise FileNotFoundError(
            f"{path} is invalid: no complete run (a folder with {MANIFEST}) at or below it; "
            "allowed a run or sweep folder of tpn-sim"
        )
    return pd.concat(frames, ignore_index=True)


def read_table(folder: Path, table: str, columns: list[str] | None = None) -> pd.DataFrame:
    """One table of a run; a file that is not a readable table (though its manifest may list
    it: a manifest can be crafted) stops with DamagedRun naming it."""
    file = folder / TABLES[table]
    try:
        if file.suffix == ".csv":
            return pd.read_csv(file, usecols=columns)
        return pd.read_parquet(file, columns=columns)
    except (OSError, ValueError):  # pyarrow's and pandas' errors for a damaged file
        raise DamagedRun(
            f"{file} is invalid: not a readable {file.suffix[1:]} table; allowed the file "
            "tpn-sim wrote (move the run folder aside and run its job again)"
        ) from None
