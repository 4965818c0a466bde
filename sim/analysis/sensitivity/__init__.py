"""Global sensitivity: which uncertain assumptions decide peers versus outside experts
(docs/ODD.md 7.19). `study` is what the jobs run (in their store key), `indices` the analysis."""

from sim.analysis.sensitivity.indices import (
    OUTPUTS,
    directions,
    figure,
    indices,
    outputs,
    ranked,
)
from sim.analysis.sensitivity.study import (
    EXPERTS,
    PEERS,
    SOURCES,
    Factor,
    JobConfig,
    Method,
    SensitivityConfig,
    Span,
    factors,
    point_count,
    problem,
    run_chunk,
    sample,
)

__all__ = [
    "EXPERTS",
    "OUTPUTS",
    "PEERS",
    "SOURCES",
    "Factor",
    "JobConfig",
    "Method",
    "SensitivityConfig",
    "Span",
    "directions",
    "factors",
    "figure",
    "indices",
    "outputs",
    "point_count",
    "problem",
    "ranked",
    "run_chunk",
    "sample",
]
