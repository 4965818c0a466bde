"""Predict a programme the model was not fitted to, and report each observation against it.

    python experiments/validate.py <programme folder> [--replications 200] [--seed 1]
        [--calibration posterior|point]

The folder holds the programme's institutions.csv, pairs.csv and calendar.csv (as for
`population=from_file` etc.) and a programme.yaml with its settings and observations (see
sim/analysis/validation.py and experiments/README.md). Writes validation.csv, validation.md and
validation.png to results/validation/<name>/ and prints the table and one pass/fail line per
observation. Nothing is tuned to the programme: each replication draws its parameters from the
calibration's posterior (docs/calibration.md), so the intervals include parameter uncertainty;
`--calibration point` uses the representative set instead.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from sim.analysis.outcomes import words
from sim.analysis.validation import every_member_improves, predict, read_programme
from sim.config import ConfigError
from sim.core.run import run_scenario
from sim.interfaces.hydra_config import compose_scenario
from sim.results.store import write_csv
from sim.results.tables import markdown

ROOT = Path(__file__).resolve().parent.parent


def figure(table: pd.DataFrame, name: str) -> plt.Figure:
    """One row per observation: the 95% predictive interval, its mean, and what was observed."""
    labels = [
        f"{words(t)}, {words(s)}, month {m}"
        for t, s, m in table[["topic", "statistic", "month"]].itertuples(index=False)
    ]
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(table) + 1.5), layout="constrained")
    y = range(len(table))
    ax.hlines(
        y,
        table["low"],
        table["high"],
        color="grey",
        linewidth=6,
        alpha=0.5,
        label="95% predictive interval",
    )
    ax.plot(table["predicted"], y, "|", color="black", markersize=14, label="predicted mean")
    colours = ["tab:green" if ok else "tab:red" for ok in table["passed"]]
    ax.scatter(table["observed"], y, color=colours, zorder=3, label="observed")
    ax.set_yticks(list(y), labels)
    ax.invert_yaxis()
    ax.set(
        xlabel="value (points, or percent of members)", title=f"{name}: predicted against observed"
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize="small")
    return fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--calibration", choices=["posterior", "point"], default="posterior")
    parser.add_argument("--out", type=Path, default=None, help="default: results/validation/<name>")
    args = parser.parse_args(argv)
    try:
        programme = read_programme(args.folder)
        sample = f"calibration.sample={args.calibration}"
        config = compose_scenario([*programme.settings(args.folder), sample])
        config = replace(config, replications=args.replications, seed=args.seed)
        panel = run_scenario(config, progress=True).panel
        table = predict(panel, programme.observations)
        everyone = every_member_improves(panel, programme.observations)
    except ConfigError as error:
        print(f"validate: error: {error}", file=sys.stderr)
        return 2
    out = args.out or ROOT / "results" / "validation" / args.folder.name
    out.mkdir(parents=True, exist_ok=True)
    write_csv(table, out / "validation.csv")
    report = [
        f"# {programme.name}",
        "",
        f"Source: {programme.source}",
        "",
        markdown(table),
        "",
        markdown(everyone),
    ]
    (out / "validation.md").write_text("\n".join(report) + "\n")
    figure(table, programme.name).savefig(out / "validation.png", dpi=120)
    print(markdown(table))
    for row in table.itertuples(index=False):
        verdict = "PASS" if row.passed else "FAIL"
        print(
            f"{verdict}: {row.topic} {row.statistic} at month {row.month}: observed "
            f"{row.observed:.1f}, predicted {row.predicted:.1f} [{row.low:.1f}, {row.high:.1f}]"
        )
    for row in everyone.itertuples(index=False):
        print(
            f"{row.topic}: every member improves between months {row.months} in "
            f"{row.every_member_improves:.0%} of replications"
        )
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
