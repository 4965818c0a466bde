"""twinning-sim: an agent-based model of peer learning in Rwanda's Twinning Partnership Network."""

from sim.config import ConfigError, ScenarioConfig
from sim.model import TwinningModel
from sim.run import run_scenario
from sim.tables import Results

__all__ = ["ConfigError", "Results", "ScenarioConfig", "TwinningModel", "run_scenario"]
