"""twinning-sim: an agent-based model of peer learning in Rwanda's Twinning Partnership Network.

The package is layered; a module imports only from its own layer and the layers below:

    sim.interfaces   command lines, what-if page, Hydra configuration, report, ODD tables
    sim.analysis     outcomes in words, ranking, comparisons, calibration, validation, figures
    sim.core         population, agents, learning rule, designs, calendar, budget, model, runs
    sim.data         users' own files, read and checked    sim.results   tables and their store
    sim.config       every parameter with its default, unit, range and source

What the README and the notebooks use is here: `sim.run_scenario`, `sim.compare`,
`sim.ScenarioConfig`, `sim.TwinningModel`, `sim.compose_scenario`, the results store
(`sim.results.load`) and the figures (`sim.plots`).
"""

import importlib
from types import ModuleType

from sim import results
from sim.analysis.compare import Comparison, compare
from sim.config import ConfigError
from sim.core.model import TwinningModel
from sim.core.run import run_scenario
from sim.core.scenario import ScenarioConfig
from sim.interfaces.hydra_config import compose_scenario
from sim.results import Results

__all__ = [
    "Comparison",
    "ConfigError",
    "Results",
    "ScenarioConfig",
    "TwinningModel",
    "compare",
    "compose_scenario",
    "plots",
    "results",
    "run_scenario",
]


def __getattr__(name: str) -> ModuleType:
    """`sim.plots` on first use: seaborn and matplotlib take a second and a half to import, which
    every worker process of a sweep would pay without drawing anything."""
    if name == "plots":
        return importlib.import_module("sim.analysis.plots")
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
