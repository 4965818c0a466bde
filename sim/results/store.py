"""The results store: one folder per run, written atomically, found again by a hash of its config.

A run folder holds `panel.parquet`, `events.parquet`, `ties.parquet`, `summary.csv`,
`config.yaml` and, written last, `manifest.json`. A folder counts as complete only when its
manifest exists and every file it lists has the recorded size, so a run killed half-way is never
mistaken for a finished one, and a re-run recomputes exactly the runs that are not complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from hydra.core.override_parser.overrides_parser import OverridesParser

from sim.results.tables import Results

MANIFEST = "manifest.json"
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


def code_hash() -> str:
    """Fingerprint of the model's source, so changed model code never reuses old results."""
    digest = hashlib.sha256()
    for source in sources():
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def sweep_dirname(task: Iterable[str], limit: int = SWEEP_NAME_LIMIT) -> str:
    """Folder name of an ad-hoc sweep from its own command-line overrides, sweep syntax included
    ('network=tpn,none+replications=2'), so the same sweep, re-run, resumes in its folder and
    unrelated sweeps never share one. The order on the command line does not matter. Characters
    unsafe in a path are replaced, and then, or when the name is too long, a hash of the
    overrides is appended, so that two sweeps still never map to one name."""
    raw = "+".join(sorted(task)) or "default"
    safe = re.sub(r"[^A-Za-z0-9_.,=+-]", "_", raw)
    if safe == raw and len(safe) <= limit:
        return safe
    return f"{safe[: limit - 9]}-{hashlib.sha256(raw.encode()).hexdigest()[:8]}"


def config_key(config_yaml: str, code: str, inputs: dict[str, str] | None = None) -> str:
    """Stable identity of a run: the resolved configuration, the content of the users' files it
    names (`inputs`: path -> sha256), and the code that ran it."""
    files = json.dumps(inputs or {}, sort_keys=True)
    return hashlib.sha256(f"{code}\n{config_yaml}\n{files}".encode()).hexdigest()[:16]


def file_digests(paths: list[str]) -> dict[str, str]:
    """sha256 of each existing file: an edited input file must not reuse old results."""
    return {p: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths if Path(p).is_file()}


def read_manifest(folder: Path) -> dict | None:
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def is_complete(folder: Path, key: str | None = None) -> bool:
    """Whether the folder holds a finished run (of configuration `key`, if given): a manifest
    listing every table and the config, each present with its recorded size."""
    manifest = read_manifest(folder)
    if not isinstance(manifest, dict) or (key is not None and manifest.get("config_key") != key):
        return False
    files = manifest.get("files")
    if not isinstance(files, dict) or not {*TABLES.values(), "config.yaml"} <= files.keys():
        return False
    return all(
        (folder / name).is_file() and (folder / name).stat().st_size == size
        for name, size in files.items()
    )


def save(results: Results, folder: Path, config_yaml: str, manifest: dict) -> Path:
    """Write a run's tables, config and manifest; each file appears whole or not at all.

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
    files = {p.name: p.stat().st_size for p in sorted(partial.iterdir())}
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
    where `runs` and `load` of the parent no longer see it but nothing is lost."""
    manifest = read_manifest(folder)
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


def runs(path: Path | str) -> Iterator[StoredRun]:
    """Every complete run at or below `path` (one run folder or a whole sweep), in path order."""
    path = Path(path)
    folders = (
        [path] if (path / MANIFEST).exists() else sorted(p.parent for p in path.rglob(MANIFEST))
    )
    for folder in folders:
        below = folder.relative_to(path).parts
        hidden = any(part.startswith((PARTIAL_PREFIX, SUPERSEDED)) for part in below)
        if not hidden and is_complete(folder):
            yield StoredRun(folder, read_manifest(folder))


def load(
    path: Path | str, table: str = "summary", columns: list[str] | None = None
) -> pd.DataFrame:
    """One tidy table from a run or a whole sweep, with each run's overrides as columns.

    `table` is one of 'summary' (one row per replication), 'panel', 'events' or 'ties'.
    """
    if table not in TABLES:
        raise ValueError(f"table={table!r} is invalid: allowed one of {sorted(TABLES)}")
    frames = []
    for run in runs(path):
        frame = read_table(run.folder, table, columns)
        for key, value in run.parameters.items():
            frame[key] = value
        frame["job"] = str(run.folder.relative_to(path) if run.folder != Path(path) else ".")
        frames.append(frame)
    if not frames:
        raise FileNotFoundError(f"no complete run (folder with {MANIFEST}) at or below {path}")
    return pd.concat(frames, ignore_index=True)


def read_table(folder: Path, table: str, columns: list[str] | None = None) -> pd.DataFrame:
    file = folder / TABLES[table]
    if file.suffix == ".csv":
        return pd.read_csv(file, usecols=columns)
    return pd.read_parquet(file, columns=columns)
