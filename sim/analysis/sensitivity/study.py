"""A sensitivity study's design: its settings, factors and sample, and the jobs that run it.

A study (`SensitivityConfig`) names its factors: calibrated parameters, which vary over the
central 95% of their posterior marginal, and assumptions, which vary over a range the study
gives with its reason. SALib draws a Sobol (Saltelli) sample, or Morris trajectories for a cheap
first screening, over that box. Every sample point is one scenario run for the TPN and for
outside experts at the same budget, each with the study's replications on the same seeds at
every point (common random numbers), so that the points differ by their factors only.

The points are dealt to `chunks` jobs (point p to chunk p mod chunks): a sweep over
`sensitivity.chunk` and `network` is an ordinary Hydra sweep, which any launcher runs and which
resumes at the first incomplete job. Each job's summary carries its points' index and factor
values; sim.analysis.sensitivity.indices turns them into indices. This module decides what a
job computes, so a job's store key covers it (SOURCES); the analysis can change freely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import ClassVar

import numpy as np
import pandas as pd
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample

from sim.config import ConfigError, Validated, chosen, doc, param
from sim.core.posterior import kept, read_posterior, with_values
from sim.core.run import run_summaries
from sim.core.scenario import ScenarioConfig, declared
from sim.results.store import MODEL_SOURCES
from sim.results.tables import Results

PEERS, EXPERTS = "tpn", "external_expert"
# A study job's tables depend on its sampling too: its store key covers this module.
SOURCES = [*MODEL_SOURCES, "analysis/sensitivity/study.py"]


class Method(StrEnum):
    """`none`: an ordinary run; `sobol`: Sobol indices; `morris`: Morris elementary effects."""

    none = "none"
    sobol = "sobol"
    morris = "morris"


def default_calibrated() -> list[str]:
    return [
        "learning.peer_contact_rate",
        "learning.exchange_visit_rate",
        "learning.expert_visit_rate",
        "learning.coaching_rate",
        "learning.leadership_weight",
        "network.expert_fit",
    ]


@dataclass
class Span:
    """A factor that is an assumption: its key and the range it is varied over. A list of
    these, unlike a mapping, is replaced whole by a Hydra override, so a study's factors are
    exactly those it lists."""

    key: str
    low: float
    high: float


def default_assumed() -> list[Span]:
    """The assumptions' ranges; docs/ODD.md 7.19 gives each one's reason."""
    return [
        Span("learning.expert_contact_rate", 0.0, 0.2),  # out of touch .. the twins' contact
        Span("network.expert_level", 75.0, 98.0),  # above most baselines, by how much unknown
        Span("kickoff.max_mentees", 2, 8),  # how far a mentor's attention is shared
        Span("learning.virtual_factor", 0.2, 0.8),  # worth of a virtual session
        Span("learning.peer_motivation", 0.0, 0.3),  # how much similar peers motivate
        Span("learning.mentor_share", 0.0, 0.3),  # what mentors learn by teaching
        Span("population.capacity_spread", 0.5, 2.0),  # pre-existing capacity in the network
        Span("population.leadership_mean", 0.3, 0.9),  # senior leadership engagement
    ]


@dataclass
class SensitivityConfig(Validated):
    """A sensitivity study over the scenario (docs/ODD.md 7.19), or `method: none`."""

    section: ClassVar[str] = "sensitivity"
    method: Method = field(
        default=Method.none,
        metadata=doc(
            "",
            "`none`, `sobol` or `morris`",
            "user choice",
            "`sobol`: first-order and total Sobol indices; `morris`: elementary effects, a "
            "cheap screening; `none`: an ordinary run",
        ),
    )
    samples: int = param(
        128,
        2,
        1_000_000,
        "base samples (Sobol) or trajectories (Morris)",
        "assumption: enough for intervals of about +-0.1 on total indices; Sobol needs a power "
        "of 2",
        "Sobol runs samples x (factors + 2) points; Morris samples x (factors + 1)",
    )
    levels: int = param(
        4, 2, 100, "grid levels", "SALib's default for Morris", "levels of the Morris grid"
    )
    chunks: int = param(
        16,
        1,
        1_000_000,
        "jobs per design",
        "user choice: enough jobs for the launcher's workers",
        "the jobs the points are dealt to",
    )
    chunk: int = param(
        0, 0, 999_999, "job index", "swept by the experiment", "which chunk of points this job runs"
    )
    calibrated: list[str] = field(
        default_factory=default_calibrated,
        metadata=doc(
            "dotted keys",
            "keys of the calibration's posterior",
            "7.19: the calibrated parameters that set peers' and experts' strength",
            "factors varied over the central 95% of their posterior marginal",
            shown="6 keys (7.19)",
        ),
    )
    assumed: list[Span] = field(
        default_factory=default_assumed,
        metadata=doc(
            "`{key, low, high}` entries",
            "numeric keys, inside their declared range",
            "7.19: each range's reason",
            "factors that are assumptions, with the range each is varied over",
            shown="8 keys (7.19)",
        ),
    )

    def check(self, section: str) -> None:
        self.method = chosen(Method, self.method, f"{section}.method")
        if self.chunk >= self.chunks:
            raise ConfigError(
                f"{section}.chunk={self.chunk} is invalid: allowed 0 to chunks - 1 "
                f"({self.chunks - 1})"
            )
        if self.method == Method.sobol and self.samples & (self.samples - 1):
            raise ConfigError(
                f"{section}.samples={self.samples} is invalid: allowed a power of 2 for sobol"
            )
        keys = [*self.calibrated, *(span.key for span in self.assumed)]
        for i, span in enumerate(self.assumed):
            if not span.low < span.high:
                raise ConfigError(
                    f"{section}.assumed[{i}]={span.key}: [{span.low:g}, {span.high:g}] is "
                    "invalid: allowed low < high"
                )
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            raise ConfigError(
                f"{section} names {repeated[0]} twice: allowed each factor once (calibrated "
                "or assumed)"
            )
        if self.method != Method.none and not keys:
            raise ConfigError(
                f"{section} has no factors: allowed calibrated or assumed keys to vary"
            )


@dataclass
class JobConfig(ScenarioConfig):
    """What one `tpn-sim` job runs: the scenario, or one chunk of a sensitivity study of it."""

    sensitivity: SensitivityConfig = field(default_factory=SensitivityConfig)

    def check(self, section: str) -> None:
        super().check(section)
        study = self.sensitivity
        if study.method != Method.none:
            points = point_count(study, len(factors(self, study)))
            if study.chunks > points:
                raise ConfigError(
                    f"sensitivity.chunks={study.chunks} is invalid: allowed at most the "
                    f"study's {points} points"
                )

    def scenario(self) -> ScenarioConfig:
        """The scenario alone, without the study."""
        return ScenarioConfig(**{f.name: getattr(self, f.name) for f in fields(ScenarioConfig)})


@dataclass(frozen=True)
class Factor:
    key: str
    low: float
    high: float
    integer: bool  # sampled on [low, high + 1) and floored: each integer equally likely
    source: str


def factors(config: ScenarioConfig, study: SensitivityConfig) -> list[Factor]:
    """The study's factors with their ranges, each checked against the key's declared range."""
    bounds = {span.key: (float(span.low), float(span.high)) for span in study.assumed}
    if study.calibrated:
        posterior = read_posterior(config.calibration.posterior)
        unknown = sorted(set(study.calibrated) - set(posterior.keys))
        if unknown:
            raise ConfigError(
                f"sensitivity.calibrated names {unknown}, not in the posterior: allowed "
                f"{posterior.keys}"
            )
        ranges = posterior.quantiles([0.025, 0.975])
        bounds = {key: tuple(ranges.loc[key]) for key in study.calibrated} | bounds
    space = []
    for key, (low, high) in bounds.items():
        kind, declared_low, declared_high = declaration(key)
        if not declared_low <= low < high <= declared_high:
            raise ConfigError(
                f"sensitivity factor {key}=[{low:g}, {high:g}] is invalid: allowed inside its "
                f"declared range [{declared_low:g}, {declared_high:g}]"
            )
        source = "posterior 95%" if key in study.calibrated else "assumption"
        space.append(Factor(key, low, high, kind is int, source))
    return space


def declaration(key: str) -> tuple[type, float, float]:
    """A numeric key's type and declared range; `topic.<name>.<field>` (a posterior's key) is
    the topic's field in every type that has it."""
    path = re.sub(r"^topic\.", "population.types.any.topics.", key)
    try:
        kind, found = declared(path)
    except KeyError as error:
        raise ConfigError(f"sensitivity factor {error.args[0]}: allowed a numeric key") from None
    if "range" not in found.metadata:
        raise ConfigError(f"sensitivity factor {key} is invalid: allowed a numeric key")
    return kind, *found.metadata["range"]


def problem(space: list[Factor]) -> dict:
    """SALib's problem: names and bounds (integers' upper bound widened by one to floor)."""
    return {
        "num_vars": len(space),
        "names": [f.key for f in space],
        "bounds": [[f.low, f.high + 1 if f.integer else f.high] for f in space],
    }


def sample(study: SensitivityConfig, space: list[Factor], seed: int) -> np.ndarray:
    """The study's points (rows) in factor units, integers floored; the same for every job."""
    if study.method == Method.sobol:
        raw = sobol_sample.sample(problem(space), study.samples, calc_second_order=False, seed=seed)
    elif study.method == Method.morris:
        raw = morris_sample.sample(problem(space), study.samples, study.levels, seed=seed)
    else:
        raise ConfigError("sensitivity.method=none is invalid here: allowed sobol or morris")
    integer = np.array([f.integer for f in space])
    raw[:, integer] = np.minimum(np.floor(raw[:, integer]), [f.high for f in space if f.integer])
    return raw


def run_chunk(job: JobConfig) -> Results:
    """This job's points, each run with the scenario's replications and root seed, as one
    summary table with the point's index and factor values on every row."""
    config, study = job.scenario(), job.sensitivity
    space = factors(config, study)
    points = sample(study, space, config.seed)
    keys = [f.key for f in space]
    base = kept(config, set(keys))  # factors are set per point, never drawn from the posterior
    frames = []
    for point in range(study.chunk, len(points), study.chunks):
        values = {
            f.key: int(v) if f.integer else float(v)
            for f, v in zip(space, points[point], strict=True)
        }
        summary = run_summaries(with_values(base, values))
        frames.append(summary.assign(point=point, **values))
    empty = pd.DataFrame()
    summary = pd.concat(frames, ignore_index=True)
    return Results(panel=empty, ties=empty, events=empty, summary=summary)


def point_count(study: SensitivityConfig, factor_count: int) -> int:
    """How many points the study's sample holds (SALib's Saltelli and Morris designs)."""
    per_sample = factor_count + (2 if study.method == Method.sobol else 1)
    return study.samples * per_sample
