"""Time the TPN model against Mesa's bundled virus_on_network example, in the same process.

Method (as in Mesa's own benchmarks): for each seed, build and run the model several times and
keep the fastest set-up and the fastest run; report the median over seeds. Both models run 18
steps (the programme's months); with `--large`, also 10,000 members and nodes for 60 steps, one
try (Mesa 3.5's virus_on_network then spends minutes on its network's spring layout). Prints a
table; makes no assertion.

    python benchmarks/bench_model.py [--seeds 20] [--repeats 5] [--large]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import replace

import mesa
from mesa.examples.basic.virus_on_network.model import VirusOnNetwork

from sim.config import ProvinceSpec
from sim.core.model import TwinningModel
from sim.core.scenario import ScenarioConfig


def fastest(
    make: Callable[[int], mesa.Model], seed: int, steps: int, repeats: int
) -> tuple[float, float]:
    """Fastest set-up and fastest run of `steps` steps, in seconds, over `repeats` tries."""
    setups, runs = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        model = make(seed)
        built = time.perf_counter()
        for _ in range(steps):
            model.step()
        setups.append(built - start)
        runs.append(time.perf_counter() - built)
    return min(setups), min(runs)


def measure(
    make: Callable[[int], mesa.Model], seeds: int, steps: int, repeats: int
) -> tuple[float, float]:
    """Median over seeds of the fastest set-up and run."""
    pairs = [fastest(make, seed, steps, repeats) for seed in range(seeds)]
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def scaled(config: ScenarioConfig, factor: int) -> ScenarioConfig:
    """The Rwanda network copied `factor` times per province (a synthetic large network)."""
    hospitals = config.population.types["hospital"].count * factor
    provinces = [
        ProvinceSpec(
            p.name,
            [f"{d} {i + 1}" for i in range(factor) for d in p.districts],
            p.event_group,
            {"hospital": hospitals},
        )
        for p in config.population.provinces
    ]
    return replace(config, population=replace(config.population, provinces=provinces))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--large", action="store_true")
    args = parser.parse_args()
    config = ScenarioConfig()
    print(
        f"{'model':<24}{'agents':>8}{'steps':>6}{'setup ms':>11}{'run ms':>10}{'total ms':>11}"
        f"{'ratio':>7}{'steps ratio':>12}"
    )
    sizes = [(1, 18, args.seeds, args.repeats), (10, 18, 5, 3), (50, 18, 2, 2)]
    for factor, steps, seeds, repeats in sizes + ([(250, 60, 1, 1)] if args.large else []):
        cfg = replace(scaled(config, factor), schedule=replace(config.schedule, followup_months=42))
        n = 40 * factor
        ours = measure(lambda s, c=cfg: TwinningModel(c, s), seeds, steps, repeats)
        virus = measure(lambda s, n=n: VirusOnNetwork(num_nodes=n, rng=s), seeds, steps, repeats)
        for name, (setup, run) in (("virus_on_network", virus), ("twinning-sim (tpn)", ours)):
            print(
                f"{name:<24}{n:>8}{steps:>6}{setup * 1e3:>11.2f}{run * 1e3:>10.2f}"
                f"{(setup + run) * 1e3:>11.2f}{(setup + run) / sum(virus):>7.2f}"
                f"{run / virus[1]:>12.2f}"
            )


if __name__ == "__main__":
    main()
