"""The `tpn-sim` command and `python -m sim`, run as real subprocesses (plus main() in-process)."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main, parse_config

ROOT = Path(__file__).resolve().parents[1]
ENTRY_POINT = Path(sys.executable).parent / "tpn-sim"


def run(*args: str, entry_point: bool = False) -> subprocess.CompletedProcess:
    command = [str(ENTRY_POINT)] if entry_point else [sys.executable, "-m", "sim"]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )


# --- success ----------------------------------------------------------------------------------


def test_smoke_three_replications_prints_the_summary_table():
    result = run("--replications", "3")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "accreditation_estimate" in out
    assert "cbhi_coverage_estimate" in out
    for measure in ("mean_effect", "total_cost", "unmatched_goals"):
        assert measure in out
    assert "design 'tpn'" in out and "3 replications" in out
    header = next(line for line in out.splitlines() if "mean" in line and "ci95" in line)
    assert "range95" in header and header.split()[-1] == "n"


@pytest.mark.skipif(not ENTRY_POINT.exists(), reason="console script not installed")
def test_entry_point_runs_a_design_with_a_seed_reproducibly():
    a = run("--design", "none", "--replications", "2", "--seed", "5", entry_point=True)
    b = run("--design", "none", "--replications", "2", "--seed", "5", entry_point=True)
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout
    assert "design 'none'" in a.stdout and "root seed 5" in a.stdout
    total_cost = next(line for line in a.stdout.splitlines() if "total_cost" in line)
    assert total_cost.split()[1] == "0.00", "no programme, no cost"


@pytest.fixture
def restore_logging():
    """main() configures logging for a terminal; undo that so later tests are unaffected."""
    root, package = logging.getLogger(), logging.getLogger("sim")
    handlers, level, package_level = root.handlers[:], root.level, package.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    package.setLevel(package_level)


def test_main_in_process_prints_the_requested_run(capsys, restore_logging):
    assert main(["--design", "random", "--replications", "2", "--seed", "9"]) == 0
    out = capsys.readouterr().out
    assert (
        out.splitlines()[0] == "Rwanda TPN scenario, design 'random', 2 replications, root seed 9"
    )
    assert any(line.startswith("random") for line in out.splitlines())
    assert "mean_effect" in out


def test_parse_config_maps_flags_onto_the_scenario():
    config = parse_config(["--design", "hub", "--replications", "7", "--seed", "3"])
    assert (config.network.design, config.replications, config.seed) == ("hub", 7, 3)
    default = parse_config([])
    assert (default.network.design, default.replications) == ("tpn", 100)


def test_help_exits_zero():
    result = run("--help")
    assert result.returncode == 0
    for flag in ("--design", "--replications", "--seed"):
        assert flag in result.stdout


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--design", "ring"], "network.design='ring'"),
        (["--replications", "0"], "replications=0"),
        (["--replications", "-5"], "replications=-5"),
        (["--seed", "-1"], "seed=-1"),
    ],
    ids=["design-ring", "replications-0", "replications-negative", "seed-negative"],
)
def test_bad_input_exits_2_with_one_stderr_line_and_no_stdout(args, names):
    result = run(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tpn-sim: error: ")
    assert names in lines[0] and "allowed" in lines[0]


@pytest.mark.skipif(not ENTRY_POINT.exists(), reason="console script not installed")
@pytest.mark.parametrize("args", [["--design", "ring"], ["--replications", "0"]])
def test_entry_point_bad_input_exits_2_with_one_line(args):
    result = run(*args, entry_point=True)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("tpn-sim: error: ")


@pytest.mark.parametrize("args", [["--design", "ring"], ["--replications", "0"]])
def test_main_in_process_returns_2_on_bad_input(args, capsys):
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("tpn-sim: error: ")


@pytest.mark.parametrize("args", [["--replications", "abc"], ["--bogus"]], ids=["abc", "bogus"])
def test_argparse_errors_are_also_one_line(args):
    result = run(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
