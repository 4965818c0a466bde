"""Switch each mechanism off in turn and measure what it does to the headline outcomes.

    python experiments/ablation.py [--replications 400] [--seed 7]

Every scenario draws its parameters from the posterior (`calibration.sample=posterior`) except
the switched-off ones, which stay fixed at 0, on common seeds: replication r of every scenario
has the same members and the same drawn parameter set, so each difference is paired. Prints a
Markdown table (the table of docs/ODD.md 7.17) and writes results/ablation/ablation.csv.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from sim.analysis.compare import compare
from sim.analysis.outcomes import label
from sim.analysis.ranking import paired_margin
from sim.config import CalibrationConfig
from sim.core.posterior import kept, with_values
from sim.core.scenario import ScenarioConfig
from sim.results.store import write_csv
from sim.results.tables import markdown

ROOT = Path(__file__).resolve().parent.parent
ABLATIONS = {
    "goal work off": {"learning.goal_work_rate": 0.0},
    "goal work without support from ties": {"learning.goal_support": 0.0},
    "reciprocity off": {"learning.reciprocity": 0.0},
    "turnover losses off": {
        "learning.turnover_knowledge_loss": 0.0,
        "learning.turnover_tie_loss": 0.0,
    },
    "no leadership turnover": {"learning.turnover_rate": 0.0},
}
MEASURES = [
    "accreditation_estimate",
    "cbhi_coverage_estimate",
    "mean_effect",
    "bottom_quartile_effect",
    "sustained_effect",
]


def ablated(base: ScenarioConfig, values: dict[str, float]) -> ScenarioConfig:
    """`base` with `values` set and kept: the posterior draws every other parameter."""
    return kept(with_values(base, values), set(values))


def ablation_table(summary: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Per outcome: the full model's mean, and each ablation's paired change with its 95% CI."""
    rows = []
    for measure in MEASURES:
        full = summary.loc[summary["scenario"] == names[0], measure].mean()
        row = {"outcome": label(measure), "full model": f"{full:.2f}"}
        for name in names[1:]:
            diff, low, high = paired_margin(summary, name, names[0], measure, by="scenario")
            row[name] = f"{diff:+.2f} [{low:+.2f}, {high:+.2f}]"
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    base = ScenarioConfig(
        seed=args.seed,
        replications=args.replications,
        calibration=CalibrationConfig(sample="posterior"),
    )
    names = ["full model", *ABLATIONS]
    alternatives = [ablated(base, values) for values in ABLATIONS.values()]
    comparison = compare(base, *alternatives, names=names, progress=True)
    table = ablation_table(comparison.summary, names)
    out = ROOT / "results" / "ablation"
    out.mkdir(parents=True, exist_ok=True)
    write_csv(table, out / "ablation.csv")
    print(markdown(table))


if __name__ == "__main__":
    main()
