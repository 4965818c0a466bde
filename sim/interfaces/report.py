"""`tpn-sim-report <folder>`: figures and a Markdown report of a run or a whole sweep.

tpn-sim-report results/designs            -> results/designs/report/{report.md, *.png, *.svg}
tpn-sim-report results/designs --only costs.budget=220000 --out <folder>   (a subset of the runs)

A sweep that has not finished every job is reported with what it has, and says, at the top of
report.md and on stderr, which jobs are missing.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

import pandas as pd
import yaml
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra._internal.utils import create_config_search_path
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sim.analysis import plots
from sim.analysis.outcomes import axis_title, is_money, label, unit, value_text
from sim.analysis.ranking import RANKED_MEASURES, leader_map, ranking_overview
from sim.config import yaml_problem
from sim.interfaces.cli import CONFIG_DIR, job_overrides
from sim.results.store import (
    SWEEP_RECORD,
    DamagedRun,
    made_with,
    parse_overrides,
    read_table,
    runs,
)
from sim.results.tables import describe, markdown

log = logging.getLogger(__name__)

KEY_MEASURES = [
    "mean_effect",
    "bottom_quartile_effect",
    "sustained_effect",
    "accreditation_estimate",
    "accreditation_true_effect",
    "cbhi_coverage_estimate",
    "cbhi_coverage_true_effect",
    "total_cost",
    "cost_per_point",
]


FIGURES = {"trajectories", "estimator", "cost_vs_gain", "heatmap", "ranking"}
MAX_CURVES = 12  # figures with one curve per scenario are unreadable beyond this
MAX_LISTED = 10  # missing jobs named in the warning; the rest are counted

# Swept keys that are not conditions to rank designs under: the design itself, and the root seed
# (replications are paired by their own seeds, which differ between root seeds).
NOT_CONDITIONS = {"network", "network.design", "root_seed"}


def scenario_labels(parameters: list[dict]) -> tuple[list[str], list[str]]:
    """A label per run from the values of the parameters that differ between runs ('tpn', or
    '0.5, 0.4' for two), and those parameters (see `scenario_title`)."""
    keys = sorted({k for p in parameters for k in p})
    varying = [k for k in keys if len({repr(p.get(k)) for p in parameters}) > 1]
    labels = [", ".join(value_text(k, p.get(k)) for k in varying) or "default" for p in parameters]
    return labels, varying


def scenario_title(varying: list[str]) -> str:
    """What the scenario labels are values of, for legend titles and the table's first column:
    'network design', 'budget (USD)', or the parameters' names in the labels' order."""
    if len(varying) == 1:
        return axis_title(varying[0])
    return ", ".join(label(k) for k in varying) or "scenario"


def sweep_records(folder: Path) -> list[Path]:
    """Hydra's record (multirun.yaml) of every sweep at or below `folder`, leaving out hidden
    folders (superseded runs, submitit's and Hydra's own files)."""
    return sorted(
        record
        for record in folder.rglob(SWEEP_RECORD)
        if not any(part.startswith(".") for part in record.relative_to(folder).parts)
    )


def expected_jobs(record: Path) -> list[list[str]]:
    """The overrides of every job a sweep was asked to run, expanded from its record as Hydra's
    sweeper expands them (the study's swept params, then the command line's). A record that is
    not one (damaged or edited) stops with DamagedRun naming it."""
    loader = ConfigLoaderImpl(create_config_search_path(f"file://{CONFIG_DIR}"))
    try:
        sweep = OmegaConf.load(record).hydra
        params, task = dict(sweep.sweeper.params or {}), list(sweep.overrides.task)
        return job_overrides(OverridesParser.create(config_loader=loader), task, True, params)
    except yaml.YAMLError as error:
        raise DamagedRun(yaml_problem(error)) from None
    except (HydraException, OmegaConfBaseException, AttributeError, TypeError, ValueError):
        raise DamagedRun(
            f"{record} is invalid: not Hydra's record of a sweep; allowed the {SWEEP_RECORD} "
            "that tpn-sim -m writes (running the sweep again rewrites it)"
        ) from None


def missing_jobs(folder: Path, only: dict[str, object]) -> tuple[list[str], int]:
    """Jobs of the sweeps at or below `folder` (those made with `only`) without a complete run,
    as their overrides, and how many jobs were expected."""
    missing, expected = [], 0
    for record in sweep_records(folder):
        present = [run.parameters for run in runs(record.parent)]
        for job in expected_jobs(record):
            parameters = parse_overrides(job)
            if made_with(parameters, only):
                expected += 1
                if parameters not in present:
                    missing.append(",".join(sorted(job)))
    return missing, expected


def missing_text(missing: list[str], expected: int) -> str:
    """'1 of 6 jobs missing: network=none,replications=2' (the first MAX_LISTED named)."""
    named = ", ".join(missing[:MAX_LISTED])
    more = f" and {len(missing) - MAX_LISTED} more" if len(missing) > MAX_LISTED else ""
    return f"{len(missing)} of {expected} jobs missing: {named}{more}"


def collect(
    folder: Path, only: dict[str, object]
) -> tuple[pd.DataFrame, pd.DataFrame | None, list[str], int]:
    """Summary rows and per-replication KPI trajectories (None beyond MAX_CURVES runs) of every
    run made with the overrides in `only` (all runs if it is empty), labelled by scenario."""
    stored = [r for r in runs(folder) if r.matches(only)]
    if not stored:
        which = f" made with {only}" if only else ""
        raise FileNotFoundError(
            f"{folder} is invalid: no complete run (a folder with manifest.json){which} at or "
            "below it; allowed a run or sweep folder of tpn-sim"
        )
    parameters = [
        {("root_seed" if k == "seed" else k): v for k, v in r.parameters.items()} for r in stored
    ]  # a swept root seed must not overwrite each replication's own seed
    labels, varying = scenario_labels(parameters)
    summaries, kpis = [], []
    for run, name, params in zip(stored, labels, parameters, strict=True):
        summary = read_table(run.folder, "summary")
        for key in varying:
            summary[key] = params.get(key)
        summaries.append(summary.assign(scenario=name))
        if len(stored) <= MAX_CURVES:  # panels are the bulk of a store: read only if drawn
            panel = read_table(run.folder, "panel", ["run", "month", "kpi", "goal"])
            mean = panel[panel["goal"]].groupby(["run", "month"], as_index=False)["kpi"].mean()
            kpis.append(mean.assign(scenario=name))
    months = stored[0].manifest["programme_months"]
    kpi = pd.concat(kpis, ignore_index=True) if kpis else None
    return pd.concat(summaries, ignore_index=True), kpi, varying, months


def interval_cell(row: pd.Series) -> str:
    """'7.10 [6.96, 7.24]': a mean and its 95% interval; whole dollars for money."""
    digits = 0 if is_money(row.name[1]) else 2
    return f"{row['mean']:,.{digits}f} [{row['ci_low']:,.{digits}f}, {row['ci_high']:,.{digits}f}]"


def markdown_table(summary: pd.DataFrame, title: str) -> str:
    """Mean and 95% confidence interval of the key measures, one row per scenario, with the
    measures in words and units as column headers."""
    measures = [m for m in KEY_MEASURES if m in summary]
    table = describe(summary, by="scenario", measures=measures)
    wide = table.apply(interval_cell, axis=1).unstack("measure")[measures]
    wide = wide.rename(columns=axis_title)
    wide.insert(0, "replications", summary.groupby("scenario", sort=False).size())
    wide = wide.rename_axis(title)
    return markdown(wide.reset_index())


def ranking_section(summary: pd.DataFrame, varying: list[str]) -> tuple[list[str], dict]:
    """Report lines and figure on which design leads under each condition, if designs vary."""
    if summary["design"].nunique() < 2:
        return [], {}
    conditions = [k for k in varying if k not in NOT_CONDITIONS]
    overview = ranking_overview(summary, conditions)
    lines = [
        "## Ranking of designs",
        "",
        "Per condition and measure, the leading design and its paired margin over the runner-up",
        "(mean difference over replications sharing a seed, 95% interval; `~` marks a lead whose",
        "interval includes 0; for cost per point, how many USD per point cheaper). `none` is left",
        "out: its effect is zero by construction.",
        "",
        markdown(overview) if not overview.empty else "(no measure to rank)",
        "",
    ]
    numeric = [k for k in conditions if plots.numeric(summary[k])]
    if not numeric or len(numeric) > 2:  # a figure of two conditions would pool over the third
        return lines, {}
    if len(numeric) == 2:
        corner = f"{label(numeric[0])} \\ {label(numeric[1])}"
        for measure in (m for m in ("mean_effect", "cost_per_point") if m in summary):
            grid = leader_map(summary, numeric[0], numeric[1], measure)
            lines += [f"Leader by {label(measure)} (margin in {unit(measure)}):", ""]
            lines += [markdown(grid.rename_axis(corner).reset_index()), ""]
    measures = [m for m in RANKED_MEASURES if m in summary]
    facet = numeric[1] if len(numeric) > 1 else None
    return lines, {"ranking": plots.design_ranking(summary, numeric[0], facet, measures)}


def write_report(folder: Path, out: Path, only: dict[str, object] | None = None) -> Path:
    """report.md and its figures in `out`, for the runs at or below `folder` made with `only`.
    Jobs of a sweep that are missing are named at the top and logged as a warning."""
    only = only or {}
    summary, kpi, varying, months = collect(folder, only)
    missing, expected = missing_jobs(folder, only)
    if missing:
        log.warning("%s", missing_text(missing, expected))
    out.mkdir(parents=True, exist_ok=True)
    earlier = linked_figures(out / "report.md")
    title = scenario_title(varying)
    figures, notes = {}, []
    if kpi is not None:
        figures["trajectories"] = plots.trajectories(kpi, months, title)
        figures["estimator"] = plots.estimator_distribution(summary, title)
    else:
        notes = [
            f"The trajectory and estimator figures (one curve per scenario) are left out beyond "
            f"{MAX_CURVES} scenarios: select fewer with --only KEY=VALUE.",
            "",
        ]
    figures["cost_vs_gain"] = plots.cost_vs_gain(summary, title)
    grid = [k for k in varying if plots.numeric(summary[k])]
    if len(grid) == 2 and summary["design"].nunique() == 1:
        figures["heatmap"] = plots.grid_heatmap(summary, grid[0], grid[1], "mean_effect")
    ranking, ranking_figures = ranking_section(summary, varying)
    figures |= ranking_figures
    images = {name: plots.save(fig, out, name)[0] for name, fig in figures.items()}
    for stale in earlier - figures.keys():  # an earlier report's, of other runs: not the user's
        for suffix in (".png", ".svg"):
            (out / f"{stale}{suffix}").unlink(missing_ok=True)
    varied = ", ".join(f"{label(k)} (`{k}`)" for k in varying) or "nothing"
    lines = [
        f"# Report: {folder}",
        "",
        *([f"**Incomplete: {missing_text(missing, expected)}.**", ""] if missing else []),
        f"{summary['scenario'].nunique()} scenario(s); varied: {varied}.",
        "Means over replications with 95% confidence intervals in brackets.",
        "",
        markdown_table(summary, title),
        "",
        *notes,
        *ranking,
        *(f"![{name}]({file})\n" for name, file in images.items()),
    ]
    report = out / "report.md"
    report.write_text("\n".join(lines))
    return report


def linked_figures(report: Path) -> set[str]:
    """The figures an earlier report in this folder shows: the only files a new report may
    remove (other files in the folder are the user's)."""
    text = report.read_text(errors="replace") if report.is_file() else ""
    return set(re.findall(r"!\[(\w+)\]\(", text)) & FIGURES


class SelectionError(ValueError):
    """An --only value that is not a valid override."""


def selection(overrides: list[str]) -> dict[str, object]:
    """The --only overrides as {key: value}; a malformed one fails naming itself."""
    only: dict[str, object] = {}
    for override in overrides:
        try:
            only |= parse_overrides([override])
        except HydraException:
            raise SelectionError(
                f"--only {override} is invalid: allowed KEY=VALUE, an override the runs were "
                "made with (e.g. --only costs.budget=220000)"
            ) from None
    return only


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tpn-sim-report", description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a run folder or a sweep folder under results/")
    parser.add_argument("--out", type=Path, help="where to write (default: <folder>/report)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="only the runs made with this override, e.g. --only costs.budget=220000 (repeatable)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(format="tpn-sim-report: warning: %(message)s", level=logging.WARNING)
    try:
        only = selection(args.only)
        report = write_report(args.folder, args.out or args.folder / "report", only)
    except (OSError, SelectionError, DamagedRun) as error:  # no runs, an unreadable table, an
        # --out that cannot be a folder
        print(f"tpn-sim-report: error: {error}", file=sys.stderr)
        return 2
    print(f"report written to {report}")
    return 0
