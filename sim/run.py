"""Run a scenario over many replications, each beside its no-programme counterfactual.

Replication seeds are spawned from the root seed with numpy's SeedSequence, so replication r has the
same seed however the replications are split across processes or machines.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from sim.config import ScenarioConfig
from sim.metrics import summarise
from sim.model import TwinningModel
from sim.tables import Results, events_frame, panel_frame, ties_frame

log = logging.getLogger(__name__)


def replication_seeds(root: int, replications: int) -> list[int]:
    """Independent 63-bit seeds, one per replication, derived only from the root seed."""
    children = np.random.SeedSequence(root).spawn(replications)
    return [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children]


def counterfactual_of(config: ScenarioConfig) -> ScenarioConfig:
    """The same scenario with no programme: what the members would have done anyway."""
    return replace(config, network=replace(config.network, design="none"))


def run_pair(config: ScenarioConfig, run: int, seed: int) -> tuple[TwinningModel, dict]:
    """One replication and its counterfactual twin: the model and its summary row."""
    model = TwinningModel(config, seed).run()
    twin = TwinningModel(counterfactual_of(config), seed).run()
    drew = {} if model.particle is None else {"particle": model.particle}  # its posterior set
    ids = {"run": run, "seed": seed} | drew | {"design": config.network.label}
    return model, ids | summarise(model, twin)


def run_replication(config: ScenarioConfig, run: int, seed: int) -> Results:
    """One replication's tables; its summary compares it with its counterfactual twin."""
    model, row = run_pair(config, run, seed)
    return Results(
        panel_frame(model, run),
        ties_frame(model, run),
        events_frame(model, run),
        pd.DataFrame([row]),
    )


def run_summaries(config: ScenarioConfig) -> pd.DataFrame:
    """Only the summary rows of `config.replications` replications: the fast path for
    calibration and sensitivity studies, which need no panel."""
    seeds = replication_seeds(config.seed, config.replications)
    return pd.DataFrame([run_pair(config, run, seed)[1] for run, seed in enumerate(seeds)])


def run_scenario(config: ScenarioConfig | None = None, progress: bool = False) -> Results:
    """Run `config.replications` replications (default: the Rwanda TPN scenario) as tables."""
    config = config or ScenarioConfig()
    seeds = replication_seeds(config.seed, config.replications)
    quiet = None if progress else True  # None: a bar on terminals only
    bar = tqdm(enumerate(seeds), total=len(seeds), desc="replications", disable=quiet)
    parts = [run_replication(config, run, seed) for run, seed in bar]
    results = Results(
        *(
            pd.concat([getattr(p, name) for p in parts], ignore_index=True)
            for name in ("panel", "ties", "events", "summary")
        )
    )
    warn_unmatched(results)
    warn_unspent(results, config)
    return results


def warn_unmatched(results: Results) -> None:
    """Say that some goals found no teacher: they run on without one, as they would in reality."""
    lost = int((results.ties["status"] == "unmatched").sum())
    if lost:
        runs = len(results.summary)
        log.warning(
            "%.1f goal(s) per replication (%d in %d replications) found no higher-performing peer "
            "with room to mentor and run unmatched (ties table, status 'unmatched')",
            lost / runs,
            lost,
            runs,
        )


def warn_unspent(results: Results, config: ScenarioConfig) -> None:
    """Say when a budget could not be spent: the schedule holds too few visits to scale up (say,
    no exchange visits scheduled, or no twins), so the design is compared at a lower spend."""
    budget = config.costs.budget
    spent = results.summary["total_cost"].mean()
    if budget and spent and spent < 0.9 * budget:
        log.warning(
            "design %r spent %.0f of its costs.budget=%.0f USD on average: its schedule has no "
            "visits to buy with the rest (see docs/ODD.md 7.4)",
            config.network.design,
            spent,
            budget,
        )
