"""`tpn-sim-report <folder>`: figures and a Markdown report of a run or a whole sweep.

tpn-sim-report results/designs            -> results/designs/report/{report.md, *.png, *.svg}
tpn-sim-report results/designs --only costs.budget=220000 --out <folder>   (a subset of the runs)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
from hydra.errors import HydraException

from sim import plots
from sim.ranking import RANKED_MEASURES, leader_map, ranking_overview
from sim.results import parse_overrides, read_table, runs
from sim.tables import describe, markdown

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

# Swept keys that are not conditions to rank designs under: the design itself, and the root seed
# (replications are paired by their own seeds, which differ between root seeds).
NOT_CONDITIONS = {"network", "network.design", "root_seed"}


def scenario_labels(parameters: list[dict]) -> tuple[list[str], list[str]]:
    """A label per run from the parameters that differ between runs, and those parameters."""
    keys = sorted({k for p in parameters for k in p})
    varying = [k for k in keys if len({repr(p.get(k)) for p in parameters}) > 1]
    labels = [", ".join(f"{k}={p.get(k)}" for k in varying) or "default" for p in parameters]
    return labels, varying


def collect(
    folder: Path, only: dict[str, object] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame | None, list[str], int]:
    """Summary rows and per-replication KPI trajectories (None beyond MAX_CURVES runs) of every
    run made with the overrides in `only` (all runs by default), labelled by scenario."""
    stored = [r for r in runs(folder) if r.matches(only or {})]
    if not stored:
        which = f" made with {only}" if only else ""
        raise FileNotFoundError(
            f"no complete run (folder with manifest.json){which} at or below {folder}"
        )
    parameters = [
        {("root_seed" if k == "seed" else k): v for k, v in r.parameters.items()} for r in stored
    ]  # a swept root seed must not overwrite each replication's own seed
    labels, varying = scenario_labels(parameters)
    summaries, kpis = [], []
    for run, label, params in zip(stored, labels, parameters, strict=True):
        summary = read_table(run.folder, "summary")
        for key in varying:
            summary[key] = params.get(key)
        summaries.append(summary.assign(scenario=label))
        if len(stored) <= MAX_CURVES:  # panels are the bulk of a store: read only if drawn
            panel = read_table(run.folder, "panel", ["run", "month", "kpi", "goal"])
            mean = panel[panel["goal"]].groupby(["run", "month"], as_index=False)["kpi"].mean()
            kpis.append(mean.assign(scenario=label))
    months = stored[0].manifest["programme_months"]
    kpi = pd.concat(kpis, ignore_index=True) if kpis else None
    return pd.concat(summaries, ignore_index=True), kpi, varying, months


def markdown_table(summary: pd.DataFrame) -> str:
    """Mean and 95% confidence interval of the key measures, one row per scenario."""
    measures = [m for m in KEY_MEASURES if m in summary]
    table = describe(summary, by="scenario", measures=measures)
    cells = table.apply(
        lambda r: f"{r['mean']:,.2f} [{r['ci_low']:,.2f}, {r['ci_high']:,.2f}]", axis=1
    )
    wide = cells.unstack("measure")[measures]
    wide.insert(0, "replications", summary.groupby("scenario", sort=False).size())
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
        for measure in (m for m in ("mean_effect", "cost_per_point") if m in summary):
            grid = leader_map(summary, numeric[0], numeric[1], measure)
            corner = f"{numeric[0]} \\ {numeric[1]}"
            lines += [f"Leader by {measure}:", "", markdown(grid.rename_axis(corner).reset_index())]
            lines.append("")
    measures = [m for m in RANKED_MEASURES if m in summary]
    facet = numeric[1] if len(numeric) > 1 else None
    return lines, {"ranking": plots.design_ranking(summary, numeric[0], facet, measures)}


def write_report(folder: Path, out: Path, only: dict[str, object] | None = None) -> Path:
    summary, kpi, varying, months = collect(folder, only)
    out.mkdir(parents=True, exist_ok=True)
    figures, notes = {}, []
    if kpi is not None:
        figures["trajectories"] = plots.trajectories(kpi, months)
        figures["estimator"] = plots.estimator_distribution(summary)
    else:
        notes = [
            f"The trajectory and estimator figures (one curve per scenario) are left out beyond "
            f"{MAX_CURVES} scenarios: select fewer with --only KEY=VALUE.",
            "",
        ]
    figures["cost_vs_gain"] = plots.cost_vs_gain(summary)
    grid = [k for k in varying if plots.numeric(summary[k])]
    if len(grid) == 2 and summary["design"].nunique() == 1:
        figures["heatmap"] = plots.grid_heatmap(summary, grid[0], grid[1], "mean_effect")
    ranking, ranking_figures = ranking_section(summary, varying)
    figures |= ranking_figures
    images = {name: plots.save(fig, out, name)[0] for name, fig in figures.items()}
    for stale in FIGURES - figures.keys():  # left by an earlier report of other runs
        for suffix in (".png", ".svg"):
            (out / f"{stale}{suffix}").unlink(missing_ok=True)
    lines = [
        f"# Report: {folder}",
        "",
        f"{summary['scenario'].nunique()} scenario(s); varied: {', '.join(varying) or 'nothing'}.",
        "Means over replications with 95% confidence intervals in brackets (points; costs in USD).",
        "",
        markdown_table(summary),
        "",
        *notes,
        *ranking,
        *(f"![{name}]({file})\n" for name, file in images.items()),
    ]
    report = out / "report.md"
    report.write_text("\n".join(lines))
    return report


class SelectionError(ValueError):
    """An --only value that is not a valid override."""


def selection(overrides: list[str]) -> dict[str, object]:
    """The --only overrides as {key: value}; a malformed one fails naming itself."""
    only: dict[str, object] = {}
    for override in overrides:
        try:
            only |= parse_overrides([override])
        except HydraException as error:
            message = str(error).splitlines()[0]
            raise SelectionError(f"--only {override} is invalid: {message}") from None
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
    try:
        only = selection(args.only)
        report = write_report(args.folder, args.out or args.folder / "report", only)
    except (FileNotFoundError, SelectionError) as error:
        print(f"tpn-sim-report: error: {error}", file=sys.stderr)
        return 2
    print(f"report written to {report}")
    return 0
