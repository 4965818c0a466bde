"""Time a scenario read from users' files against the same network drawn by the model.

A 5,000-member network (Rwanda's copied 125 times per province: 1,250 hospitals, 3,750 district
teams) is drawn once and written out with tpn-sim-export: 5,000 institutions and their pairs (two
goals each, about 10,000 lines). Then 100 replications (summaries, each with its no-programme
twin) run twice: from the files (population, pairs and calendar read and validated once per
process), and drawn by the model with the `random` design, which wires the same number of ties
without reading a file. Prints figures; asserts nothing.

    python benchmarks/bench_inputs.py [--replications 100] [--factor 125]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
from bench_model import scaled

from sim.core.model import TwinningModel
from sim.core.population import TRAITS
from sim.core.run import replication_seeds, run_summaries
from sim.core.scenario import ScenarioConfig
from sim.data.inputs import clear_cache, read_institutions
from sim.interfaces.export import export


def timed(run) -> tuple[float, object]:
    start = time.perf_counter()
    out = run()
    return time.perf_counter() - start, out


def from_folder(config: ScenarioConfig, folder: Path) -> ScenarioConfig:
    population = replace(config.population, path=str(folder / "institutions.csv"))
    network = replace(config.network, design="from_file", path=str(folder / "pairs.csv"))
    schedule = replace(config.schedule, path=str(folder / "calendar.csv"), exchange_visit_every=0)
    return replace(config, population=population, network=network, schedule=schedule)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=100)
    parser.add_argument("--factor", type=int, default=125)
    args = parser.parse_args()
    base = replace(scaled(ScenarioConfig(), args.factor), replications=args.replications)
    drawn = replace(base, network=replace(base.network, design="random"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        seed = replication_seeds(base.seed, 1)[0]
        export_s, _ = timed(lambda: export(TwinningModel(base, seed), folder))
        files = from_folder(base, folder)
        rows = len(pd.read_csv(folder / "institutions.csv"))
        pairs = len(pd.read_csv(folder / "pairs.csv"))
        read_s, _ = timed(
            lambda: read_institutions(files.population.path, files.population, TRAITS)
        )
        clear_cache()  # the file run below reads and validates everything itself
        file_s, file_rows = timed(lambda: run_summaries(files))
        drawn_s, drawn_rows = timed(lambda: run_summaries(drawn))
    print(f"network: {rows:,} institutions, {pairs:,} pair lines; {args.replications} replications")
    print(f"{'':<44}{'seconds':>10}{'per replication ms':>20}")
    for name, seconds, reps in (
        ("export (draw, match with tpn, write CSV)", export_s, 0),
        ("read and validate the institutions file", read_s, 0),
        ("from files (institutions, pairs, calendar)", file_s, args.replications),
        ("drawn by the model (random design)", drawn_s, args.replications),
    ):
        per = f"{seconds / reps * 1e3:>20.1f}" if reps else f"{'':>20}"
        print(f"{name:<44}{seconds:>10.2f}{per}")
    ties = (file_rows["goals"].mean(), drawn_rows["goals"].mean())
    print(f"goals per replication: {ties[0]:,.0f} from files, {ties[1]:,.0f} drawn")
    print(f"ratio from files / drawn: {file_s / drawn_s:.2f} (aim: at most 2)")


if __name__ == "__main__":
    main()
