"""`tpn-sim-report <folder>`: report.md and figures of real (tiny) sweeps made by `tpn-sim -m`."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sim.analysis.outcomes import axis_title, is_money
from sim.results.store import load

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FIGURES = ["trajectories", "estimator", "cost_vs_gain"]
NUMBER = r"-?[\d,]+(?:\.\d\d)?"  # 2 decimals, whole dollars for money
CELL = re.compile(rf"^({NUMBER}) \[({NUMBER}), ({NUMBER})\]$")
GRID = ["population.leadership_mean=0.4,0.8", "population.capacity_spread=0.5,1.5"]


def sweep(cwd: Path, tpn_sim, *args: str) -> Path:
    """Run `tpn-sim -m <args>` in `cwd`; the sweep's own folder under results/sweeps/."""
    done = tpn_sim("-m", *args, cwd=cwd)
    assert done.returncode == 0, done.stderr
    (folder,) = (cwd / "results" / "sweeps").iterdir()
    return folder


def report_table(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """The Markdown table of report.md: its header and {scenario: [cells after the label]}."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert set(lines[1].replace("|", "")) == {"-"}
    rows = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert len(cells) == len(header), line
        rows[cells[0]] = cells[1:]
    return header, rows


def number(text: str) -> float:
    return float(text.replace(",", ""))


@pytest.fixture(scope="module")
def designs(
    tmp_path_factory, tpn_sim, tpn_sim_report
) -> tuple[Path, Path, subprocess.CompletedProcess, Path]:
    """A design sweep (tpn, none; 3 replications) and its report, made from the folder above
    the sweep's, in the default place."""
    cwd = tmp_path_factory.mktemp("report-designs")
    folder = sweep(cwd, tpn_sim, "network=tpn,none", "replications=3")
    done = tpn_sim_report("results/sweeps", cwd=cwd)
    return folder, cwd / "results" / "sweeps" / "report", done, cwd


@pytest.fixture(scope="module")
def grid(
    tmp_path_factory, tpn_sim, tpn_sim_report
) -> tuple[Path, Path, subprocess.CompletedProcess, Path]:
    """A 2x2 grid of two numeric parameters (2 replications), reported into --out."""
    cwd = tmp_path_factory.mktemp("report-grid")
    folder = sweep(cwd, tpn_sim, *GRID, "replications=2")
    done = tpn_sim_report(str(folder), "--out", "grid-report", cwd=cwd)
    return folder, cwd / "grid-report", done, cwd


@pytest.mark.parametrize("which", ["designs", pytest.param("grid", marks=pytest.mark.slow)])
def test_report_writes_markdown_and_figures(request, which: str) -> None:
    _, out, done, cwd = request.getfixturevalue(which)
    assert done.returncode == 0, done.stderr
    written = done.stdout.strip().removeprefix("report written to ")
    assert (cwd / written).resolve() == (out / "report.md").resolve()
    assert (out / "report.md").is_file()
    for name in FIGURES:
        png, svg = out / f"{name}.png", out / f"{name}.svg"
        assert png.read_bytes().startswith(PNG_MAGIC), name
        assert png.stat().st_size > 1000, name
        assert "<svg" in svg.read_text()[:2000], name
    text = (out / "report.md").read_text()
    for image in re.findall(r"!\[\w+\]\(([^)]+)\)", text):
        assert (out / image).is_file(), image
    assert set(re.findall(r"!\[(\w+)\]", text)) >= set(FIGURES)


@pytest.mark.slow
def test_heatmap_only_for_a_two_parameter_grid(designs, grid) -> None:
    designs_out, grid_out = designs[1], grid[1]
    assert not (designs_out / "heatmap.png").exists()
    assert "heatmap" not in (designs_out / "report.md").read_text()
    assert (grid_out / "heatmap.png").read_bytes().startswith(PNG_MAGIC)
    assert "<svg" in (grid_out / "heatmap.svg").read_text()[:2000]
    assert "![heatmap](heatmap.png)" in (grid_out / "report.md").read_text()


def test_report_table_has_a_row_per_scenario_with_intervals(designs) -> None:
    """Rows are named by the varied value under a header in words; measures are headed in
    words with units, money in whole dollars."""
    folder, out, _, _ = designs
    text = (out / "report.md").read_text()
    assert "2 scenario(s); varied: network design (`network`)." in text
    assert "missing" not in text
    header, rows = report_table(text)
    assert header[:2] == ["network design", "replications"]
    measures = {axis_title(m): m for m in load(folder).columns}
    assert {
        "programme effect in chosen topics (points)",
        "accreditation: article's estimator, choosers minus others (points)",
        "CBHI coverage: article's estimator, choosers minus others (points)",
        "total cost (USD)",
        "cost per point gained (USD per point)",
    } <= set(header)
    assert set(rows) == {"tpn", "none"}
    summary = load(folder)
    for design, cells in rows.items():
        assert cells[0] == "3"
        for title, cell in zip(header[2:], cells[1:], strict=True):
            measure = measures[title]
            if (design, measure) == ("none", "cost_per_point"):  # no cost, no effect
                assert cell == "nan [nan, nan]"
                continue
            match = CELL.match(cell)
            assert match, f"{design} {measure}: {cell!r}"
            mean, low, high = (number(g) for g in match.groups())
            assert low <= mean <= high, (design, measure, cell)
            expected = summary.loc[summary["network"] == design, measure].mean()
            digits = 0 if is_money(measure) else 2
            assert match.group(1) == f"{expected:,.{digits}f}", (design, measure)


@pytest.mark.slow
def test_grid_report_rows_name_both_parameters(grid) -> None:
    out = grid[1]
    text = (out / "report.md").read_text()
    assert (
        "4 scenario(s); varied: pre-existing capacity spread (`population.capacity_spread`), "
        "leadership engagement (`population.leadership_mean`)."
    ) in text
    header, rows = report_table(text)
    assert header[0] == "pre-existing capacity spread, leadership engagement"
    assert set(rows) == {f"{c}, {lead}" for c in (0.5, 1.5) for lead in (0.4, 0.8)}
    assert all(cells[0] == "2" for cells in rows.values())


@pytest.mark.slow
def test_report_of_a_single_run_folder(designs, tpn_sim_report, tmp_path) -> None:
    run = designs[0] / "network=tpn,replications=3"
    done = tpn_sim_report(str(run), "--out", "single", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    _, rows = report_table((tmp_path / "single" / "report.md").read_text())
    assert list(rows) == ["default"]
    assert not (tmp_path / "single" / "heatmap.png").exists()


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["empty", "missing", "incomplete"])
def test_report_without_runs_is_a_one_line_error(tmp_path, tpn_sim_report, layout: str) -> None:
    folder = tmp_path / "results"
    if layout != "missing":
        folder.mkdir()
    if layout == "incomplete":  # a job killed before it saved: Hydra's files, no manifest
        job = folder / "network=tpn"
        (job / ".hydra").mkdir(parents=True)
        (job / "summary.csv").write_text("run,seed\n0,1\n")
    done = tpn_sim_report("results", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("tpn-sim-report: error: ")
    assert "results" in lines[0]
    assert not (folder / "report").exists()


# --- selecting runs, and ranking designs ------------------------------------------------------


@pytest.mark.slow
def test_only_reports_the_selected_runs(designs, tpn_sim_report) -> None:
    """--only keeps the runs made with that override; a bad or unmatched one is one line."""
    _, _, _, cwd = designs
    done = tpn_sim_report("results/sweeps", "--only", "network=tpn", "--out", "tpn-only", cwd=cwd)
    assert done.returncode == 0, done.stderr
    _, rows = report_table((cwd / "tpn-only" / "report.md").read_text())
    assert list(rows) == ["default"]  # one scenario left: nothing varies
    for bad, says in [("network=ring", "made with {'network': 'ring'}"), ("network=[", "--only")]:
        done = tpn_sim_report("results/sweeps", "--only", bad, "--out", "x", cwd=cwd)
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and says in done.stderr, done.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    "swept", [["network.design=tpn,external_expert"], ["network=tpn,random", "seed=1,2"]]
)
def test_ranking_ignores_design_keys_and_root_seeds(tmp_path, tpn_sim, tpn_sim_report, swept):
    """Designs swept by either key are ranked, and a swept root seed keeps replications paired."""
    folder = sweep(tmp_path, tpn_sim, *swept, "replications=3")
    done = tpn_sim_report(str(folder), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    ranking = (folder / "report" / "report.md").read_text().split("## Ranking of designs")[1]
    header, rows = report_table(ranking)
    assert header[0] == "order by programme effect in chosen topics"
    assert len(rows) == 1  # no condition: one row ranking the two designs
    assert "nan" not in ranking


def test_many_scenarios_leave_out_per_scenario_curves_and_their_stale_files(
    designs, tmp_path, monkeypatch
) -> None:
    """Beyond MAX_CURVES scenarios no panel is read and no curve per scenario is drawn; an
    earlier report's curves in the same folder are removed, not left to mislead."""
    import sim.interfaces.report

    folder, _, _, _ = designs
    out = tmp_path / "report"
    sim.interfaces.report.write_report(folder, out)
    assert (out / "trajectories.png").exists() and (out / "estimator.svg").exists()
    monkeypatch.setattr(sim.interfaces.report, "MAX_CURVES", 1)  # the sweep has 2 scenarios
    text = sim.interfaces.report.write_report(folder, out).read_text()
    assert "left out beyond 1 scenarios" in text
    assert not list(out.glob("trajectories.*")) and not list(out.glob("estimator.*"))
    assert (out / "cost_vs_gain.png").read_bytes().startswith(PNG_MAGIC)


def test_a_report_leaves_other_files_in_its_folder_alone(designs, tmp_path) -> None:
    """Files a user keeps in the --out folder, even one named like a figure, stay."""
    import sim.interfaces.report

    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "heatmap.png").write_bytes(b"my own picture")  # no heatmap in this report
    sim.interfaces.report.write_report(designs[0], out)
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "heatmap.png").read_bytes() == b"my own picture"


@pytest.mark.slow
def test_an_out_that_is_a_file_is_a_one_line_error(designs, tpn_sim_report, tmp_path) -> None:
    (tmp_path / "taken").write_text("a file")
    done = tpn_sim_report(str(designs[0]), "--out", "taken", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("tpn-sim-report: error: ") and done.stderr.count("\n") == 1
    assert (tmp_path / "taken").read_text() == "a file"


@pytest.mark.slow
def test_report_of_an_incomplete_sweep_says_which_jobs_are_missing(
    tmp_path, tpn_sim, tpn_sim_report
) -> None:
    """Hydra's record of the sweep (multirun.yaml) gives the jobs it was asked for: one whose
    folder is gone is named at the top of report.md and in a warning on stderr; selecting only
    complete jobs with --only leaves nothing missing."""
    folder = sweep(tmp_path, tpn_sim, "network=tpn,none,random", "replications=1")
    shutil.rmtree(folder / "network=none,replications=1")
    done = tpn_sim_report(str(folder), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    message = "1 of 3 jobs missing: network=none,replications=1"
    assert done.stderr == f"tpn-sim-report: warning: {message}\n"
    lines = (folder / "report" / "report.md").read_text().splitlines()
    assert lines[2] == f"**Incomplete: {message}.**"
    done = tpn_sim_report(str(folder), "--only", "network=tpn", "--out", "tpn", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == ""
    assert "missing" not in (tmp_path / "tpn" / "report.md").read_text()
