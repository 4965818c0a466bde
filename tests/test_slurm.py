"""The SLURM launcher (configs/hydra/launcher/slurm.yaml) on a real cluster.

Needs a SLURM cluster with a partition `debug` whose nodes see this Python environment (a
one-node cluster on this machine: `sudo .ci/slurm.sh`); skipped when there is none, unless
TPN_REQUIRE_SLURM is set (as .ci/run does), in which case that fails. A two-job
sweep goes through sbatch as a job array, and its results must equal those of the same sweep
run by the default (serial) launcher.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.config import ROOT
from sim.results.store import is_complete, sweep_dirname
from tests.test_sensitivity import TINY

pytestmark = pytest.mark.slurm

PARTITION = "debug"
SWEEP = ["network=tpn,none", "replications=2"]
SLURM = [
    "hydra/launcher=slurm",
    f"hydra.launcher.partition={PARTITION}",
    "hydra.launcher.timeout_min=5",
]
JOBS = ["network=tpn,replications=2", "network=none,replications=2"]
FILES = ["panel.parquet", "summary.csv", "manifest.json"]
TIMEOUT_S = 300  # the whole sweep; a job SLURM lost would otherwise leave submitit waiting
USABLE = {"idle", "mix", "mixed", "alloc", "allocated", "comp", "completing"}


def cluster_problem() -> str | None:
    """Why no job can run on partition `debug` now, or None."""
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        return "no SLURM client (sinfo/sbatch) on PATH; start a cluster with .ci/slurm.sh"
    try:
        done = subprocess.run(
            ["sinfo", "-h", "-p", PARTITION, "-o", "%t"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        return "SLURM cluster not responding: sinfo timed out"
    if done.returncode != 0:
        return f"SLURM cluster not responding: {done.stderr.strip() or 'sinfo failed'}"
    states = set(done.stdout.split())
    if not states:
        return f"SLURM cluster has no partition {PARTITION!r}"
    # a trailing * marks a node that does not respond; other marks (~#!%$@^-) are power states
    if not {s.rstrip("~#!%$@^-") for s in states if not s.endswith("*")} & USABLE:
        return f"no usable node in SLURM partition {PARTITION!r} (states: {sorted(states)})"
    return None


def tpn_sim() -> str:
    """The `tpn-sim` of the environment running the tests."""
    beside = Path(sys.executable).with_name("tpn-sim")
    found = str(beside) if beside.exists() else shutil.which("tpn-sim")
    assert found, "tpn-sim is not installed in this environment"
    return found


def run_sweep(cwd: Path, *overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [tpn_sim(), "-m", *overrides, *SWEEP],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )


def submitit_jobs(sweeps: Path) -> dict[str, Path]:
    """SLURM job id (array `<job>_<index>`) -> submitit's folder of that job."""
    root = sweeps / ".submitit"
    if not root.is_dir():
        return {}
    return {p.name: p for p in root.iterdir() if re.fullmatch(r"\d+_\d+", p.name)}


def cancel(jobs: dict[str, Path]) -> None:
    """Cancel what this test submitted (after a time-out), so no job outlives it."""
    arrays = sorted({job.split("_")[0] for job in jobs})
    if arrays and shutil.which("scancel"):
        subprocess.run(["scancel", *arrays], capture_output=True, timeout=30)


def logs(jobs: dict[str, Path]) -> str:
    parts = []
    for job, folder in sorted(jobs.items()):
        for log in sorted(folder.glob("*_log.*")):
            parts.append(f"--- {job}/{log.name}\n{log.read_text(errors='replace')[-3000:]}")
    return "\n".join(parts)


def require_cluster() -> None:
    """Skip without a cluster, unless CI started one: then its absence is a failure."""
    problem = cluster_problem()
    if problem and os.environ.get("TPN_REQUIRE_SLURM"):
        pytest.fail(problem)
    if problem:
        pytest.skip(problem)


def test_sweep_runs_as_slurm_job_array_with_serial_results(tmp_path: Path) -> None:
    require_cluster()

    cluster_dir = tmp_path / "slurm"
    serial_dir = tmp_path / "serial"
    cluster_dir.mkdir()
    serial_dir.mkdir()
    sweeps = cluster_dir / "results" / "sweeps" / sweep_dirname(SWEEP)

    try:
        done = run_sweep(cluster_dir, *SLURM)
    except subprocess.TimeoutExpired as timeout:
        jobs = submitit_jobs(sweeps)
        cancel(jobs)
        pytest.fail(f"SLURM sweep still running after {TIMEOUT_S}s: {timeout}\n{logs(jobs)}")
    jobs = submitit_jobs(sweeps)
    assert done.returncode == 0, (
        f"tpn-sim exited {done.returncode}\nstdout:\n{done.stdout[-3000:]}\n"
        f"stderr:\n{done.stderr[-3000:]}\n{logs(jobs)}"
    )

    # Both jobs ran through SLURM: one array, one submitit folder per task, each started by
    # submitit's worker under SLURM (its job environment names the SLURM job id) and finished.
    assert len(jobs) == len(JOBS), f"expected {len(JOBS)} SLURM jobs, submitit has {sorted(jobs)}"
    assert len({job.split("_")[0] for job in jobs}) == 1, f"not one job array: {sorted(jobs)}"
    for job, folder in jobs.items():
        out = folder / f"{job}_0_log.out"  # SLURM's --output of the job's first task
        assert out.is_file(), f"no SLURM job log {out}"
        text = out.read_text(errors="replace")
        assert f"JobEnvironment(job_id={job}," in text, f"{out} shows no SLURM job {job}:\n{text}"
        assert (folder / f"{job}_0_result.pkl").is_file(), f"job {job} left no result\n{text}"
    array = next(iter(jobs)).split("_")[0]
    script = (sweeps / ".submitit" / array / f"{array}_submission.sh").read_text()
    assert f"#SBATCH --partition={PARTITION}" in script

    for name in JOBS:
        folder = sweeps / name
        assert is_complete(folder), f"{folder} is not a complete run"
        for file in FILES:
            assert (folder / file).is_file(), f"{folder / file} missing"

    # The same sweep with the default launcher gives the same numbers.
    serial = run_sweep(serial_dir)
    assert serial.returncode == 0, f"serial sweep failed:\n{serial.stderr[-3000:]}"
    for name in JOBS:
        serial_sweep = serial_dir / "results" / "sweeps" / sweep_dirname(SWEEP)
        expected = pd.read_csv(serial_sweep / name / "summary.csv")
        actual = pd.read_csv(sweeps / name / "summary.csv")
        pd.testing.assert_frame_equal(actual, expected, obj=f"{name}/summary.csv")


def test_sensitivity_study_runs_on_slurm_with_serial_indices(tmp_path: Path) -> None:
    """experiments/sensitivity.py hands its jobs to the SLURM launcher like any sweep."""
    require_cluster()
    indices = {}
    for launcher, extra in (("slurm", SLURM), ("serial", [])):
        folder = tmp_path / launcher
        command = [sys.executable, str(ROOT / "experiments/sensitivity.py"), *TINY, *extra]
        done = subprocess.run(
            [*command, f"hydra.sweep.dir={folder}"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
        jobs = submitit_jobs(folder)
        assert done.returncode == 0, f"{launcher}: {done.stderr[-3000:]}\n{logs(jobs)}"
        assert len(jobs) == (4 if launcher == "slurm" else 0), sorted(jobs)
        indices[launcher] = pd.read_csv(folder / "analysis/indices.csv")
    pd.testing.assert_frame_equal(indices["slurm"], indices["serial"])
