"""Time the calibration's unit of work and the external validation of a programme.

One ABC candidate simulates one programme three ways (the TPN, outreach by experts, routine
supervision: sim.analysis.calibration.STUDIES), each against the counterfactual its run records
(before issue 10 a fourth run, a no-programme twin, gave it); the calibration's time is
that unit times the number of candidates it needs (the last run's is in
configs/calibration/posterior.json). A validation runs a programme folder over many replications,
each drawing its parameters from the posterior. Prints figures; asserts nothing.

    python benchmarks/bench_calibration.py [--candidates 200] [--replications 200]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from sim.analysis.calibration import simulate
from sim.analysis.validation import predict, read_programme
from sim.core.posterior import read_posterior, with_values
from sim.core.run import replication_seeds, run_scenario
from sim.core.scenario import ScenarioConfig
from sim.interfaces.hydra_config import compose_scenario

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--replications", type=int, default=200)
    args = parser.parse_args()

    posterior, config = read_posterior(), ScenarioConfig()
    seeds = replication_seeds(1, args.candidates)
    start = time.perf_counter()
    for seed in seeds:
        simulate(with_values(config, posterior.draw(seed)), seed)
    per_candidate = (time.perf_counter() - start) / args.candidates
    run = json.loads((ROOT / "configs/calibration/posterior.json").read_text())["generations"]
    needed = sum(g["simulations"] for g in run)
    print(f"ABC candidate (one programme, 3 model runs): {per_candidate * 1000:.1f} ms on 1 core")
    print(
        f"last calibration: {needed:,} candidates = {needed * per_candidate / 60:.1f} min on 1 "
        f"core at this speed; recorded {sum(g['minutes'] for g in run):.1f} min on 2 cores"
    )

    for case in sorted((ROOT / "experiments/validation").iterdir()):
        if not case.is_dir():
            continue
        start = time.perf_counter()
        programme = read_programme(case)
        settings = [*programme.settings(case), "calibration.sample=posterior"]
        scenario = compose_scenario([*settings, f"replications={args.replications}", "seed=1"])
        predict(run_scenario(scenario).panel, programme.observations)
        seconds = time.perf_counter() - start
        print(f"validation {case.name}: {args.replications} replications in {seconds:.1f} s")


if __name__ == "__main__":
    main()
