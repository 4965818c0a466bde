"""Replicate the article's headline comparison over many replications of the default scenario.

    python experiments/replicate_paper.py [--results results/replicate_paper] [--replications 1000]

Runs `tpn-sim +experiment=replicate_paper` first unless the results folder already holds a
complete run of exactly this configuration and code, then writes
<results>/analysis/replication.md and estimators.png/.svg, and prints the table.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from hydra import compose, initialize_config_dir

from sim.analysis import paper, plots
from sim.core.metrics import PUBLISHED_ESTIMATES
from sim.interfaces.cli import CONFIG_DIR, run_key
from sim.results.store import TABLES, is_complete, read_table, runs

EXPLANATION = """\
Each row is one of the article's headline comparisons, simulated {replications} times with the
default Rwanda scenario with the current model defaults. *Published*: the
article's figure. *Article's estimator*: mean change of members that chose the topic minus
that of members that did not (the article's method), mean and 2.5-97.5% range over
replications; *estimator > 0*: share of replications in which it is positive. *Adjusted
coefficient*: the chooser coefficient of an OLS of change on choosing and baseline KPI in each
replication (removes regression to the mean), mean and 2.5-97.5% range; *adjusted CI excludes
0*: share of replications whose own 95% confidence interval excludes 0, the power that a single
programme of this size, like the article's, had to detect its effect. *True effect on
choosers*: mean end-of-programme capacity of choosers minus that of the same members, same
seed, without the programme. *Selection share*: (mean estimator - mean true effect) / mean
estimator, the part of the published-style contrast that is not the programme's effect on
choosers: self-selection of improving members, regression to the mean, less any effect the
programme had on the non-choosers the contrast subtracts (negative when the contrast
understates the effect). Statistics are over the replications in which both groups were
non-empty (*replications*).
"""


def overrides(replications: int) -> list[str]:
    return ["+experiment=replicate_paper", f"replications={replications}"]


def expected_key(replications: int) -> str:
    """The config key tpn-sim would give this study, so stale results (other parameters, other
    code, e.g. after a recalibration) are never analysed."""
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("config", overrides=overrides(replications))
    return run_key(cfg)[2]


def ensure_results(folder: Path, replications: int) -> None:
    """Run the study into `folder` unless a complete run of it is already there."""
    if is_complete(folder, expected_key(replications)):
        print(f"using complete results in {folder}", file=sys.stderr)
        return
    command = [sys.executable, "-m", "sim", *overrides(replications), f"hydra.run.dir={folder}"]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def read_changes(folder: Path, end_month: int) -> dict[str, pd.DataFrame]:
    """Per headline topic, the changes of every replication, reading only the columns, months
    and topics needed from the (large) panel."""
    panel = pd.read_parquet(
        folder / TABLES["panel"],
        columns=paper.PANEL_COLUMNS,
        filters=[("month", "in", [0, end_month]), ("topic", "in", list(PUBLISHED_ESTIMATES))],
    )
    return {topic: paper.changes(panel, topic, end_month) for topic in PUBLISHED_ESTIMATES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results/replicate_paper"))
    parser.add_argument("--replications", type=int, default=1000)
    args = parser.parse_args(argv)
    folder = args.results.resolve()
    timings = {}

    start = time.perf_counter()
    ensure_results(folder, args.replications)
    timings["simulation"] = time.perf_counter() - start

    start = time.perf_counter()
    (stored,) = runs(folder)
    summary = read_table(folder, "summary")
    changes = read_changes(folder, stored.manifest["programme_months"])
    timings["reading"] = time.perf_counter() - start

    start = time.perf_counter()
    table = paper.replication_table(summary, changes)
    markdown = paper.markdown_table(table)
    out = folder / "analysis"
    out.mkdir(exist_ok=True)
    explanation = EXPLANATION.format(replications=len(summary))
    (out / "replication.md").write_text(
        f"# Replication of the article's estimates\n\n{markdown}\n\n{explanation}"
    )
    plots.save(paper.estimator_figure(summary), out, "estimators")
    timings["analysis"] = time.perf_counter() - start

    print(markdown)
    print(", ".join(f"{name} {seconds:.1f} s" for name, seconds in timings.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
