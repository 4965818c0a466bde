"""What every network design shares: the ties it returns, what it may look at, the registry, and
the behaviour of the network section (the design's name checked, results' label).

A design is a class with a `name`, flags and one method, `build(ctx) -> Ties`, registered with
`@register`; its own parameters, if any, are a `Validated` dataclass it names as `parameters`.
The model only ever sees the `Ties` it returns, so adding a design never touches the model.
Mentor indices at or above the population size are outside experts.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from sim.config import ConfigError, KickoffConfig, Validated
from sim.core.kickoff import Kickoff
from sim.core.population import Population


@dataclass(frozen=True)
class Ties:
    """Directed learning ties, one per (learner, goal topic) that found a teacher; `weight`
    multiplies a tie's contact and visits (1 for every design but users' own pairs)."""

    learner: np.ndarray
    mentor: np.ndarray
    topic: np.ndarray
    weight: np.ndarray
    # the (learner, topic) goal cells when the design sets them (users' pairs), else None
    goals: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def from_pairs(cls, learner, mentor, topic, weight=None, goals=None) -> Ties:
        as_int = lambda x: np.asarray(x, dtype=np.int64)  # noqa: E731
        weight = np.ones(len(learner)) if weight is None else np.asarray(weight, dtype=float)
        return cls(as_int(learner), as_int(mentor), as_int(topic), weight, goals)

    def __len__(self) -> int:
        return len(self.learner)


class DesignChoice(Validated):
    """What the network section does, whatever its fields: it checks that `design` names a
    registered design and lets that design check its parameters, and it names the design in
    results. sim.core.scenario assembles the section's fields from the designs' parameters."""

    section: ClassVar[str] = "network"
    design: str  # a field of the assembled section

    def check(self, section: str) -> None:
        if self.design not in DESIGNS:
            raise ConfigError(
                f"{section}.design={self.design!r} is invalid: allowed one of {sorted(DESIGNS)}"
            )
        design = DESIGNS[self.design]
        if design.parameters is not None:
            missing = [f.name for f in fields(design.parameters) if not hasattr(self, f.name)]
            if missing:  # registered after sim.core.scenario assembled the section
                raise ConfigError(
                    f"{section}.design={self.design!r} is invalid: its parameters {missing} are "
                    "not in the network section: allowed a design with its module in "
                    "sim/core/designs/"
                )
        design.check(self)

    @property
    def label(self) -> str:
        """The design as results tables name it (NetworkDesign.label)."""
        return DESIGNS[self.design].label(self)


@dataclass(frozen=True)
class DesignContext:
    """Everything a design may look at when wiring the network."""

    pop: Population
    kickoff: Kickoff
    kickoff_cfg: KickoffConfig
    network: DesignChoice
    rng: np.random.Generator

    def better_by_min_gap(self, mentor: np.ndarray, learner: np.ndarray, topic: np.ndarray):
        """Whether each mentor measured at least `min_gap` points above its learner at baseline."""
        obs = self.kickoff.observed
        return obs[mentor, topic] >= obs[learner, topic] + self.kickoff_cfg.min_gap


class NetworkDesign:
    """Base of all designs. `programme=False` means no activities and no costs at all.

    `parameters` is the dataclass of the design's own parameters (made with `param`/`doc` of
    sim.config, `section = "network"`): sim.core.scenario adds its fields to the network section
    under their own names (`network.<field>`), and the design reads them from `ctx.network`."""

    name: ClassVar[str]
    parameters: ClassVar[type[Validated] | None] = None
    programme: ClassVar[bool] = True
    peer_events: ClassVar[bool] = True  # exchange visits and peer workshops take place
    ties_persist: ClassVar[bool] = True  # ties go on, weakened, after the programme
    # outside experts teach (the ties' mentors >= N); the model sizes, visits and pays them by
    # the parameters of sim.core.designs.external_expert, which such a design declares
    experts: ClassVar[bool] = False

    def build(self, ctx: DesignContext) -> Ties:
        raise NotImplementedError

    @classmethod
    def check(cls, network: DesignChoice) -> None:
        """Checks of the design's parameters that only hold when it is chosen (raise
        ConfigError naming the key)."""

    @classmethod
    def label(cls, network: DesignChoice) -> str:
        """The design's name in results tables; a design with variants names them too."""
        return cls.name


DESIGNS: dict[str, type[NetworkDesign]] = {}


def register(cls: type[NetworkDesign]) -> type[NetworkDesign]:
    DESIGNS[cls.name] = cls
    return cls
