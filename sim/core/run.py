"""Run a scenario over many replications, each measured against its own counterfactual.

Replication seeds are spawned from the root seed with numpy's SeedSequence, so replication r has the
same seed however the replications are split across processes or machines.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from sim.config import Collect, revalidate
from sim.core.collect import Collector
from sim.core.memory import check_memory
from sim.core.metrics import summarise
from sim.core.model import Reporter, TwinningModel
from sim.core.posterior import Draws
from sim.core.scenario import ScenarioConfig
from sim.results.tables import Results

log = logging.getLogger(__name__)


def replication_seeds(root: int, replications: int) -> list[int]:
    """Independent 63-bit seeds, one per replication, derived only from the root seed."""
    children = np.random.SeedSequence(root).spawn(replications)
    return [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children]


def run_replication(
    draws: Draws, run: int, seed: int, **reporters: dict[str, Reporter] | None
) -> tuple[TwinningModel, dict]:
    """One replication of the scenario `draws` configures: the finished model and its summary
    row."""
    config, particle = draws(seed)
    model = TwinningModel(config, seed, **reporters).run()
    drew = {} if particle is None else {"particle": particle}  # its posterior set
    ids = {"run": run, "seed": seed} | drew | {"design": config.network.label}
    return model, ids | summarise(model)


def run_scenario(
    config: ScenarioConfig | None = None,
    progress: bool = False,
    *,
    model_reporters: dict[str, Reporter] | None = None,
    agent_reporters: dict[str, Reporter] | None = None,
    done: Callable[[int], None] | None = None,
) -> Results:
    """Run `config.replications` replications (default: the Rwanda TPN scenario) as tables,
    and warn of goals without a teacher and of budgets left unspent.

    Reporters are Mesa DataCollector reporters, collected monthly: a name and an attribute
    name or a function of the model (`model_reporters`, added to the defaults of
    sim.core.model.monthly_reporters) or of an `Institution` (`agent_reporters`); they come back as
    the tidy tables `model_vars` and `agent_vars`. `done` is called with the number of
    replications finished after each one (an app's progress bar); an exception it raises
    stops the run (a cancel button), and nothing is returned."""
    config = config or ScenarioConfig()
    reporters = {"model_reporters": model_reporters, "agent_reporters": agent_reporters}
    results = replicate(config, progress, done, **reporters)
    warn_unmatched(results.summary)
    warn_unspent(results.summary, config)
    return results


def run_summaries(config: ScenarioConfig) -> pd.DataFrame:
    """Only the summary rows, without warnings: the fast path for calibration, comparisons and
    sensitivity studies, which report on their own."""
    return replicate(replace(config, collect=Collect.summary)).summary


def replicate(
    config: ScenarioConfig,
    progress: bool = False,
    done: Callable[[int], None] | None = None,
    **reporters: dict[str, Reporter] | None,
) -> Results:
    """The replications' tables; a run that cannot fit in memory is refused before it starts
    (sim.core.memory), and so is one changed since it was built into something invalid."""
    revalidate(config)
    check_memory(config)
    seeds = replication_seeds(config.seed, config.replications)
    quiet = None if progress else True  # None: a bar on terminals only
    bar = tqdm(enumerate(seeds), total=len(seeds), desc="replications", disable=quiet)
    collector, draws = Collector(config.collect), Draws(config)
    for run, seed in bar:
        collector.add(*run_replication(draws, run, seed, **reporters), run=run)
        if done is not None:
            done(run + 1)
    return collector.results(config.network.label)


def warn_unmatched(summary: pd.DataFrame) -> None:
    """Say that some goals found no teacher: they run on without one, as they would in reality."""
    lost = int(summary["unmatched_goals"].sum())
    if lost:
        runs = len(summary)
        log.warning(
            "%.1f goal(s) per replication (%d in %d replications) found no higher-performing peer "
            "with room to mentor and run unmatched (ties table, status 'unmatched')",
            lost / runs,
            lost,
            runs,
        )


def warn_unspent(summary: pd.DataFrame, config: ScenarioConfig) -> None:
    """Say when a budget could not be spent: the schedule holds too few visits to scale up (say,
    no exchange visits scheduled, or no twins), so the design is compared at a lower spend."""
    budget = config.costs.budget
    spent = summary["total_cost"].mean()
    if budget and spent and spent < 0.9 * budget:
        log.warning(
            "design %r spent %.0f of its costs.budget=%.0f USD on average: its schedule has no "
            "visits to buy with the rest (see docs/ODD.md 7.4)",
            config.network.design,
            spent,
            budget,
        )
