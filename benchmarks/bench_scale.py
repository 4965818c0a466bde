"""National scale: set-up, 60 months and peak memory of one TwinningModel as the network grows,
the default scenario's replications per second, and sweeps of 2,000 and 10,000 replications on
1 and 2 joblib workers, with the fixed cost that bounds their speed-up. Prints tables; makes no
assertion (benchmarks/BASELINE.md has the method).

Each size runs in a fresh process, so that its peak memory (maximum resident set) is its own.
Larger networks copy Rwanda's districts and hospitals per province (bench_model.scaled).

    python benchmarks/bench_scale.py [--sizes 2000 10000 100000] [--seeds 3] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

HERE = Path(__file__).resolve().parent
MONTHS = 60


def one_size(members: int, seeds: int, repeats: int) -> dict[str, float]:
    """In this process: fastest set-up and run of several tries per seed, median over seeds."""
    from bench_model import scaled

    from sim.core.model import TwinningModel
    from sim.core.scenario import ScenarioConfig

    base = ScenarioConfig()
    config = scaled(base, members // 40)
    config = replace(config, schedule=replace(config.schedule, followup_months=MONTHS - 18))
    setups, runs = [], []
    for seed in range(seeds):
        tries = []
        for _ in range(repeats):
            start = time.perf_counter()
            model = TwinningModel(config, seed)
            built = time.perf_counter()
            model.run()
            tries.append((built - start, time.perf_counter() - built))
            del model
        setups.append(min(t[0] for t in tries))
        runs.append(min(t[1] for t in tries))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    return {
        "members": members,
        "setup_s": statistics.median(setups),
        "run_s": statistics.median(runs),
        "peak_gib": peak / 2**30,
    }


def sizes_table(sizes: list[int], seeds: int, repeats: int) -> None:
    print(f"{'members':>10}{'set-up s':>10}{'60 months s':>13}{'total s':>10}{'peak GiB':>10}")
    rows = []
    for members in sizes:
        many = members >= 50_000  # one try of one seed: minutes, not hours
        args = [str(members), "1" if many else str(seeds), "1" if many else str(repeats)]
        done = subprocess.run(
            [sys.executable, __file__, "--one", *args],
            capture_output=True,
            text=True,
            check=True,
            cwd=HERE,
        )
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        total = row["setup_s"] + row["run_s"]
        print(
            f"{members:>10,}{row['setup_s']:>10.2f}{row['run_s']:>13.2f}{total:>10.2f}"
            f"{row['peak_gib']:>10.2f}"
        )
    for small, large in pairwise(rows):
        factor = large["members"] / small["members"]
        time_ratio = (large["setup_s"] + large["run_s"]) / (small["setup_s"] + small["run_s"])
        print(
            f"{small['members']:,} -> {large['members']:,} ({factor:.0f}x members): time "
            f"{time_ratio:.1f}x, memory {large['peak_gib'] / small['peak_gib']:.1f}x"
        )


def replications_per_second(replications: int) -> None:
    """The default scenario through run_scenario, tables included, on one core."""
    from sim.core.run import run_scenario
    from sim.core.scenario import ScenarioConfig

    run_scenario(ScenarioConfig(replications=20))  # warm: imports, posterior, caches
    start = time.perf_counter()
    run_scenario(ScenarioConfig(replications=replications))
    seconds = time.perf_counter() - start
    print(
        f"\nrun_scenario, default scenario, {replications} replications with tables: "
        f"{seconds:.2f} s, {replications / seconds:.0f} replications/s on one core"
    )


def sweep_speedup(replications: int) -> dict[int, float]:
    """A 2-job sweep (tpn and outside experts) through Hydra's joblib launcher, 1 and 2
    workers, summaries only; each in a fresh folder so nothing is skipped as done."""
    tpn_sim = Path(sys.executable).parent / "tpn-sim"
    times = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            subprocess.run(
                [
                    str(tpn_sim),
                    "-m",
                    "network=tpn,external_expert",
                    f"replications={replications // 2}",
                    "collect=summary",
                    "hydra/launcher=joblib",
                    f"hydra.launcher.n_jobs={workers}",
                ],
                cwd=folder,
                capture_output=True,
                check=True,
            )
            times[workers] = time.perf_counter() - start
    print(
        f"sweep of {replications:,} replications (2 jobs): 1 worker {times[1]:.1f} s, "
        f"2 workers {times[2]:.1f} s, speed-up {times[1] / times[2]:.2f}x"
    )
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, 10_000, 100_000])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--sweeps", type=int, nargs="+", default=[2_000, 10_000])
    parser.add_argument("--one", type=int, nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_size(*args.one)))
        return
    print(f"TwinningModel x {MONTHS} months, {os.cpu_count()} cores")
    sizes_table(args.sizes, args.seeds, args.repeats)
    replications_per_second(1_000)
    fixed = sweep_speedup(2)  # the command's own start-up, composition and workers' start
    print(
        f"  (fixed cost: {fixed[1]:.1f} s in process, {fixed[2]:.1f} s with 2 workers: a sweep "
        f"of W seconds' work can speed up at most (W + {fixed[1]:.1f}) / (W/2 + {fixed[2]:.1f}))"
    )
    for replications in args.sweeps:
        sweep_speedup(replications)


if __name__ == "__main__":
    main()
