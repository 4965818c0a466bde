"""Calibrated parameters as data: set them on a config, and draw them from a posterior.

A posterior (sim.analysis.calibration) is a weighted sample of parameter sets stored as a CSV, one
column per dotted config key and a `weight` column. With `calibration.sample=posterior` every model
draws its set from the replication seed alone, so a replication, its no-programme twin and every
design run with that seed share one parameter set: comparisons stay paired, and serial and parallel
runs agree.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from functools import cache, cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config import ROOT, ConfigError, PopulationConfig, Sample, representative
from sim.core.scenario import ScenarioConfig

SHIPPED = ROOT / "configs/calibration/posterior.csv"
log = logging.getLogger(__name__)


def with_values(config: ScenarioConfig, values: dict[str, object]) -> ScenarioConfig:
    """`config` with dotted keys set (validated like any config): `section.field`, or
    `topic.<name>.<field>` for a topic area's baseline distribution. Each section is replaced,
    and so validated, once: replications draw a set each, and this is on their path."""
    fields: dict[str, dict[str, object]] = {}
    for key, value in values.items():
        section, *rest = key.split(".")
        if section == "topic":
            name, field = rest
            fields.setdefault("topic", {}).setdefault(name, {})[field] = value
        else:
            [field] = rest
            fields.setdefault(section, {})[field] = value
    changes = {
        section: replace(getattr(config, section), **new)
        for section, new in fields.items()
        if section != "topic"
    }
    if "topic" in fields:
        changes["population"] = with_topics(
            changes.get("population", config.population), fields["topic"]
        )
    return replace(config, **changes) if changes else config


def with_topics(pop: PopulationConfig, topics: dict[str, dict[str, object]]) -> PopulationConfig:
    """Set topics' baseline fields in every type that has the topic."""
    types = {
        kind: replace(
            spec,
            topics=spec.topics
            | {
                name: replace(spec.topics[name], **new)
                for name, new in topics.items()
                if name in spec.topics
            },
        )
        if topics.keys() & spec.topics.keys()
        else spec
        for kind, spec in pop.types.items()
    }
    return replace(pop, types=types)


def topic_owners(config: ScenarioConfig, name: str) -> list[str]:
    """The institution types that have topic `name`."""
    return [kind for kind, spec in config.population.types.items() if name in spec.topics]


def value_of(config: ScenarioConfig, key: str) -> float:
    section, *rest = key.split(".")
    if section == "topic":
        name, field = rest
        kind = topic_owners(config, name)[0]
        return getattr(config.population.types[kind].topics[name], field)
    return getattr(getattr(config, section), rest[0])


@dataclass(frozen=True)
class Posterior:
    """Weighted parameter sets (columns: the priors' keys, and `weight` summing to 1)."""

    particles: pd.DataFrame

    @cached_property
    def keys(self) -> list[str]:
        return [c for c in self.particles.columns if c != "weight"]

    @cached_property
    def cumulative(self) -> np.ndarray:
        """The weights' cumulative distribution, as numpy's `choice(p=weights)` makes it."""
        cdf = self.particles["weight"].to_numpy(float).cumsum()
        return cdf / cdf[-1]

    def index(self, seed: int) -> int:
        """The set drawn, by weight, for replication `seed`, from a generator seeded by it only:
        what `rng.choice(sets, p=weights)` draws, without re-checking the weights every time."""
        rng = np.random.default_rng([seed, 0x9E3779B9])  # a stream apart from the model's
        return int(self.cumulative.searchsorted(rng.random(), side="right"))

    @cached_property
    def matrix(self) -> np.ndarray:
        """(sets, keys) values: a set is read once per replication, so not through pandas."""
        return self.particles[self.keys].to_numpy(float)

    def values(self, index: int) -> dict[str, float]:
        return dict(zip(self.keys, self.matrix[index].tolist(), strict=True))

    def draw(self, seed: int) -> dict[str, float]:
        """The parameter set for replication `seed`."""
        return self.values(self.index(seed))

    def quantiles(self, q: list[float]) -> pd.DataFrame:
        """Weighted quantiles of every parameter (rows: keys, columns: q)."""
        weights = self.particles["weight"].to_numpy()
        rows = {}
        for key in self.keys:
            order = np.argsort(self.particles[key].to_numpy())
            values = self.particles[key].to_numpy()[order]
            cumulative = np.cumsum(weights[order]) - weights[order] / 2
            rows[key] = np.interp(q, cumulative / weights.sum(), values)
        return pd.DataFrame(rows, index=q).T


@cache
def _read(path: Path, size: int, mtime: float) -> Posterior:
    try:
        particles = pd.read_csv(path)
    except (OSError, pd.errors.ParserError) as error:
        raise ConfigError(f"calibration.posterior={path}: not readable ({error})") from None
    weights = particles.get("weight")
    if (
        weights is None
        or not np.isfinite(weights).all()
        or (weights < 0).any()
        or not weights.sum()
    ):
        raise ConfigError(
            f"calibration.posterior={path}: its weight column is missing or invalid: allowed "
            "non-negative numbers with a positive sum"
        )
    return Posterior(particles.assign(weight=weights / weights.sum()))


def read_posterior(path: str | Path = "") -> Posterior:
    """A posterior CSV (the shipped one for ""), read once per file version."""
    path = Path(path) if path else SHIPPED
    if not path.is_file():
        raise ConfigError(f"calibration.posterior={path}: no such file: allowed a posterior CSV")
    stat = path.stat()
    return _read(path.resolve(), stat.st_size, stat.st_mtime)


def kept(config: ScenarioConfig, keys: set[str]) -> ScenarioConfig:
    """With `calibration.sample=posterior`, the calibrated ones among `keys` (values someone set
    on purpose: an ablation, a swept value) added to `calibration.fixed`, so they are not drawn."""
    if config.calibration.sample != Sample.posterior:
        return config
    calibrated = keys & set(read_posterior(config.calibration.posterior).keys)
    fixed = sorted(set(config.calibration.fixed) | calibrated)
    return replace(config, calibration=replace(config.calibration, fixed=fixed))


class Draws:
    """The configurations of a scenario's replications: `config` with its calibrated
    parameters drawn for each replication seed. Each posterior set is applied, and so
    validated, once however many replications draw it."""

    def __init__(self, config: ScenarioConfig) -> None:
        self.config = config
        self.sets: dict[int, ScenarioConfig] = {}
        calibration = config.calibration
        self.posterior = None
        if calibration.sample == Sample.posterior:
            self.posterior = read_posterior(calibration.posterior)
            unknown = sorted(set(calibration.fixed) - set(self.posterior.keys))
            if unknown:
                raise ConfigError(
                    f"calibration.fixed names {unknown}, not calibrated: allowed "
                    f"{self.posterior.keys}"
                )
            for key, value in overwritten(config, self.posterior.keys).items():
                warn_once(
                    f"{key}={value!r} is replaced by the posterior's draws in every replication "
                    "(calibration.sample=posterior): list it in calibration.fixed to keep it"
                )

    def __call__(self, seed: int) -> tuple[ScenarioConfig, int | None]:
        """The configuration of replication `seed` (with nothing left to draw) and the index of
        its posterior set, or `config` unchanged and None when it samples no posterior. Keys
        listed in `calibration.fixed` keep their configured values."""
        if self.posterior is None:
            return self.config, None
        index = self.posterior.index(seed)
        if index not in self.sets:
            fixed = self.config.calibration.fixed
            values = {k: v for k, v in self.posterior.values(index).items() if k not in fixed}
            config = with_values(self.config, values)
            point = replace(config.calibration, sample=Sample.point)
            self.sets[index] = replace(config, calibration=point)
        return self.sets[index], index


def overwritten(config: ScenarioConfig, keys: list[str]) -> dict[str, float]:
    """The calibrated parameters among `keys` set to a value of their own (not the
    representative set's default) and not listed in `calibration.fixed`: draws replace them,
    which the user who set them must be told (the command line and option files list theirs)."""
    fixed = set(config.calibration.fixed)
    values = {k: value_of(config, k) for k in keys if k not in fixed and present(config, k)}
    return {k: v for k, v in values.items() if v != representative().get(k, v)}


def present(config: ScenarioConfig, key: str) -> bool:
    """Whether the configuration has calibrated parameter `key` (a topic needs a type)."""
    section, name, *_ = key.split(".")
    return section != "topic" or bool(topic_owners(config, name))


@cache
def warn_once(message: str) -> None:
    """Log a warning once per process (every model of a scenario draws anew)."""
    log.warning("%s", message)


def drawn(config: ScenarioConfig, seed: int) -> tuple[ScenarioConfig, int | None]:
    """`config` with its calibrated parameters drawn for replication `seed` (Draws)."""
    return Draws(config)(seed)
