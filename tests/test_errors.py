"""Every bad input of docs/errors.md, run: each stops with its documented line, no traceback,
and nothing that looks like a finished result.

The tables of docs/errors.md are this module's parameters (`rows`), so the two cannot drift
apart. Every row runs in this process through the code its program runs
(`sim.interfaces.cli.preflight`, each tool's `main`, the Python API); the rows of `SUBPROCESS`
also run as real processes, the read-only results folder only there: the process runs without
the capabilities by which root ignores file permissions, so the folder is really read-only even
when the tests run as root.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shlex
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

import sim
from sim import ScenarioConfig
from sim.config import ROOT
from sim.interfaces import compare_cli, export, hydra_config, report, whatif
from sim.interfaces.cli import preflight
from sim.results.store import MANIFEST, digest, read_manifest, save

DOC = ROOT / "docs" / "errors.md"
HEADER = "| id | input | files | message |"
MAINS: dict[str, Callable[[list[str]], int]] = {
    "tpn-sim-report": report.main,
    "tpn-sim-compare": compare_cli.main,
    "tpn-sim-export": export.main,
}
NAMES = {"sim": sim, "ScenarioConfig": ScenarioConfig, "whatif": whatif, "Path": Path}


@dataclass(frozen=True)
class Row:
    """One bad input of docs/errors.md (see there for the columns)."""

    id: str
    input: str
    files: str
    message: str

    @property
    def argv(self) -> list[str]:
        """The command line, `c{N}` standing for N times the character c."""
        return shlex.split(re.sub(r"(.)\{(\d+)\}", lambda m: m[1] * int(m[2]), self.input))


def cell(text: str) -> str:
    """A table cell's text, its code span unwrapped."""
    code = re.fullmatch(r"(`+) ?(.*?) ?\1", text.strip())
    return code[2] if code else text.strip()


def rows() -> list[Row]:
    """The rows of every table of docs/errors.md."""
    found, inside = [], False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        inside = line == HEADER or (inside and line.startswith("|"))
        if inside and line != HEADER and not line.startswith("|---"):
            key, text, files, message = re.split(r" *\| *", line.strip()[1:-1])
            found.append(Row(cell(key), cell(text), files, cell(message)))
    return found


ROWS = rows()
BY_ID = {row.id: row for row in ROWS}


def matches(line: str, documented: str) -> bool:
    """Whether a message is the documented one, where `…` stands for any text."""
    parts = (re.escape(part) for part in documented.split("…"))
    return re.fullmatch(".*".join(parts), line, re.S) is not None


# --- the files a row runs among --------------------------------------------------------------


@cache
def one_replication() -> sim.Results:
    return sim.run_scenario(ScenarioConfig(replications=1))


def complete_run(folder: Path) -> None:
    """A complete run folder, as tpn-sim saves one."""
    save(one_replication(), folder, "{}\n", {"overrides": [], "programme_months": 18})


def damaged_run(root: Path) -> None:
    """`run/`: a complete run whose panel is damaged, its manifest edited to match (crafted)."""
    folder = root / "run"
    complete_run(folder)
    panel = folder / "panel.parquet"
    panel.write_bytes(b"PAR1 damaged")
    manifest = read_manifest(folder)
    manifest["files"][panel.name] = {"bytes": panel.stat().st_size, "sha256": digest(panel)}
    (folder / MANIFEST).write_text(json.dumps(manifest))


SETUPS: dict[str, Callable[[Path], None]] = {
    "report-damaged-table": damaged_run,
    "report-damaged-record": lambda root: complete_run(root / "sweep" / "job"),
    "report-not-a-record": lambda root: complete_run(root / "sweep" / "job"),
}


def lay_out(row: Row, root: Path, monkeypatch: pytest.MonkeyPatch | None = None) -> None:
    """Write a row's files under `root`: files under configs/ into a copy of the shipped
    configs, which composition then reads (so only in this process, with `monkeypatch`)."""
    for path, content in re.findall(r"`([^`]+)`: `([^`]*)`", row.files):
        if path.startswith("configs/") and not (root / "configs").exists():
            assert monkeypatch is not None, f"{row.id}: shipped configs change in process only"
            shutil.copytree(hydra_config.CONFIG_DIR, root / "configs")
            monkeypatch.setattr(hydra_config, "CONFIG_DIR", str(root / "configs"))
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(content.replace("\\n", "\n"), encoding="utf-8")
    for path in re.findall(r"`([^`]+)`: read-only", row.files):
        (root / path).mkdir(parents=True)
        (root / path).chmod(0o555)
    if row.id in SETUPS:
        SETUPS[row.id](root)


def tree(root: Path) -> list[str]:
    """Every file and folder below `root`: a failed input must add none."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# --- every row, in this process --------------------------------------------------------------

SUBPROCESS_ONLY = {"read-only-results"}  # root writes anywhere: only a child can drop that


def outcome(row: Row, capsys: pytest.CaptureFixture[str]) -> str:
    """The one line a row's input gets, through the code its program runs."""
    if row.input.startswith("python: "):
        with pytest.raises(Exception) as error:
            eval(row.input.removeprefix("python: "), dict(NAMES))
        return str(error.value)
    program, *args = row.argv
    if program == "tpn-sim":
        problem = preflight(args)
        assert problem is not None, f"{row.id}: accepted"
        return problem
    assert MAINS[program](args) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{program}: error: "), lines
    return lines[0].removeprefix(f"{program}: error: ")


@pytest.mark.usefixtures("quiet_run")
@pytest.mark.parametrize(
    "row", [pytest.param(r, id=r.id) for r in ROWS if r.id not in SUBPROCESS_ONLY]
)
def test_each_bad_input_gets_its_documented_line(
    row: Row, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    lay_out(row, tmp_path, monkeypatch)
    before = tree(tmp_path)
    line = outcome(row, capsys).replace(f"{tmp_path}{os.sep}", "")
    assert "\n" not in line and "Traceback" not in line, line
    assert matches(line, row.message), f"{row.id}: {line!r} is not {row.message!r}"
    assert tree(tmp_path) == before, "a bad input left files behind"


# --- a representative set, as real processes -------------------------------------------------

SUBPROCESS = [
    "range",
    "unknown-option",
    "long-integer",
    "long-option",
    "long-folder-name",
    "start-year",
    "text-for-list-districts",
    "cd-repeated-key",
    "cd-shadowing",
    "cd-invalid-value",
    "cd-choice-in-list",
    "institutions-value",
    "report-damaged-table",
    "read-only-results",
]
PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2


def as_a_user() -> None:
    """In the child before it runs the program: as root, drop the capabilities by which root
    ignores file permissions from the bounding set (so the program's exec gets none), and
    permissions apply as to any user. (Becoming `nobody` instead would lose the interpreter,
    which lives under /root.)"""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(BY_ID[i], id=i, marks=[] if i in SUBPROCESS_ONLY else [pytest.mark.slow])
        for i in SUBPROCESS
    ],
)
def test_as_a_process_one_line_exit_2_and_nothing_left(
    row: Row, tmp_path: Path, tpn_sim: Callable, tpn_sim_report: Callable
) -> None:
    lay_out(row, tmp_path)
    before = tree(tmp_path)
    program, *args = row.argv
    run = {"tpn-sim": tpn_sim, "tpn-sim-report": tpn_sim_report}[program]
    done = run(*args, cwd=tmp_path, preexec_fn=as_a_user)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    [line] = done.stderr.splitlines()
    assert matches(line.replace(f"{tmp_path}{os.sep}", ""), f"{program}: error: {row.message}")
    assert tree(tmp_path) == before, "no run folder, no manifest: nothing looks finished"


# --- the table itself ------------------------------------------------------------------------


def test_the_table_lists_at_least_40_distinct_bad_inputs_of_every_class() -> None:
    assert len(ROWS) >= 40 and len(BY_ID) == len(ROWS), "ids must be distinct"
    assert len({(r.input, r.files) for r in ROWS}) == len(ROWS), "inputs must be distinct"
    assert {*SUBPROCESS, *SUBPROCESS_ONLY, *SETUPS} <= BY_ID.keys()
    for row in ROWS:
        assert row.message and row.message != "?", f"{row.id}: no message documented"
        assert row.input.split()[0] in {"tpn-sim", "python:", *MAINS}, row.id
    classes = {line[3:] for line in DOC.read_text().splitlines() if line.startswith("## ")}
    assert {
        "Command line",
        "Config files: shipped, and yours with `-cd`",
        "Your institutions, pairs and calendar",
        "Python",
        "The what-if page",
        "Results, reports and comparisons",
    } <= classes
