"""Draw the member institutions and their baseline traits as arrays.

Every institution has a latent capacity shared by all its topics, so strengths correlate across
topics, and a resource level correlated with that latent capacity (richer institutions perform
better). Arrays are (institution,) or (institution, topic) with one topic axis for both types;
`applies` marks the cells that exist (hospital topics for hospitals, district topics for districts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logit, ndtr

from sim.config import PopulationConfig

KINDS = ("hospital", "district")


@dataclass
class Population:
    """Baseline state of the network; the model copies and then evolves the mutable parts."""

    names: list[str]
    kind: np.ndarray  # (N,) 0 = hospital, 1 = district
    province: list[str]
    event_group: np.ndarray  # (N,) index into `groups`
    groups: list[str]
    topics: list[str]  # (K,) hospital topics then district topics
    topic_kind: np.ndarray  # (K,) the type each topic belongs to
    applies: np.ndarray  # (N, K) bool
    capacity: np.ndarray  # (N, K) true baseline capacity, 0-100
    trend: np.ndarray  # (N, K) secular trend, points/month
    resource: np.ndarray  # (N,) quantile 0-1
    leadership: np.ndarray  # (N,) 0-1
    motivation: np.ndarray  # (N,) 0-1
    time: np.ndarray  # (N,) 0-1
    interest: np.ndarray  # (N, K) leadership's interest per topic, 0-1

    @property
    def size(self) -> int:
        return len(self.names)


def draw_beta(rng: np.random.Generator, mean: float, concentration: float, size) -> np.ndarray:
    """Beta draws parameterised by mean and concentration (a + b), the form priors are stated in."""
    return rng.beta(mean * concentration, (1 - mean) * concentration, size)


def draw_interest(
    rng: np.random.Generator, leadership: np.ndarray, n_topics: int, sd: float
) -> np.ndarray:
    """Topic interest scatters around the leadership's overall engagement on the logit scale."""
    base = logit(np.clip(leadership, 1e-6, 1 - 1e-6))[:, None]
    return expit(base + sd * rng.standard_normal((len(leadership), n_topics)))


def build_population(cfg: PopulationConfig, rng: np.random.Generator) -> Population:
    """Lay out the members province by province (hospitals first), then draw their traits."""
    names, kind, province, group = [], [], [], []
    groups = cfg.event_groups()
    for p in cfg.provinces:
        members = [(f"{p.name} hospital {i + 1}", 0) for i in range(p.hospitals)]
        members += [(f"{d} district", 1) for d in p.districts]
        for name, k in members:
            names.append(name)
            kind.append(k)
            province.append(p.name)
            group.append(groups.index(p.event_group))
    kind_arr = np.array(kind, dtype=np.int8)
    specs = cfg.hospital_topics + cfg.district_topics
    n, k = len(names), len(specs)
    topic_kind = np.array([0] * len(cfg.hospital_topics) + [1] * len(cfg.district_topics))
    applies = kind_arr[:, None] == topic_kind[None, :]

    latent = rng.standard_normal(n)
    own = rng.standard_normal((n, k))
    z = np.sqrt(cfg.latent_share) * latent[:, None] + np.sqrt(1 - cfg.latent_share) * own
    mean = np.array([t.baseline_mean for t in specs])
    sd = cfg.capacity_spread * np.array([t.baseline_sd for t in specs])
    capacity = np.where(applies, np.clip(mean + sd * z, 0, 100), 0.0)
    trend = np.where(applies, np.array([t.trend_per_year for t in specs]) / 12, 0.0)

    r = cfg.resource_latent_correlation
    resource = ndtr(r * latent + np.sqrt(1 - r**2) * rng.standard_normal(n))
    leadership = draw_beta(rng, cfg.leadership_mean, cfg.trait_concentration, n)
    return Population(
        names=names,
        kind=kind_arr,
        province=province,
        event_group=np.array(group, dtype=np.int64),
        groups=groups,
        topics=[t.name for t in specs],
        topic_kind=topic_kind,
        applies=applies,
        capacity=capacity,
        trend=trend,
        resource=resource,
        leadership=leadership,
        motivation=draw_beta(rng, cfg.motivation_mean, cfg.trait_concentration, n),
        time=draw_beta(rng, cfg.time_mean, cfg.trait_concentration, n),
        interest=np.where(applies, draw_interest(rng, leadership, k, cfg.interest_sd), 0.0),
    )
