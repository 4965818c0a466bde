"""The results store (sim/results/store.py), in process: save, is_complete, runs, load, config_key.

Run folders are written the way `tpn-sim` writes them: `save()` with the resolved config's YAML
and a manifest whose `overrides` are the job's command-line overrides.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

import sim
from sim import ScenarioConfig
from sim.results.store import (
    MANIFEST,
    PARTIAL_PREFIX,
    SUPERSEDED,
    TABLES,
    DamagedRun,
    code_hash,
    config_key,
    is_complete,
    load,
    read_manifest,
    read_table,
    runs,
    save,
)

TABLE_FILES = set(TABLES.values())


def config_yaml(config: ScenarioConfig) -> str:
    return OmegaConf.to_yaml(OmegaConf.structured(config), resolve=True, sort_keys=True)


def manifest_for(config: ScenarioConfig, overrides: list[str]) -> dict:
    """The manifest fields sim/interfaces/cli.py records (without `files`, which save() adds)."""
    code = code_hash()
    return {
        "config_key": config_key(config_yaml(config), code),
        "code_hash": code,
        "root_seed": config.seed,
        "replications": config.replications,
        "design": config.network.design,
        "programme_months": config.schedule.programme_months,
        "overrides": overrides,
        "command": " ".join(["tpn-sim", *overrides]),
        "started": "2021-08-01T00:00:00+00:00",
        "finished": "2021-08-01T00:00:01+00:00",
    }


def scenario(design: str = "tpn", rate: float = 0.05, replications: int = 2) -> ScenarioConfig:
    base = ScenarioConfig(replications=replications)
    return replace(
        base,
        network=replace(base.network, design=design),
        learning=replace(base.learning, peer_contact_rate=rate),
    )


@pytest.fixture(scope="module")
def computed(quiet_log) -> dict[str, tuple[ScenarioConfig, sim.Results]]:
    """Tiny results (2 replications) of three scenarios, computed once."""
    configs = {
        "tpn": scenario("tpn", 0.05),
        "none": scenario("none", 0.1),
        "three": scenario("tpn", 0.05, replications=3),
    }
    with quiet_log():
        return {name: (c, sim.run_scenario(c)) for name, c in configs.items()}


@pytest.fixture
def store(computed):
    """`store(folder, name, overrides)`: save the computed scenario `name` into `folder`."""

    def write(folder: Path, name: str = "tpn", overrides: list[str] | None = None) -> dict:
        config, results = computed[name]
        manifest = manifest_for(config, overrides or [])
        save(results, folder, config_yaml(config), manifest)
        return manifest

    return write


@pytest.fixture
def sweep(tmp_path, store) -> Path:
    """A sweep folder of two jobs, laid out and named as `tpn-sim -m` lays them out."""
    root = tmp_path / "sweep"
    jobs = {
        "learning.peer_contact_rate=0.05,network=tpn": "tpn",
        "learning.peer_contact_rate=0.1,network=none": "none",
    }
    for job, name in jobs.items():
        store(root / job, name, job.split(","))
    (root / "multirun.yaml").write_text("hydra: {}\n")
    return root


# --- save --------------------------------------------------------------------------------------


def test_save_writes_every_file_and_lists_their_sizes(tmp_path, store, computed) -> None:
    folder = tmp_path / "run"
    given = store(folder)
    names = {p.name for p in folder.iterdir()}
    assert names == TABLE_FILES | {"config.yaml", MANIFEST}
    manifest = read_manifest(folder)
    assert manifest == given | {"files": manifest["files"]}  # what we gave, plus `files`
    assert set(manifest["files"]) == TABLE_FILES | {"config.yaml"}
    for name, recorded in manifest["files"].items():
        assert (folder / name).stat().st_size == recorded["bytes"] > 0, name
        assert recorded["sha256"] == hashlib.sha256((folder / name).read_bytes()).hexdigest()
    config, results = computed["tpn"]
    assert (folder / "config.yaml").read_text() == config_yaml(config)
    for table in TABLES:
        pd.testing.assert_frame_equal(read_table(folder, table), getattr(results, table))


def test_save_leaves_no_partial_folder(tmp_path, store) -> None:
    folder = tmp_path / "run"
    store(folder)
    assert not list(folder.glob(PARTIAL_PREFIX + "*"))


def test_save_replaces_an_existing_run_and_its_leftovers(tmp_path, store) -> None:
    folder = tmp_path / "run"
    old = store(folder, "tpn")
    leftover = folder / f"{PARTIAL_PREFIX}killed"
    leftover.mkdir()
    (leftover / "panel.parquet").write_bytes(b"half a file")
    new = store(folder, "three", ["replications=3"])
    assert new["config_key"] != old["config_key"]
    assert is_complete(folder, new["config_key"])
    assert not is_complete(folder, old["config_key"])
    assert len(read_table(folder, "summary")) == 3
    assert read_manifest(folder)["overrides"] == ["replications=3"]
    assert not list(folder.glob(PARTIAL_PREFIX + "*"))
    # nothing computed is lost: the replaced run is kept whole, out of sight of runs and load
    kept = tmp_path / SUPERSEDED / f"run@{old['config_key']}"
    assert is_complete(kept, old["config_key"])
    assert len(read_table(kept, "summary")) == 2
    assert [r.folder for r in runs(tmp_path)] == [folder]


# --- is_complete -------------------------------------------------------------------------------


@pytest.fixture
def run_folder(tmp_path, store) -> tuple[Path, str]:
    folder = tmp_path / "run"
    return folder, store(folder)["config_key"]


def test_complete_run_is_complete(run_folder) -> None:
    folder, key = run_folder
    assert is_complete(folder)
    assert is_complete(folder, key)


def test_wrong_key_is_not_complete(run_folder) -> None:
    folder, key = run_folder
    assert not is_complete(folder, "0" * 16)
    assert not is_complete(folder, key[::-1])


def test_missing_manifest_is_not_complete(run_folder) -> None:
    folder, key = run_folder
    (folder / MANIFEST).unlink()
    assert not is_complete(folder)
    assert not is_complete(folder, key)
    assert not is_complete(folder.parent / "nowhere")


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda text: text[: len(text) // 2], id="truncated"),
        pytest.param(lambda text: "", id="empty"),
        pytest.param(lambda text: text.replace("{", "<", 1), id="garbled"),
    ],
)
def test_corrupt_manifest_is_not_complete(run_folder, damage) -> None:
    folder, key = run_folder
    manifest = folder / MANIFEST
    manifest.write_text(damage(manifest.read_text()))
    assert not is_complete(folder)
    assert not is_complete(folder, key)


@pytest.mark.parametrize("name", sorted(TABLE_FILES | {"config.yaml"}))
def test_missing_file_is_not_complete(run_folder, name: str) -> None:
    folder, key = run_folder
    (folder / name).unlink()
    assert not is_complete(folder, key)
    assert not is_complete(folder)


@pytest.mark.parametrize("name", sorted(TABLE_FILES))
def test_truncated_or_grown_file_is_not_complete(run_folder, name: str) -> None:
    folder, key = run_folder
    data = (folder / name).read_bytes()
    (folder / name).write_bytes(data[:-10])
    assert not is_complete(folder, key)
    (folder / name).write_bytes(data + b"\n")
    assert not is_complete(folder, key)
    (folder / name).write_bytes(data)
    assert is_complete(folder, key)


def zero_inside(path: Path, length: int = 8192) -> None:
    """Overwrite `length` bytes in the middle of a file with zeros: same size, other content."""
    data = bytearray(path.read_bytes())
    start = max(len(data) // 2 - length // 2, 0)
    data[start : start + length] = bytes(min(length, len(data) - start))
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", sorted(TABLE_FILES | {"config.yaml"}))
def test_same_size_damage_is_not_complete(run_folder, name: str) -> None:
    """Sizes alone would pass this file: its sha256 does not."""
    folder, key = run_folder
    size = (folder / name).stat().st_size
    zero_inside(folder / name)
    assert (folder / name).stat().st_size == size
    assert not is_complete(folder, key)


@pytest.mark.parametrize("table", sorted(TABLES))
def test_a_table_unreadable_though_its_manifest_lists_it_is_named(run_folder, table: str) -> None:
    """A manifest can be crafted to list a damaged table: reading it is one line naming it."""
    folder, _ = run_folder
    file = folder / TABLES[table]
    file.write_bytes(b"PAR1\x00\xff not a table")
    manifest = read_manifest(folder)
    manifest["files"][file.name] = {
        "bytes": file.stat().st_size,
        "sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
    }
    (folder / MANIFEST).write_text(json.dumps(manifest))
    assert is_complete(folder)
    with pytest.raises(DamagedRun) as error:
        read_table(folder, table)
    assert str(error.value) == (
        f"{file} is invalid: not a readable {file.suffix[1:]} table; allowed the file tpn-sim "
        "wrote (move the run folder aside and run its job again)"
    )


def test_load_names_a_damaged_run_instead_of_dropping_it(sweep, caplog) -> None:
    job = sweep / "learning.peer_contact_rate=0.1,network=none"
    zero_inside(job / "panel.parquet")
    with caplog.at_level("WARNING", logger="sim.results.store"):
        summary = load(sweep)
    assert set(summary["job"]) == {"learning.peer_contact_rate=0.05,network=tpn"}
    [warning] = caplog.messages
    assert warning.startswith(f"{job}: panel.parquet no longer match the run's manifest")
    with pytest.raises(DamagedRun, match=r"network=none: panel\.parquet no longer match"):
        load(sweep, damaged_runs="raise")


def test_a_manifest_cannot_move_files_outside_its_folder(tmp_path, store) -> None:
    """A crafted manifest naming ../victim.txt is not a complete run: saving over it moves
    nothing out of the store."""
    folder = tmp_path / "store" / "run"
    store(folder)
    victim = tmp_path / "victim.txt"
    victim.write_text("not the store's")
    manifest = read_manifest(folder)
    manifest["files"]["../../victim.txt"] = {"bytes": victim.stat().st_size, "sha256": "0"}
    (folder / MANIFEST).write_text(json.dumps(manifest))
    assert not is_complete(folder)
    store(folder)
    assert victim.read_text() == "not the store's"
    assert is_complete(folder)


@pytest.mark.parametrize("text", ["{}", "[]"], ids=["no-files", "not-an-object"])
def test_manifest_without_file_list_is_not_complete(tmp_path, text: str) -> None:
    (tmp_path / MANIFEST).write_text(text)
    assert not is_complete(tmp_path)


# --- runs --------------------------------------------------------------------------------------


def test_runs_lists_complete_runs_only(sweep, store) -> None:
    killed = sweep / "network=hub"  # a job killed before it saved: Hydra's files, no manifest
    (killed / ".hydra").mkdir(parents=True)
    (killed / "tpn-sim.log").write_text("running design 'hub'\n")
    broken = sweep / "network=random"  # a job whose table was damaged after saving
    store(broken, "tpn", ["network=random"])
    (broken / "ties.parquet").write_bytes(b"")
    partial = sweep / "network=pairwise" / f"{PARTIAL_PREFIX}x"  # a manifest inside a partial
    partial.mkdir(parents=True)
    (partial / MANIFEST).write_text(json.dumps({"files": {}}))
    found = [r.folder.name for r in runs(sweep)]
    assert found == [
        "learning.peer_contact_rate=0.05,network=tpn",
        "learning.peer_contact_rate=0.1,network=none",
    ]


def test_runs_of_a_single_run_folder(run_folder) -> None:
    folder, key = run_folder
    (stored,) = runs(folder)
    assert stored.folder == folder and stored.manifest["config_key"] == key


def test_runs_below_a_folder_named_like_a_partial(tmp_path, store) -> None:
    root = tmp_path / f"{PARTIAL_PREFIX}archive"
    store(root / "network=tpn", "tpn", ["network=tpn"])
    assert len(list(runs(root))) == 1


# --- load --------------------------------------------------------------------------------------


def test_load_sweep_summary(sweep, computed) -> None:
    frame = load(sweep)
    assert len(frame) == 2 + 2  # one row per replication per job
    assert {"network", "learning.peer_contact_rate", "job", "run", "seed"} <= set(frame)
    assert pd.api.types.is_float_dtype(frame["learning.peer_contact_rate"])
    by_job = frame.groupby("job")
    assert by_job.size().to_dict() == {
        "learning.peer_contact_rate=0.05,network=tpn": 2,
        "learning.peer_contact_rate=0.1,network=none": 2,
    }
    tpn = frame[frame["job"] == "learning.peer_contact_rate=0.05,network=tpn"]
    none = frame[frame["job"] == "learning.peer_contact_rate=0.1,network=none"]
    assert set(tpn["network"]) == {"tpn"} and set(tpn["learning.peer_contact_rate"]) == {0.05}
    assert set(none["network"]) == {"none"} and set(none["learning.peer_contact_rate"]) == {0.1}
    assert (tpn["design"] == "tpn").all() and (none["design"] == "none").all()
    expected = computed["tpn"][1].summary
    pd.testing.assert_frame_equal(
        tpn[list(expected)].reset_index(drop=True), expected, check_dtype=False
    )


def test_load_single_run_has_job_dot(run_folder) -> None:
    folder, _ = run_folder
    frame = load(folder)
    assert len(frame) == 2 and set(frame["job"]) == {"."}


def test_load_panel_is_one_row_per_observation(sweep, computed) -> None:
    panel = load(sweep, "panel")
    keys = ["job", "run", "month", "institution", "topic"]
    assert not panel.duplicated(keys).any()
    expected = sum(len(computed[name][1].panel) for name in ("tpn", "none"))
    assert len(panel) == expected
    one = panel[panel["job"] == "learning.peer_contact_rate=0.05,network=tpn"]
    cells = one.groupby(["run", "month"]).size()
    assert cells.nunique() == 1  # every (run, month) holds every (institution, topic) that applies
    assert set(one["run"]) == {0, 1}
    assert set(panel["network"]) == {"tpn", "none"}


def test_load_columns(sweep) -> None:
    frame = load(sweep, "panel", columns=["run", "kpi"])
    assert list(frame) == ["run", "kpi", "learning.peer_contact_rate", "network", "job"]


@pytest.mark.parametrize("table", ["events", "ties"])
def test_load_other_tables(sweep, table: str) -> None:
    frame = load(sweep, table)
    assert frame["run"].notna().all()
    # the no-programme job holds no events and no ties; the tpn job's rows are all there
    assert set(frame["job"]) == {"learning.peer_contact_rate=0.05,network=tpn"}
    assert len(frame) == len(
        read_table(sweep / "learning.peer_contact_rate=0.05,network=tpn", table)
    )
    assert set(frame["network"]) == {"tpn"}


def test_load_without_complete_runs_raises(tmp_path, store) -> None:
    with pytest.raises(FileNotFoundError):
        load(tmp_path)  # empty
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing")
    folder = tmp_path / "killed"
    store(folder)
    (folder / MANIFEST).unlink()
    with pytest.raises(FileNotFoundError, match="no complete run"):
        load(tmp_path)


def test_load_unknown_table_raises(sweep) -> None:
    with pytest.raises(ValueError, match=r"table='kpis'.*allowed.*summary"):
        load(sweep, "kpis")


def test_load_parses_exponent_floats(tmp_path, store) -> None:
    store(tmp_path / "a", "tpn", ["learning.peer_contact_rate=1e-2"])
    store(tmp_path / "b", "none", ["learning.peer_contact_rate=0.1"])
    frame = load(tmp_path)
    assert pd.api.types.is_float_dtype(frame["learning.peer_contact_rate"])
    assert set(frame["learning.peer_contact_rate"]) == {0.01, 0.1}


# --- config_key --------------------------------------------------------------------------------


def test_config_key_is_stable_and_short() -> None:
    key = config_key("replications: 2\n", "abc")
    assert key == config_key("replications: 2\n", "abc")
    assert re.fullmatch(r"[0-9a-f]{16}", key)


def test_config_key_changes_with_config_text_or_code() -> None:
    key = config_key("replications: 2\n", "abc")
    assert config_key("replications: 3\n", "abc") != key
    assert config_key("replications: 2\n", "abd") != key
    yaml_a = config_yaml(scenario("tpn"))
    assert config_key(yaml_a, "v") != config_key(config_yaml(scenario("hub")), "v")


def test_code_hash_is_stable() -> None:
    assert code_hash() == code_hash()
    assert re.fullmatch(r"[0-9a-f]{16}", code_hash())


def test_every_module_is_either_model_code_or_presentation() -> None:
    """A new layer or top-level module must be placed on purpose: in the run key's fingerprint if
    it can change results, or among the presentation and analysis layers that cannot."""
    from sim.results.store import MODEL_SOURCES

    root = Path(__file__).resolve().parent.parent / "sim"
    entries = {p.name for p in root.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    presentation = {"__init__.py", "__main__.py", "analysis", "results", "interfaces"}
    assert set(MODEL_SOURCES) <= entries
    assert entries - set(MODEL_SOURCES) == presentation


def test_the_code_hash_covers_every_module_of_a_package(tmp_path, monkeypatch) -> None:
    """An edited design module (two packages deep) changes the fingerprint, as an edited model
    module does; an edited figure does not."""
    import sim.results.store

    copy = tmp_path / "sim"
    shutil.copytree(Path(sim.__file__).parent, copy)
    monkeypatch.setattr(sim.results.store, "__file__", str(copy / "results" / "store.py"))
    before = code_hash()
    with (copy / "analysis" / "plots.py").open("a") as module:
        module.write("# edited\n")
    assert code_hash() == before
    with (copy / "core" / "designs" / "hub.py").open("a") as module:
        module.write("# edited\n")
    assert code_hash() != before
