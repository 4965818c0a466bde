"""The model core: the population, its agents, the learning rule, the network designs, the
calendar and budget, the model itself, its outcome measures, and running replications.

Imports sim.config, the data input (sim.data) and the results tables (sim.results); nothing
here knows of analysis or interfaces. Its code decides a run's results, so it is what the
results store fingerprints (sim.results.store.MODEL_SOURCES).
"""
