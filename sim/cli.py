"""`tpn-sim`: run a scenario from the command line and print its summary across replications."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from typing import NoReturn

import pandas as pd

from sim.config import ConfigError, ScenarioConfig
from sim.results import describe
from sim.run import run_scenario


class OneLineErrors(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr like every other input error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parse_config(argv: list[str] | None) -> ScenarioConfig:
    default = ScenarioConfig()
    parser = OneLineErrors(prog="tpn-sim", description=__doc__)
    parser.add_argument(
        "--design", default=default.network.design, help="network design (default %(default)s)"
    )
    parser.add_argument(
        "--replications", type=int, default=default.replications, help="default %(default)s"
    )
    parser.add_argument(
        "--seed", type=int, default=default.seed, help="root seed (default %(default)s)"
    )
    args = parser.parse_args(argv)
    return replace(
        default,
        network=replace(default.network, design=args.design),
        replications=args.replications,
        seed=args.seed,
    )


def format_summary(summary: pd.DataFrame) -> str:
    """Mean, 95% confidence interval of the mean, and 95% range of replications, per measure."""
    table = describe(summary)
    table = table.assign(
        mean=table["mean"].map("{:,.2f}".format),
        ci95=[
            f"[{a:,.2f}, {b:,.2f}]" for a, b in zip(table["ci_low"], table["ci_high"], strict=True)
        ],
        range95=[
            f"[{a:,.2f}, {b:,.2f}]" for a, b in zip(table["p2.5"], table["p97.5"], strict=True)
        ],
        n=table["n"].astype(int),
    )
    return table[["mean", "ci95", "range95", "n"]].to_string()


def main(argv: list[str] | None = None) -> int:
    try:
        config = parse_config(argv)
    except ConfigError as error:
        print(f"tpn-sim: error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    logging.getLogger("sim").setLevel(logging.INFO)
    results = run_scenario(config)
    print(
        f"Rwanda TPN scenario, design {config.network.design!r}, "
        f"{config.replications} replications, root seed {config.seed}"
    )
    with pd.option_context("display.width", 200):
        print(format_summary(results.summary))
    return 0
