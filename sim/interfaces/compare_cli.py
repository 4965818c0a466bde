"""`tpn-sim-compare`: paired what-if comparisons (sim.analysis.compare) from the command line,
e.g. "what if we halved the exchange visits?"

    tpn-sim-compare [--set "COMMON OVERRIDES"] BASELINE ALT [ALT ...] [--out FILE.csv]

Each scenario is one quoted string of Hydra overrides ("" or "default" for the default scenario);
`--set` overrides apply to every scenario, and a scenario's own overrides win. For example:

    tpn-sim-compare --set "replications=200" "" "schedule.exchange_visit_every=6" "network=pairwise"

It prints a Markdown table (per scenario and outcome: mean with its 95% CI, and the paired
difference from the baseline with its 95% CI), one sentence per alternative, then warnings;
`--out` writes the table as CSV. Bad overrides stop it with one line and exit code 2.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from sim.analysis.compare import compare, log
from sim.config import ConfigError
from sim.core.scenario import ScenarioConfig
from sim.interfaces.hydra_config import compose_scenario
from sim.results.store import write_csv


def split(text: str) -> list[str]:
    """Overrides typed as one string, split as a shell would; "default" means none."""
    try:
        return [] if text == "default" else shlex.split(text)
    except ValueError as error:
        raise ConfigError(
            f"{text!r} is invalid ({error}): allowed overrides quoted as a shell quotes them"
        ) from None


def compose_scenarios(common: str, scenarios: list[str]) -> list[ScenarioConfig]:
    """Each scenario string (`--set` first, then its own overrides) as a ScenarioConfig."""
    return [compose_scenario(split(common) + split(s)) for s in scenarios]


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="tpn-sim-compare",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--set", default="", metavar='"OVERRIDES"', help="overrides for every scenario"
    )
    parser.add_argument(
        "scenarios",
        nargs="+",
        metavar="SCENARIO",
        help='the baseline, then the alternatives: quoted overrides each, "" for the default',
    )
    parser.add_argument("--out", type=Path, metavar="FILE.csv", help="write the table as CSV")
    args = parser.parse_args(argv)
    if len(args.scenarios) < 2:
        parser.error("give a baseline and at least one alternative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    log.disabled = True  # the report prints compare's warnings itself, after the table
    try:
        comparison = compare(*compose_scenarios(args.set, args.scenarios), progress=True)
    except ConfigError as error:
        print(f"tpn-sim-compare: error: {error}", file=sys.stderr)
        return 2
    finally:
        log.disabled = False
    print(comparison.to_markdown(), "", *comparison.sentences, sep="\n")
    for line in comparison.warnings:
        print(f"warning: {line}")
    if args.out:
        write_csv(comparison.table, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
