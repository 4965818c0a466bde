"""Which uncertain assumptions decide whether peers beat outside experts: global sensitivity.

A study (`SensitivityConfig`) names its factors: calibrated parameters, which vary over the
central 95% of their posterior marginal, and assumptions, which vary over a range the study
gives with its reason. SALib draws a Sobol (Saltelli) sample, or Morris trajectories for a cheap
first screening, over that box. Every sample point is one scenario run for the TPN and for
outside experts at the same budget, each with the study's replications on the same seeds at
every point (common random numbers), so that the points differ by their factors only.

The points are dealt to `chunks` jobs (point p to chunk p mod chunks): a sweep over
`sensitivity.chunk` and `network` is an ordinary Hydra sweep, which any launcher runs and which
resumes at the first incomplete job. Each job's summary carries its points' index and factor
values; `indices` turns the jobs' summaries into first-order and total indices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import ClassVar

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from SALib.analyze import morris as morris_analysis
from SALib.analyze import sobol as sobol_analysis
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample

from sim.config import ConfigError, Validated, doc, param
from sim.core.posterior import kept, read_posterior, with_values
from sim.core.run import run_summaries
from sim.core.scenario import ScenarioConfig, declared
from sim.results.store import MODEL_SOURCES
from sim.results.tables import Results

PEERS, EXPERTS = "tpn", "external_expert"
# What each point reports, as means over its replications (columns of sim.core.metrics).
OUTPUTS = {
    "accreditation_estimate": "article's estimator, accreditation (TPN)",
    "cbhi_coverage_estimate": "article's estimator, CBHI coverage (TPN)",
    "mean_effect": "true programme effect (TPN)",
    "peers_minus_experts": "TPN minus external experts, true effect at equal budget",
    "bottom_quartile_gain": "gain of the bottom quartile (TPN)",
    "cost_per_point": "cost per point gained (TPN)",
}
CONFIDENCE = 0.95
RESAMPLES = 1000  # bootstrap resamples of SALib's confidence intervals
# A study job's tables depend on its sampling too: its store key covers this module.
SOURCES = [*MODEL_SOURCES, "analysis/sensitivity.py"]


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


def default_assumed() -> dict[str, list[float]]:
    """The assumptions' ranges; docs/ODD.md 7.19 gives each one's reason."""
    return {
        "learning.expert_contact_rate": [0.0, 0.2],  # out of touch .. the twins' own contact
        "network.expert_level": [75.0, 98.0],  # above most baselines, by how much unknown
        "kickoff.max_mentees": [2, 8],  # how far a mentor's attention is shared
        "learning.virtual_factor": [0.2, 0.8],  # worth of a virtual session
        "learning.peer_motivation": [0.0, 0.3],  # how much similar peers motivate
        "learning.mentor_share": [0.0, 0.3],  # what mentors learn by teaching
        "population.capacity_spread": [0.5, 2.0],  # pre-existing capacity in the network
        "population.leadership_mean": [0.3, 0.9],  # senior leadership engagement
    }


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
    assumed: dict[str, list[float]] = field(
        default_factory=default_assumed,
        metadata=doc(
            "dotted key: [low, high]",
            "numeric keys, inside their declared range",
            "7.19: each range's reason",
            "factors that are assumptions, with the range each is varied over",
            shown="8 keys (7.19)",
        ),
    )

    def check(self, section: str) -> None:
        if self.method not in set(Method):
            raise ConfigError(
                f"{section}.method={self.method!r} is invalid: allowed {[m.value for m in Method]}"
            )
        self.method = Method(self.method)
        if self.chunk >= self.chunks:
            raise ConfigError(
                f"{section}.chunk={self.chunk} is invalid: allowed 0 to chunks - 1 "
                f"({self.chunks - 1})"
            )
        if self.method == Method.sobol and self.samples & (self.samples - 1):
            raise ConfigError(
                f"{section}.samples={self.samples} is invalid: allowed a power of 2 for sobol"
            )
        for key, bounds in self.assumed.items():
            if len(bounds) != 2 or not bounds[0] < bounds[1]:
                raise ConfigError(
                    f"{section}.assumed.{key}={list(bounds)} is invalid: allowed [low, high] "
                    "with low < high"
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
    space = []
    if study.calibrated:
        posterior = read_posterior(config.calibration.posterior)
        unknown = sorted(set(study.calibrated) - set(posterior.keys))
        if unknown:
            raise ConfigError(
                f"sensitivity.calibrated names {unknown}, not in the posterior: allowed "
                f"{posterior.keys}"
            )
        ranges = posterior.quantiles([0.025, 0.975])
        space += [
            Factor(key, *ranges.loc[key], integer=False, source="posterior 95%")
            for key in study.calibrated
        ]
    space += [
        Factor(key, *map(float, b), is_int(key), "assumption") for key, b in study.assumed.items()
    ]
    for f in space:
        low, high = declared_range(f.key)
        if not low <= f.low < f.high <= high:
            raise ConfigError(
                f"sensitivity factor {f.key}=[{f.low:g}, {f.high:g}] is invalid: allowed inside "
                f"its declared range [{low:g}, {high:g}]"
            )
    return space


def is_int(key: str) -> bool:
    return declared_type(key) is int


def declared_type(key: str) -> type:
    try:
        return declared(key)[0]
    except KeyError as error:
        raise ConfigError(f"sensitivity factor {error.args[0]}: allowed a numeric key") from None


def declared_range(key: str) -> tuple[float, float]:
    """A factor's declared range; a topic's own keys (`topic.<name>.<field>`) are not factors."""
    declared_type(key)
    found = declared(key)[1]
    if "range" not in found.metadata:
        raise ConfigError(f"sensitivity factor {key} is invalid: allowed a numeric key")
    return found.metadata["range"]


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


def outputs(summary: pd.DataFrame) -> pd.DataFrame:
    """Per point (rows, in point order): each of OUTPUTS, as the mean over its replications;
    the difference of designs is taken seed by seed first. Undefined values (a topic nobody
    chose in a replication) are left out of a mean, and a point with none defined is refused."""
    by_design = {
        d: s.set_index(["point", "seed"]).sort_index() for d, s in summary.groupby("design")
    }
    missing = {PEERS, EXPERTS} - by_design.keys()
    if missing:
        raise ConfigError(
            f"the study's runs lack design(s) {sorted(missing)}: allowed a sweep over "
            f"network={PEERS},{EXPERTS}"
        )
    peers, experts = by_design[PEERS], by_design[EXPERTS]
    if not peers.index.equals(experts.index):
        raise ConfigError("the two designs' runs differ in points or seeds: run both in full")
    table = peers[[k for k in OUTPUTS if k in peers]].assign(
        peers_minus_experts=peers["mean_effect"] - experts["mean_effect"]
    )
    means = table.groupby(level="point").mean()[list(OUTPUTS)]
    undefined = means.columns[means.isna().any()].tolist()
    if undefined:
        point = int(means.index[means[undefined[0]].isna()][0])
        raise ConfigError(
            f"{undefined[0]} is undefined in every replication of point {point}: allowed "
            "outputs defined at every point (raise replications, or leave the output out)"
        )
    return means


def indices(
    study: SensitivityConfig,
    space: list[Factor],
    points: np.ndarray,
    means: pd.DataFrame,
    seed: int,
) -> pd.DataFrame:
    """Tidy indices: one row per output, factor and index, with its 95% confidence interval
    (SALib's bootstrap). Sobol: `S1` (first order) and `ST` (total); Morris: `mu_star` (mean
    absolute elementary effect, in the output's unit) and `sigma` (its spread: interactions)."""
    if len(means) != len(points) or not (means.index == np.arange(len(points))).all():
        raise ConfigError(
            f"the study's runs hold {len(means)} of its {len(points)} points: allowed a complete "
            "study (run the sweep again to finish it)"
        )
    rows = []
    spec = problem(space)
    for output in OUTPUTS:
        y = means[output].to_numpy(float)
        if study.method == Method.sobol:
            found = sobol_analysis.analyze(
                spec,
                y,
                calc_second_order=False,
                num_resamples=RESAMPLES,
                conf_level=CONFIDENCE,
                seed=seed,
            )
            pairs = {"S1": ("S1", "S1_conf"), "ST": ("ST", "ST_conf")}
        else:
            found = morris_analysis.analyze(
                spec,
                points,
                y,
                num_resamples=RESAMPLES,
                conf_level=CONFIDENCE,
                num_levels=study.levels,
                seed=seed,
            )
            pairs = {"mu_star": ("mu_star", "mu_star_conf"), "sigma": ("sigma", None)}
        for index, (value, conf) in pairs.items():
            for i, f in enumerate(space):
                half = found[conf][i] if conf else math.nan
                rows.append(
                    {
                        "output": output,
                        "factor": f.key,
                        "index": index,
                        "value": float(found[value][i]),
                        "ci_low": float(found[value][i] - half),
                        "ci_high": float(found[value][i] + half),
                    }
                )
    return pd.DataFrame(rows)


def ranked(table: pd.DataFrame) -> pd.DataFrame:
    """Per output, the factors from most to least influential (total index, or mu_star)."""
    lead = "ST" if "ST" in set(table["index"]) else "mu_star"
    order = table[table["index"] == lead].sort_values(["output", "value"], ascending=[True, False])
    return order[["output", "factor", "value", "ci_low", "ci_high"]].rename(columns={"value": lead})


def figure(table: pd.DataFrame) -> Figure:
    """One panel per output: each factor's indices with their 95% intervals."""
    grid = sns.catplot(
        table,
        kind="bar",
        x="value",
        y="factor",
        hue="index",
        col="output",
        col_wrap=3,
        errorbar=None,
        height=3.6,
        aspect=1.0,
        sharex=False,
    )
    for output, ax in grid.axes_dict.items():
        shown = table[table["output"] == output]
        for bar, (_, row) in zip(ax.patches, shown.iterrows(), strict=False):
            y = bar.get_y() + bar.get_height() / 2
            ax.plot([row["ci_low"], row["ci_high"]], [y, y], color="black", lw=1)
        ax.set_title(OUTPUTS[output], fontsize="small")
        ax.set(xlabel="index (95% interval)", ylabel="")
    grid.figure.suptitle("Which assumptions decide the outcomes", y=1.02)
    return grid.figure
