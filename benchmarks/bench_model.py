"""Time the TPN model against Mesa's bundled virus_on_network example, in the same process.

Method (as in Mesa's own benchmarks): for each seed, build and run the model several times and
keep the fastest set-up and the fastest run; report the mean over seeds. Both models run
18 steps (the programme's months). Prints a table; makes no assertion.

    python benchmarks/bench_model.py [--seeds 20] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import replace

import mesa
from mesa.examples.basic.virus_on_network.model import VirusOnNetwork

from sim.config import ProvinceSpec, ScenarioConfig
from sim.model import TwinningModel
from sim.run import run_scenario

STEPS = 18


def fastest(make: Callable[[int], mesa.Model], seed: int, repeats: int) -> tuple[float, float]:
    """Fastest set-up and fastest run of STEPS steps, in seconds, over `repeats` tries."""
    setups, runs = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        model = make(seed)
        built = time.perf_counter()
        for _ in range(STEPS):
            model.step()
        setups.append(built - start)
        runs.append(time.perf_counter() - built)
    return min(setups), min(runs)


def measure(make: Callable[[int], mesa.Model], seeds: int, repeats: int) -> tuple[float, float]:
    pairs = [fastest(make, seed, repeats) for seed in range(seeds)]
    return tuple(sum(p[i] for p in pairs) / len(pairs) for i in (0, 1))


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
    args = parser.parse_args()
    config = ScenarioConfig()
    print(f"{'model':<28}{'agents':>8}{'setup ms':>10}{'run ms':>10}{'total ms':>10}{'ratio':>8}")
    for factor in (1, 10, 50):
        cfg = scaled(config, factor)
        n = 40 * factor
        seeds = max(2, args.seeds // factor)
        ours = measure(lambda s, c=cfg: TwinningModel(c, s), seeds, args.repeats)
        virus = measure(lambda s, n=n: VirusOnNetwork(num_nodes=n, rng=s), seeds, args.repeats)
        for name, (setup, run) in (("virus_on_network", virus), ("twinning-sim (tpn)", ours)):
            ratio = (setup + run) / sum(virus)
            print(
                f"{name:<28}{n:>8}{setup * 1e3:>10.2f}{run * 1e3:>10.2f}"
                f"{(setup + run) * 1e3:>10.2f}{ratio:>8.2f}"
            )
    start = time.perf_counter()
    reps = 500
    run_scenario(replace(config, replications=reps))
    per_rep = (time.perf_counter() - start) / reps
    print(
        f"\nfull replication of the default scenario (30 months, with its counterfactual "
        f"and tidy tables): {per_rep * 1e3:.2f} ms, {1 / per_rep:.0f} replications/s on one core"
    )


if __name__ == "__main__":
    main()
