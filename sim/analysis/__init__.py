"""Analysis across runs: outcomes in words and units, rankings, paired comparisons, calibration
(ABC), validation against programmes the model was not fitted to, the article's tables, figures.

Imports the layers below (sim.config, sim.data, sim.results, sim.core), never sim.interfaces.
"""
