"""Sweeps (`tpn-sim -m ...`): a folder per sweep named by its overrides, job folders, serial =
parallel, named experiments, and a sweep killed half-way that resumes without recomputing its
finished jobs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.core.designs.base import DESIGNS
from sim.interfaces.report import missing_jobs
from sim.results.store import PARTIAL_PREFIX, is_complete, load, read_manifest, runs, sweep_dirname

SWEEP = ["-m", "network=tpn,none", "replications=2"]
SWEEP_FOLDER = "network=tpn,none+replications=2"  # results/sweeps/<the sweep's own overrides>
JOBS = ["network=none,replications=2", "network=tpn,replications=2"]
BIN = Path(sys.executable).parent


def job_folders(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def parallel_sweep(tmp_path_factory, tpn_sim) -> tuple[Path, subprocess.CompletedProcess[str]]:
    cwd = tmp_path_factory.mktemp("parallel")
    done = tpn_sim(*SWEEP, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", cwd=cwd)
    assert done.returncode == 0, done.stderr
    return cwd / "results" / "sweeps" / SWEEP_FOLDER, done


@pytest.fixture(scope="module")
def serial_sweep(tmp_path_factory, tpn_sim) -> tuple[Path, subprocess.CompletedProcess[str]]:
    cwd = tmp_path_factory.mktemp("serial")
    done = tpn_sim(*SWEEP, "hydra/launcher=basic", cwd=cwd)
    assert done.returncode == 0, done.stderr
    return cwd / "results" / "sweeps" / SWEEP_FOLDER, done


@pytest.mark.parametrize(
    "which", [pytest.param("parallel_sweep", marks=pytest.mark.slow), "serial_sweep"]
)
def test_sweep_writes_one_complete_folder_per_job(request, which: str, result_files) -> None:
    root, done = request.getfixturevalue(which)
    assert job_folders(root) == JOBS
    for job in JOBS:
        folder = root / job
        for name in result_files:
            assert (folder / name).is_file(), f"{job}/{name}"
        assert is_complete(folder)
        manifest = read_manifest(folder)
        design = job.split(",")[0].removeprefix("network=")
        assert manifest["design"] == design
        assert sorted(manifest["overrides"]) == sorted(job.split(","))
        assert f"results/sweeps/{SWEEP_FOLDER}/{job}: design '{design}', 2 replications" in (
            done.stdout
        )
    assert [p.name for p in root.parent.iterdir()] == [SWEEP_FOLDER]  # whatever the launcher
    assert not (root.parent.parent / "runs").exists()  # a sweep writes no single-run folder


@pytest.mark.slow
def test_parallel_sweep_ran_on_joblib(parallel_sweep) -> None:
    root, done = parallel_sweep
    assert "Joblib.Parallel(n_jobs=2" in done.stdout
    for job in JOBS:
        assert "hydra/launcher=joblib" in read_manifest(root / job)["command"]


@pytest.mark.slow
@pytest.mark.parametrize("table", ["summary", "panel", "events", "ties"])
def test_serial_and_parallel_sweeps_are_identical(parallel_sweep, serial_sweep, table) -> None:
    (parallel, _), (serial, _) = parallel_sweep, serial_sweep
    for job in JOBS:
        assert (
            read_manifest(parallel / job)["config_key"] == read_manifest(serial / job)["config_key"]
        )
    if table == "summary":
        for job in JOBS:
            pd.testing.assert_frame_equal(
                pd.read_csv(parallel / job / "summary.csv"),
                pd.read_csv(serial / job / "summary.csv"),
                check_exact=True,
            )
    pd.testing.assert_frame_equal(load(parallel, table), load(serial, table), check_exact=True)


def test_sweep_folder_name_is_the_sweeps_own_overrides() -> None:
    """Deterministic and independent of the order on the command line; where characters had
    to be replaced or the name cut, a hash of the overrides keeps different sweeps apart."""
    assert sweep_dirname(["network=tpn,none", "replications=2"]) == SWEEP_FOLDER
    assert sweep_dirname(["replications=2", "network=tpn,none"]) == SWEEP_FOLDER
    assert sweep_dirname([]) == "default"
    glob, brackets = sweep_dirname(["network=glob(t*)"]), sweep_dirname(["network=glob[t*]"])
    assert glob.startswith("network=glob_t__-") and brackets.startswith("network=glob_t__-")
    assert glob != brackets and "/" not in sweep_dirname(["x=a/b"])
    long = [f"learning.peer_contact_rate={v}" for v in ("0.1,0.2,0.3", "0.4")] * 20
    assert len(sweep_dirname(long)) == 120
    assert sweep_dirname(long) != sweep_dirname(long[:-1])


@pytest.mark.slow
def test_each_sweep_gets_its_own_folder_and_resumes_there(tmp_path, tpn_sim) -> None:
    """Two unrelated sweeps in one place never mix; the same sweep again (overrides in another
    order) finds its finished jobs and skips them."""
    first = tpn_sim("-m", "network=tpn,none", "replications=1", cwd=tmp_path)
    second = tpn_sim("-m", "network=tpn", "seed=1,2", "replications=1", cwd=tmp_path)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    sweeps = tmp_path / "results" / "sweeps"
    folders = {
        "network=tpn,none+replications=1": [
            "network=none,replications=1",
            "network=tpn,replications=1",
        ],
        "network=tpn+replications=1+seed=1,2": [
            "network=tpn,replications=1,seed=1",
            "network=tpn,replications=1,seed=2",
        ],
    }
    assert job_folders(sweeps) == sorted(folders)
    for folder, jobs in folders.items():
        assert job_folders(sweeps / folder) == jobs
        assert (sweeps / folder / "multirun.yaml").is_file()
    again = tpn_sim("-m", "replications=1", "network=tpn,none", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count(": skipped") == 2
    assert job_folders(sweeps) == sorted(folders)


@pytest.mark.slow
def test_named_experiment_writes_its_own_sweep_folder(tmp_path, tpn_sim) -> None:
    """The designs study: every design, and the experts' variants, at each of three equal
    budgets, each spent in full."""
    done = tpn_sim("+experiment=designs", "replications=1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    root = tmp_path / "results" / "designs"
    budgets = [110000.0, 220000.0, 440000.0]
    variants = ["external_expert_followup", "external_expert_workshops"]
    networks = [d for d in DESIGNS if d != "from_file"]  # no file needed
    networks += [*variants, "external_expert_followup_workshops"]
    expected = sorted(
        f"costs.budget={b},network={d},replications=1" for d in networks for b in budgets
    )
    assert len(expected) == 27
    assert job_folders(root) == expected
    for job in expected:
        assert is_complete(root / job), job
        manifest = read_manifest(root / job)
        assert manifest["design"].replace("+", "_") == job.split(",")[1].removeprefix("network=")
        assert manifest["replications"] == 1
    summary = load(root)
    assert sorted(set(summary["network"])) == sorted({job.split(",")[1][8:] for job in expected})
    programme = summary[summary["network"] != "none"]
    assert (programme["total_cost"] <= programme["costs.budget"]).all()
    # what cannot be spent is less than one visit per visitor (4 experts at 1,500 USD)
    assert (programme["total_cost"] > programme["costs.budget"] - 6000).all()
    assert (summary.loc[summary["network"] == "none", "total_cost"] == 0).all()
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["designs"]
    # the study's record expands to all 27 jobs, so a report can tell when one is missing
    assert missing_jobs(root, {}) == ([], 27)
    (root / expected[0] / "manifest.json").unlink()
    assert missing_jobs(root, {}) == (
        ["+experiment=designs,costs.budget=110000.0,network=external_expert,replications=1"],
        27,
    )


# --- killed half-way, then resumed --------------------------------------------------------------

KILL_DESIGNS = ["tpn", "pairwise", "hub", "random", "none"]
# 200 replications take about 3 s per job on a 2-core machine: the kill lands mid-sweep
KILL_SWEEP = ["-m", f"network={','.join(KILL_DESIGNS)}", "replications=200"]


def wait_for(condition, proc: subprocess.Popen, what: str, limit: float = 120) -> None:
    """Poll until `condition()`; fail if the process ends first (or after `limit` seconds)."""
    deadline = time.monotonic() + limit
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"tpn-sim ended (exit {proc.returncode}) before {what} could be observed")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"no {what} within {limit} s")
        time.sleep(0.002)


def kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def start(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "tpn-sim"), *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def partials(root: Path) -> list[Path]:
    return [p for p in root.rglob(PARTIAL_PREFIX + "*")]


@pytest.mark.slow
def test_killed_sweep_resumes_without_recomputing(tmp_path, tpn_sim) -> None:
    root = tmp_path / "results" / "sweeps" / sweep_dirname(KILL_SWEEP[1:])
    folders = {d: root / f"network={d},replications=200" for d in KILL_DESIGNS}
    proc = start(KILL_SWEEP, tmp_path)
    try:
        wait_for(lambda: (folders["tpn"] / "manifest.json").exists(), proc, "the first job ended")
    finally:
        kill(proc)
    assert proc.returncode == -signal.SIGKILL

    finished = {d for d, f in folders.items() if (f / "manifest.json").exists()}
    assert "tpn" in finished
    assert finished != set(KILL_DESIGNS), "the sweep ended before the kill: nothing to resume"
    for design in finished:
        assert is_complete(folders[design]), f"{design} has a manifest but is not complete"
    assert {r.folder for r in runs(root)} == {folders[d] for d in finished}
    started = {d: read_manifest(folders[d])["started"] for d in finished}

    done = tpn_sim(*KILL_SWEEP, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for design, folder in folders.items():
        assert is_complete(folder), design
        log = (folder / "tpn-sim.log").read_text()
        if design in finished:
            assert read_manifest(folder)["started"] == started[design]
            assert f"{folder.name}: skipped" in done.stdout
            assert "skipped" in log
        else:
            assert f"running design '{design}', 200 replications" in done.stdout
    assert {r.folder for r in runs(root)} == set(folders.values())
    assert len(load(root)) == 200 * len(KILL_DESIGNS)
    assert partials(tmp_path) == []


@pytest.mark.slow
def test_run_killed_while_saving_is_not_complete_and_is_redone(tmp_path, tpn_sim) -> None:
    """Killed while its files are being written: never taken for a finished run."""
    args = ["replications=200"]
    folder = tmp_path / "results" / "runs" / "replications=200"
    proc = start(args, tmp_path)
    try:
        wait_for(lambda: folder.is_dir() and bool(partials(folder)), proc, "save() began")
    finally:
        kill(proc)
    if (folder / "manifest.json").exists():  # the kill came after the final rename
        assert is_complete(folder)
    else:
        assert not is_complete(folder)
        assert list(runs(tmp_path / "results")) == []
        with pytest.raises(FileNotFoundError):
            load(tmp_path / "results")

    done = tpn_sim(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert is_complete(folder)
    assert len(load(folder)) == 200
    assert partials(tmp_path) == []
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest["files"]) == {
        "panel.parquet",
        "events.parquet",
        "ties.parquet",
        "summary.csv",
        "config.yaml",
    }


@pytest.mark.slow
def test_a_damaged_run_is_named_and_recomputed_bit_for_bit(tmp_path, tpn_sim) -> None:
    """Same-size damage inside a table: the next run says which file, and recomputes it."""
    args = ["replications=3"]
    folder = tmp_path / "results" / "runs" / "replications=3"
    assert tpn_sim(*args, cwd=tmp_path).returncode == 0
    panel = (folder / "panel.parquet").read_bytes()
    damaged = bytearray(panel)
    damaged[len(panel) // 2 : len(panel) // 2 + 4096] = bytes(4096)
    (folder / "panel.parquet").write_bytes(bytes(damaged))
    assert not is_complete(folder)
    again = tpn_sim(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "panel.parquet in " in again.stdout
    assert "no longer match the run's manifest (damaged or edited): recomputing" in again.stdout
    assert (folder / "panel.parquet").read_bytes() == panel
    assert is_complete(folder)


@pytest.mark.slow
def test_three_writers_of_one_folder_at_once_compute_it_once(tmp_path) -> None:
    """Started together on the same run: one computes while the others wait, then find it
    complete; none crashes and no temporary folder is left."""
    procs = [
        subprocess.Popen(
            [str(BIN / "tpn-sim"), "replications=20"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    logs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], logs
    assert sum("running design 'tpn', 20 replications" in log for log in logs) == 1
    assert sum(": skipped" in log for log in logs) == 2
    folder = tmp_path / "results" / "runs" / "replications=20"
    assert is_complete(folder) and len(load(folder)) == 20
    assert partials(tmp_path) == []
