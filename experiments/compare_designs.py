"""Compare every network design on the default Rwanda scenario, same seeds, same replications.

    python experiments/compare_designs.py [--replications 200] [--seed 20210801]

Prints, per design, the mean and 95% confidence interval of the measures that matter for the
policy question: effect in chosen topics, equity, sustainability and cost per point.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace

import pandas as pd

from sim import ScenarioConfig, run_scenario
from sim.designs import DESIGNS
from sim.tables import describe

MEASURES = [
    "mean_effect",
    "bottom_quartile_effect",
    "sustained_effect",
    "accreditation_estimate",
    "cbhi_coverage_estimate",
    "total_cost",
    "cost_per_point",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--seed", type=int, default=ScenarioConfig().seed)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    config = ScenarioConfig(replications=args.replications, seed=args.seed)
    summaries = [
        run_scenario(replace(config, network=replace(config.network, design=name))).summary
        for name in DESIGNS
    ]
    table = describe(pd.concat(summaries, ignore_index=True))
    cells = table.apply(
        lambda r: f"{r['mean']:,.2f} [{r['ci_low']:,.2f}, {r['ci_high']:,.2f}]", axis=1
    )
    wide = cells.unstack("measure")[MEASURES]
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        print(f"{args.replications} replications per design, root seed {args.seed}; mean [95% CI]")
        print(wide.T.to_string())


if __name__ == "__main__":
    main()
