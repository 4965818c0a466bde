"""The results: a scenario's tidy tables (sim.results.tables) and the store that keeps them on
disk, one folder per run, found again by its configuration (sim.results.store).

Knows nothing of the model: imports only sim.config. `sim.results.load` reads a run or a sweep.
"""

from sim.results.store import load, read_table, runs
from sim.results.tables import Results, describe, markdown

__all__ = ["Results", "describe", "load", "markdown", "read_table", "runs"]
