"""twinning-sim: an agent-based model of peer learning in Rwanda's Twinning Partnership Network.

What the README and the notebooks use is here: `sim.run_scenario`, `sim.compare`,
`sim.ScenarioConfig`, `sim.TwinningModel`, the results store (`sim.results.load`) and the
figures (`sim.plots`).
"""

import importlib
from types import ModuleType

from sim import results
from sim.compare import Comparison, compare
from sim.config import ConfigError
from sim.model import TwinningModel
from sim.run import run_scenario
from sim.scenario import ScenarioConfig
from sim.tables import Results

__all__ = [
    "Comparison",
    "ConfigError",
    "Results",
    "ScenarioConfig",
    "TwinningModel",
    "compare",
    "plots",
    "results",
    "run_scenario",
]


def __getattr__(name: str) -> ModuleType:
    """`sim.plots` on first use: seaborn and matplotlib take a second and a half to import, which
    every worker process of a sweep would pay without drawing anything."""
    if name == "plots":
        return importlib.import_module("sim.plots")
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
