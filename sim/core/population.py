"""Draw the member institutions and their baseline traits as arrays.

Every institution has a latent capacity shared by all its topics, so strengths correlate across
topics, and a resource level correlated with that latent capacity (richer institutions perform
better). Arrays are (institution,) or (institution, topic) with one topic axis for all types;
`applies` marks the cells that exist (the topics of each member's type). Members are laid out from
the configured provinces and types, or read from an institutions file (sim.data.inputs), whose given
values replace the drawn ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logit, ndtr

from sim.config import PopulationConfig
from sim.data.inputs import Institutions, read_institutions

# Member traits on a 0-1 scale: drawn below, read from a users' institutions file when given,
# written by the exporter, and shown by the agent (sim.core.agents.Institution). A new trait is one
# more name here, its draw in build_population, a Population field and an agent property.
TRAITS = ("resource", "leadership", "motivation", "time")


@dataclass
class Population:
    """Baseline state of the network; the model copies and then evolves the mutable parts."""

    ids: list[str]
    names: list[str]
    kind: np.ndarray  # (N,) index into `kinds`
    kinds: list[str]  # the declared institution types
    may_teach: np.ndarray  # (T, T) bool: type a may mentor type b
    province: list[str]
    event_group: np.ndarray  # (N,) index into `groups`
    groups: list[str]
    topics: list[str]  # (K,) the topics of the types present, in declared order
    applies: np.ndarray  # (N, K) bool
    capacity: np.ndarray  # (N, K) true baseline capacity, 0-100
    typical: np.ndarray  # (N, K) the mean baseline of the member's type
    spread: np.ndarray  # (N, K) the baseline sd of the member's type
    trend: np.ndarray  # (N, K) secular trend, points/month
    resource: np.ndarray  # (N,) quantile 0-1
    leadership: np.ndarray  # (N,) 0-1
    motivation: np.ndarray  # (N,) 0-1
    time: np.ndarray  # (N,) 0-1
    interest: np.ndarray  # (N, K) leadership's interest per topic, 0-1

    @property
    def size(self) -> int:
        return len(self.names)


@dataclass
class Layout:
    """Who the members are, before any trait is drawn."""

    ids: list[str]
    names: list[str]
    kind: np.ndarray
    province: list[str]
    group: list[str]
    groups: list[str]  # every event group, in order


def draw_beta(rng: np.random.Generator, mean: float, concentration: float, size) -> np.ndarray:
    """Beta draws parameterised by mean and concentration (a + b), the form priors are stated in."""
    return rng.beta(mean * concentration, (1 - mean) * concentration, size)


def draw_interest(
    rng: np.random.Generator, leadership: np.ndarray, n_topics: int, sd: float
) -> np.ndarray:
    """Topic interest scatters around the leadership's overall engagement on the logit scale."""
    base = logit(np.clip(leadership, 1e-6, 1 - 1e-6))[:, None]
    return expit(base + sd * rng.standard_normal((len(leadership), n_topics)))


def configured_layout(cfg: PopulationConfig) -> Layout:
    """Members from the provinces and types of the configuration, numbered in layout order.

    The event groups are those with members, as for an institutions file: a province without
    members (every type's count 0 there) adds no group, so no event is held for nobody (7.13) and an
    exported calendar names only groups that its institutions file has."""
    kinds = list(cfg.types)
    names, kind, province, group = [], [], [], []
    for p, type_name, members in cfg.layout():
        names += members
        kind += [kinds.index(type_name)] * len(members)
        province += [p.name] * len(members)
        group += [p.event_group] * len(members)
    width = len(str(len(names)))
    ids = [f"{i + 1:0{width}d}" for i in range(len(names))]
    groups = list(dict.fromkeys(group))
    return Layout(ids, names, np.array(kind, dtype=np.int64), province, group, groups)


def file_layout(cfg: PopulationConfig, data: Institutions) -> Layout:
    frame = data.frame
    kind = frame["type"].map({k: i for i, k in enumerate(cfg.types)}).to_numpy(np.int64)
    return Layout(
        frame["id"].tolist(),
        frame["name"].tolist(),
        kind,
        frame["province"].tolist(),
        frame["group"].tolist(),
        data.groups,
    )


def type_tables(cfg: PopulationConfig, topics: list[str]) -> dict[str, np.ndarray]:
    """(T, K) tables of each type's topic baselines: whether it applies, mean, sd, trend."""
    shape = (len(cfg.types), len(topics))
    tables = {key: np.zeros(shape) for key in ("mean", "sd", "trend")}
    tables["applies"] = np.zeros(shape, dtype=bool)
    for t, spec in enumerate(cfg.types.values()):
        for name, topic in spec.topics.items():
            if name in topics:
                k = topics.index(name)
                tables["applies"][t, k] = True
                tables["mean"][t, k] = topic.baseline_mean
                tables["sd"][t, k] = topic.baseline_sd
                tables["trend"][t, k] = topic.trend_per_year
    return tables


def teaching(cfg: PopulationConfig) -> np.ndarray:
    """(T, T) who may mentor whom: a type its own members, and the types it `mentors`."""
    kinds = list(cfg.types)
    allowed = np.eye(len(kinds), dtype=bool)
    for a, spec in enumerate(cfg.types.values()):
        allowed[a, [kinds.index(b) for b in spec.mentors]] = True
    return allowed


def build_population(cfg: PopulationConfig, rng: np.random.Generator) -> Population:
    """Lay out the members (from the configuration or its institutions file), then draw their
    traits; values given in the file replace the drawn ones."""
    data = read_institutions(cfg.path, cfg, TRAITS) if cfg.path else None
    layout = file_layout(cfg, data) if data else configured_layout(cfg)
    present = {list(cfg.types)[k] for k in np.unique(layout.kind)}
    topics = [t for t in cfg.topic_names() if any(t in cfg.types[k].topics for k in present)]
    table = type_tables(cfg, topics)
    kind, n, k = layout.kind, len(layout.names), len(topics)
    applies = table["applies"][kind]

    latent = rng.standard_normal(n)
    own = rng.standard_normal((n, k))
    z = np.sqrt(cfg.latent_share) * latent[:, None] + np.sqrt(1 - cfg.latent_share) * own
    typical = np.where(applies, table["mean"][kind], 0.0)
    sd = np.where(applies, cfg.capacity_spread * table["sd"][kind], 0.0)
    capacity = np.where(applies, np.clip(typical + sd * z, 0, 100), 0.0)
    trend = np.where(applies, table["trend"][kind] / 12, 0.0)

    r = cfg.resource_latent_correlation
    traits = {  # in TRAITS' order
        "resource": ndtr(r * latent + np.sqrt(1 - r**2) * rng.standard_normal(n)),
        "leadership": draw_beta(rng, cfg.leadership_mean, cfg.trait_concentration, n),
        "motivation": draw_beta(rng, cfg.motivation_mean, cfg.trait_concentration, n),
        "time": draw_beta(rng, cfg.time_mean, cfg.trait_concentration, n),
    }
    if data:
        capacity = data.given("kpi", topics, capacity)
        traits = {name: data.given(name, None, drawn) for name, drawn in traits.items()}
    interest = draw_interest(rng, traits["leadership"], k, cfg.interest_sd)
    if data:
        interest = data.given("interest", topics, interest)
    groups = layout.groups
    return Population(
        ids=layout.ids,
        names=layout.names,
        kind=kind,
        kinds=list(cfg.types),
        may_teach=teaching(cfg),
        province=layout.province,
        event_group=np.array([groups.index(g) for g in layout.group], dtype=np.int64),
        groups=groups,
        topics=topics,
        applies=applies,
        capacity=capacity,
        typical=typical,
        spread=sd,
        trend=trend,
        **traits,
        interest=np.where(applies, interest, 0.0),
    )
