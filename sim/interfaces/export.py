"""`tpn-sim-export`: write a scenario's drawn members, pairs and calendar as the files that
`population=from_file`, `network=from_file` and `schedule=from_file` read.

A user starts from what the model drew (say, Rwanda's 40 members in replication 0) and edits it:
their own scores, their own pairs, their own calendar. Loaded back unchanged, the files give the
same results for the same seed, because they hold every value the model drew.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config import ConfigError
from sim.core.model import TwinningModel
from sim.core.population import TRAITS, Population
from sim.core.run import replication_seeds
from sim.interfaces.hydra_config import compose_scenario
from sim.results.store import write_csv


def institutions_frame(pop: Population) -> pd.DataFrame:
    """One line per member: identity, traits, and per topic its baseline and interest."""
    frame = pd.DataFrame(
        {
            "id": pop.ids,
            "name": pop.names,
            "type": [pop.kinds[k] for k in pop.kind],
            "province": pop.province,
            "group": [pop.groups[g] for g in pop.event_group],
        }
    )
    for trait in TRAITS:
        frame[trait] = getattr(pop, trait)
    for prefix, values in (("kpi", pop.capacity), ("interest", pop.interest)):
        for k, topic in enumerate(pop.topics):
            frame[f"{prefix}.{topic}"] = np.where(pop.applies[:, k], values[:, k], np.nan)
    return frame


def pairs_frame(model: TwinningModel) -> pd.DataFrame:
    """The design's peer ties as pairs, then the goals no peer serves as lines without a teacher
    (outside experts are not members, so their ties are goals without a peer teacher)."""
    ties, pop = model.ties, model.pop
    peer = ~model.is_expert
    served = np.zeros_like(model.kickoff.goals)
    served[ties.learner[peer], ties.topic[peer]] = True
    alone_learner, alone_topic = np.nonzero(model.kickoff.goals & ~served)
    ids, topics = np.array(pop.ids, dtype=object), np.array(pop.topics, dtype=object)
    learner = np.concatenate([ties.learner[peer], alone_learner])
    return pd.DataFrame(
        {
            "learner": ids[learner],
            "teacher": [*ids[ties.mentor[peer]], *[""] * len(alone_learner)],
            "topic": topics[np.concatenate([ties.topic[peer], alone_topic])],
            "both_ways": False,
            "intensity": np.concatenate([ties.weight[peer], np.ones(len(alone_learner))]),
        }
    )


def calendar_frame(model: TwinningModel) -> pd.DataFrame:
    """Every scheduled event, exchange visits included, month by month."""
    rows = [
        (month, e.kind.value, e.mode.value, e.group)
        for month in sorted(model.plan)
        for e in model.plan[month]
    ]
    return pd.DataFrame(rows, columns=["month", "kind", "mode", "group"])


def export(model: TwinningModel, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    frames = {
        "institutions.csv": institutions_frame(model.pop),
        "pairs.csv": pairs_frame(model),
        "calendar.csv": calendar_frame(model),
    }
    for name, frame in frames.items():
        write_csv(frame, folder / name)
    return [folder / name for name in frames]


def replication_index(text: str) -> int:
    if not text.isdigit() or int(text) >= 100_000:
        raise argparse.ArgumentTypeError(f"{text!r} is invalid: allowed an integer in [0, 99999]")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tpn-sim-export",
        description="Write a scenario's drawn institutions, twinning pairs and calendar as CSV "
        "files to edit and load back (population=from_file, network=from_file, "
        "schedule=from_file).",
        epilog="Example: tpn-sim-export --out results/my_network "
        "population=rwanda_with_health_centres",
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, as for tpn-sim")
    parser.add_argument("--out", default="results/export", help="folder (default: %(default)s)")
    parser.add_argument(
        "--run",
        type=replication_index,
        default=0,
        metavar="R",
        help="which replication's draw to export, 0-99999 (default: 0)",
    )
    args = parser.parse_args(argv)
    try:
        config = compose_scenario(args.overrides)
        seed = replication_seeds(config.seed, args.run + 1)[args.run]
        written = export(TwinningModel(config, seed), Path(args.out))
    except (ConfigError, OSError) as error:
        print(f"tpn-sim-export: error: {error}", file=sys.stderr)
        return 2
    print(f"replication {args.run} (seed {seed}) of the scenario written to:")
    for path in written:
        print(f"  {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
