"""What a programme costs, and what a fixed budget buys: the basis of equal-budget comparisons.

A design's cost has a fixed part (co-design, kick-off, the scheduled coaching and workshops) and an
elastic part, its visits: exchange visits between twins and outside experts' visits. Without a
budget (`costs.budget = 0`) the visits follow the schedule. With one, the money left after the
fixed part scales every kind of visit by one common factor, spread over the same calendar, so that
designs are compared at the same spend and the comparison of what they achieve comes from the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.config import ConfigError, CostConfig, EventKind, EventSpec, Mode
from sim.core.designs.base import NetworkDesign
from sim.core.population import Population
from sim.core.scenario import NetworkConfig, ScenarioConfig

CODESIGN_WORKSHOPS = 2  # one for hospitals, one for district teams (article, Table 1)


def attendees(event: EventSpec, pop: Population) -> np.ndarray:
    """(N,) members taking part in a scheduled event: its event group, or everyone."""
    if event.group:
        return pop.event_group == pop.groups.index(event.group)
    return np.ones(pop.size, dtype=bool)


def unit_cost(event: EventSpec, costs: CostConfig) -> float:
    """Cost per participant (per visit for exchange visits) of a scheduled event."""
    in_person, virtual = {
        EventKind.coaching: (costs.coaching_in_person, costs.coaching_virtual),
        EventKind.network_workshop: (costs.workshop_in_person, costs.workshop_virtual),
        EventKind.provincial_workshop: (costs.workshop_in_person, costs.workshop_virtual),
        EventKind.exchange_visit: (costs.exchange_visit, costs.exchange_visit),
    }[event.kind]
    return virtual if event.mode is Mode.virtual else in_person


def held(event: EventSpec, design: type[NetworkDesign], network: NetworkConfig) -> bool:
    """Whether a design holds a scheduled event: coaching always, exchange visits where peers
    twin, workshops where peers meet or where outside experts run them
    (`network.experts_at_workshops`)."""
    if event.kind is EventKind.coaching:
        return True
    if event.kind is EventKind.exchange_visit:
        return design.peer_events
    return design.peer_events or (design.experts and network.experts_at_workshops)


def fixed_cost(
    plan: dict[int, list[EventSpec]],
    pop: Population,
    config: ScenarioConfig,
    design: type[NetworkDesign],
) -> float:
    """Cost of a programme before any visit: co-design, kick-off, coaching, workshops and the
    experts' remote follow-up, if any."""
    costs, network = config.costs, config.network
    total = CODESIGN_WORKSHOPS * costs.codesign_workshop + pop.size * costs.kickoff_participant
    for events in plan.values():
        for e in events:
            if e.kind is not EventKind.exchange_visit and held(e, design, network):
                total += attendees(e, pop).sum() * unit_cost(e, costs)
    if design.experts and network.expert_followup:
        months = config.schedule.programme_months
        total += network.n_experts * months * costs.expert_followup
    return total


def visit_money(
    config: ScenarioConfig,
    pop: Population,
    plan: dict[int, list[EventSpec]],
    design: type[NetworkDesign],
) -> float:
    """What the budget leaves for visits once the fixed part of `plan` is paid (inf without a
    budget).

    Raises ConfigError when the budget cannot even pay for the fixed part.
    """
    budget = config.costs.budget
    if not budget:
        return float("inf")
    fixed = fixed_cost(plan, pop, config, design)
    if budget < fixed:
        raise ConfigError(
            f"costs.budget={budget:g} is invalid for network.design={config.network.design!r}: "
            f"its fixed activities (co-design, kick-off, coaching, workshops, follow-up) alone "
            f"cost {fixed:,.0f} USD; "
            f"allowed 0 (no cap) or at least {fixed:g}"
        )
    return budget - fixed


@dataclass
class VisitRounds:
    """Visits worked through a queue of ties in a fixed order, spread evenly over `rounds` rounds.

    Each tie belongs to one queue (one visitor: an outside expert, or the network's programme
    office for exchange visits); a queue's visits go to its ties in turn, so a tie receives more
    than one visit in a round only when the queue has more visits than ties. Spreading a total
    over rounds (rather than a fixed number per round) lets a budget buy a fractional schedule.
    """

    queue: np.ndarray  # (ties,) queue of each tie
    per_queue: np.ndarray  # (queues,) visits each queue makes over all rounds
    rounds: int
    slot: np.ndarray = field(init=False)  # place of each tie in its queue
    size: np.ndarray = field(init=False)  # length of each tie's queue
    done: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        order = np.argsort(self.queue, kind="stable")
        first = np.searchsorted(self.queue[order], self.queue[order])
        self.slot = np.empty(len(self.queue), dtype=np.int64)
        self.slot[order] = np.arange(len(order)) - first
        self.size = np.bincount(self.queue, minlength=len(self.per_queue))[self.queue]

    @property
    def visits(self) -> int:
        """Visits over all rounds, counting only queues that have ties to visit."""
        staffed = np.bincount(self.queue, minlength=len(self.per_queue)) > 0
        return int(self.per_queue[staffed].sum())

    def scaled(self, factor: float) -> VisitRounds:
        """The same queues with every queue's visits scaled by `factor`, rounded down."""
        per_queue = np.floor(self.per_queue * factor + 1e-9).astype(np.int64)
        return VisitRounds(self.queue, per_queue, self.rounds)

    def next_round(self) -> np.ndarray:
        """Visits each tie receives in the next round: the visits numbered [before, now) of its
        queue go to the ties whose slot they hit, modulo the queue's length."""
        self.done += 1
        total = self.per_queue[self.queue]
        before = total * (self.done - 1) // self.rounds
        now = total * self.done // self.rounds
        return ceil_div(now - self.slot, self.size) - ceil_div(before - self.slot, self.size)


def ceil_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return -(-a // b)


def budget_scale(money: float, rounds: list[tuple[VisitRounds, float]]) -> float:
    """The common factor on every kind of visit that spends `money` on the schedule's visits.

    `rounds` pairs each kind's scheduled visits with its unit cost; 1 without a budget, and 0
    where the schedule holds no visit to scale.
    """
    if money == float("inf"):
        return 1.0
    scheduled = sum(r.visits * unit for r, unit in rounds)
    return money / scheduled if scheduled else 0.0
