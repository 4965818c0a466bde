"""A whole scenario's configuration: the sections of sim.config, and the network section
assembled from the designs' own parameters (sim.core.designs).

This module sits above both, so that sim.config knows no design and a design declares its
parameters in its own module: whatever designs the package holds, their parameters are keys of
the network section under their own names (`network.n_experts`), validated and documented like
any other.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import Field, dataclass, field, fields, is_dataclass, make_dataclass
from typing import Any, get_args, get_origin, get_type_hints

from sim.config import (
    CalibrationConfig,
    Collect,
    ConfigError,
    CostConfig,
    KickoffConfig,
    LearningConfig,
    PopulationConfig,
    ScheduleConfig,
    Validated,
    chosen,
    doc,
    param,
)
from sim.core.designs.base import DESIGNS, DesignChoice, NetworkDesign


def network_schema(designs: Collection[type[NetworkDesign]]) -> type[DesignChoice]:
    """The network section's dataclass: `design` (the article's by default), then each design's
    parameters as declared. Designs may share a parameters class, never a key: a key has one
    declaration, so one meaning."""
    names = ", ".join(f"`{d.name}`" for d in designs)
    design = field(default="tpn", metadata=doc("", f"one of {names}", "", "network design (7.3)"))
    specs: list[tuple[str, Any, Field]] = [("design", str, design)]
    owners = {"design": DesignChoice.__name__}
    for declared in dict.fromkeys(d.parameters for d in designs if d.parameters is not None):
        types = get_type_hints(declared)
        for f in fields(declared):
            if f.name in owners:
                raise TypeError(
                    f"network.{f.name} is declared by {owners[f.name]} and {declared.__name__}: "
                    "a key of the network section has one declaration"
                )
            owners[f.name] = declared.__name__
            copy = field(default=f.default, default_factory=f.default_factory, metadata=f.metadata)
            specs.append((f.name, types[f.name], copy))
    return make_dataclass("NetworkConfig", specs, bases=(DesignChoice,), module=__name__)


NetworkConfig = network_schema(list(DESIGNS.values()))


@dataclass
class ScenarioConfig(Validated):
    """A whole scenario: population, kick-off, design, learning, schedule, costs, replications."""

    population: PopulationConfig = field(default_factory=PopulationConfig)
    kickoff: KickoffConfig = field(default_factory=KickoffConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    learning: LearningConfig = field(default_factory=LearningConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    costs: CostConfig = field(default_factory=CostConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    headline_topics: list[str] = field(
        default_factory=lambda: ["accreditation", "cbhi_coverage"],
        metadata=doc(
            "topic names",
            "topics of any declared type",
            "article: the two reported results",
            "topics for which the estimator and true effect are reported",
        ),
    )
    seed: int = param(
        20210801,
        0,
        2**63 - 1,
        "integer",
        "any; fixes every random draw (the default spells the start date 2021-08-01)",
        "root seed of the replication seeds",
    )
    replications: int = param(
        100,
        1,
        10_000_000,
        "runs",
        "assumption: enough for 95% intervals",
        "number of replications, each measured against its counterfactual",
    )
    collect: Collect = field(
        default=Collect.all,
        metadata=doc(
            "",
            "`all` or `summary`",
            "user choice",
            "`all`: every table; `summary`: one summary row per replication (very large runs)",
        ),
    )

    def check(self, section: str) -> None:
        self.collect = chosen(Collect, self.collect, "collect")
        pop, goals = self.population, self.kickoff.goals_per_institution
        present = {kind for _, kind, names in pop.layout() if names} if not pop.path else set()
        for kind, spec in pop.types.items():
            if kind in present and goals > len(spec.topics):
                raise ConfigError(
                    f"kickoff.goals_per_institution={goals} is invalid: allowed at most "
                    f"{len(spec.topics)}, the number of topics of type {kind!r}"
                )
        known = pop.topic_names()
        for topic in self.headline_topics:
            if topic not in known:
                raise ConfigError(
                    f"headline_topics contains {topic!r}, not a topic of any type: allowed "
                    f"{sorted(known)}"
                )


def declared(key: str) -> tuple[Any, Field]:
    """The type of a dotted configuration key and the field declaring it (its `param`
    metadata: range, unit, source), through sections, lists (an index) and mappings (a name,
    as in `population.types.hospital.count`). KeyError names an unknown part."""
    node: Any = ScenarioConfig
    found: Field | None = None
    for part in key.split("."):
        if get_origin(node) in (list, dict):
            node = get_args(node)[-1]  # an index or a mapping's name: on to the values
            continue
        known = {f.name: f for f in fields(node)} if is_dataclass(node) else {}
        if part not in known:
            raise KeyError(f"{key}: {part!r} is not a key of the configuration")
        found, node = known[part], get_type_hints(node)[part]
    if found is None:
        raise KeyError(f"{key}: not a key of the configuration")
    return node, found
