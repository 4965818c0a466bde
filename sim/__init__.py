"""twinning-sim: an agent-based model of peer learning in Rwanda's Twinning Partnership Network.

What the README and the notebooks use is here: `sim.run_scenario`, `sim.compare`,
`sim.ScenarioConfig`, `sim.TwinningModel`, the results store (`sim.results.load`) and the
figures (`sim.plots`).
"""

from sim import plots, results
from sim.compare import Comparison, compare
from sim.config import ConfigError, ScenarioConfig
from sim.model import TwinningModel
from sim.run import run_scenario
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
