"""The Twinning Partnership Network model: one run of one scenario, month by month.

Month 0 is the kick-off (baseline measured, goals set, ties wired); every step is one month of the
programme and then of follow-up. All random draws come from four independent streams spawned from
the seed, and the dynamics stream is consumed identically whatever the design, so two runs with the
same seed differ only by the programme: that is how the model knows its own counterfactual.
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np

from sim.agents import District, ExternalExpert, Hospital
from sim.config import EventKind, EventSpec, Mode, ScenarioConfig
from sim.designs import DESIGNS, DesignContext
from sim.kickoff import run_kickoff
from sim.learning import (
    context_fit,
    effort,
    headroom,
    per_cell,
    per_row,
    tie_gains,
    updated_motivation,
)
from sim.population import build_population, draw_beta, draw_interest
from sim.schedule import events_by_month


@dataclass
class History:
    """State recorded at every month: arrays first, tidy tables only at the end (sim.results)."""

    capacity: np.ndarray  # (months + 1, N, K) true
    kpi: np.ndarray  # (months + 1, N, K) observed
    motivation: np.ndarray  # (months + 1, N)
    leadership: np.ndarray  # (months + 1, N)

    @classmethod
    def empty(cls, months: int, n: int, k: int) -> History:
        return cls(
            np.zeros((months + 1, n, k)),
            np.zeros((months + 1, n, k)),
            *np.zeros((2, months + 1, n)),
        )


@dataclass
class MonthActivity:
    """What this month adds on top of standing contact: extra tie intensity and transient ties."""

    intensity: np.ndarray
    coaching: np.ndarray
    learner: list[np.ndarray]
    teacher: list[np.ndarray]
    topic: list[np.ndarray]
    rate: list[np.ndarray]


class TwinningModel(mesa.Model):
    """Hospitals and districts learning along twinning ties under one network design."""

    def __init__(self, config: ScenarioConfig | None = None, seed: int | None = None) -> None:
        config = config or ScenarioConfig()
        seed = config.seed if seed is None else seed
        super().__init__(seed=seed)
        self.config = config
        self.seed = seed
        pop_rng, kickoff_rng, design_rng, self.noise = (
            np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)
        )
        self.pop = pop = build_population(config.population, pop_rng)
        self.design = DESIGNS[config.network.design]()
        sched = config.schedule
        self.months = sched.programme_months + sched.followup_months
        self.own = pop.capacity.copy()
        self.learned = np.zeros_like(self.own)
        self.motivation = pop.motivation.copy()
        self.leadership = pop.leadership.copy()
        self.interest = pop.interest.copy()
        self.history = History.empty(self.months, pop.size, len(pop.topics))
        self.event_log: list[tuple[int, str, str, str, int, float]] = []

        observed = self.measure(self.capacity())
        self.kickoff = run_kickoff(pop, observed, config.kickoff, kickoff_rng)
        context = DesignContext(pop, self.kickoff, config.kickoff, config.network, design_rng)
        self.ties = self.design.build(context)
        self.plan = events_by_month(sched, pop.groups) if self.design.programme else {}
        self._prepare_ties()
        self._create_agents()
        self.record(0, observed)
        self._log_kickoff()

    # --- set-up -------------------------------------------------------------------------------

    def _prepare_ties(self) -> None:
        """Per-tie constants: expert or peer, context fit, and mentor-attention dilution."""
        pop, net, ties = self.pop, self.config.network, self.ties
        self.is_expert = ties.mentor >= pop.size
        peer = ~self.is_expert
        self.fit = np.full(len(ties), net.expert_fit)
        self.fit[peer] = context_fit(
            pop.resource[ties.learner[peer]],
            pop.resource[ties.mentor[peer]],
            self.config.learning.fit_penalty,
        )
        load = np.bincount(ties.mentor[peer], minlength=pop.size)
        self.dilution = np.ones(len(ties))
        self.dilution[peer] = np.minimum(
            1.0, self.config.kickoff.max_mentees / load[ties.mentor[peer]]
        )
        n_experts = net.n_experts if self.is_expert.any() else 0
        self.expert_levels = np.full((n_experts, len(pop.topics)), net.expert_level)
        expert_ties = ties.mentor[self.is_expert] - pop.size
        order = np.argsort(expert_ties, kind="stable")
        self.expert_slot = np.empty(
            len(expert_ties), dtype=np.int64
        )  # position in its expert's round
        self.expert_slot[order] = np.arange(len(order)) - np.searchsorted(
            expert_ties[order], expert_ties[order]
        )
        self.expert_round = np.bincount(expert_ties, minlength=n_experts)[expert_ties]
        self.goal_learner, self.goal_topic = self.kickoff.goal_cells()

    def _create_agents(self) -> None:
        kind = self.pop.kind
        Hospital.create_agents(
            self, int((kind == 0).sum()), index=np.flatnonzero(kind == 0).tolist()
        )
        District.create_agents(
            self, int((kind == 1).sum()), index=np.flatnonzero(kind == 1).tolist()
        )
        ExternalExpert.create_agents(
            self, len(self.expert_levels), index=list(range(len(self.expert_levels)))
        )

    def _log_kickoff(self) -> None:
        if self.design.programme:
            costs = self.config.costs
            self.log(0, "codesign", Mode.in_person, "", 2, costs.codesign_workshop)
            self.log(
                0,
                "kickoff",
                Mode.in_person,
                "",
                self.pop.size,
                costs.kickoff_participant * self.pop.size,
            )

    # --- state --------------------------------------------------------------------------------

    def capacity(self) -> np.ndarray:
        """True capacity: own trajectory plus what was learned, on the 0-100 scale."""
        return np.where(self.pop.applies, np.clip(self.own + self.learned, 0, 100), 0.0)

    def measure(self, capacity: np.ndarray) -> np.ndarray:
        """Observed KPI: true capacity plus measurement noise (drawn every month for every cell)."""
        noise = self.config.learning.measurement_sd * self.noise.standard_normal(capacity.shape)
        return np.where(self.pop.applies, np.clip(capacity + noise, 0, 100), 0.0)

    def record(self, month: int, observed: np.ndarray) -> None:
        h = self.history
        h.capacity[month], h.kpi[month] = self.capacity(), observed
        h.motivation[month], h.leadership[month] = self.motivation, self.leadership

    def log(
        self, month: int, kind: str, mode: Mode, group: str, participants: int, cost: float
    ) -> None:
        self.event_log.append((month, kind, mode.value, group, participants, cost))

    def topic_items(self, index: int) -> list[tuple[int, str]]:
        return [(k, t) for k, t in enumerate(self.pop.topics) if self.pop.applies[index, k]]

    def teacher_name(self, mentor: int) -> str:
        n = self.pop.size
        return self.pop.names[mentor] if mentor < n else f"expert {mentor - n + 1}"

    # --- one month ----------------------------------------------------------------------------

    def step(self) -> None:
        month = self.steps
        cfg = self.config.learning
        in_programme = month <= self.config.schedule.programme_months
        activity = self.activities(month, in_programme)
        capacity = self.capacity()
        effort_nk = effort(self.motivation, self.leadership, self.interest, self.pop.time, cfg)
        teacher_level = np.vstack([capacity, self.expert_levels])

        ties, n_ties = self.ties, len(self.ties)
        learner = np.concatenate([ties.learner, *activity.learner])
        teacher = np.concatenate([ties.mentor, *activity.teacher])
        topic = np.concatenate([ties.topic, *activity.topic])
        intensity = np.concatenate([activity.intensity, *activity.rate])
        fit = np.concatenate(
            [
                self.fit,
                context_fit(
                    self.pop.resource[learner[n_ties:]],
                    self.pop.resource[teacher[n_ties:]],
                    cfg.fit_penalty,
                ),
            ]
        )
        gains = tie_gains(
            capacity,
            teacher_level,
            learner,
            teacher,
            topic,
            intensity,
            effort_nk,
            fit,
            cfg.ceiling_exponent,
        )
        shape = capacity.shape
        gained = per_cell(gains, learner, topic, shape)

        peer = np.flatnonzero(~self.is_expert)  # learning by teaching, twin ties only
        gained += (
            cfg.mentor_share
            * per_cell(gains[peer], ties.mentor[peer], ties.topic[peer], shape)
            * headroom(capacity, cfg.ceiling_exponent)
        )
        goals = self.kickoff.goals
        n_goals = np.maximum(goals.sum(axis=1), 1)
        goal_gain = (gained * goals).sum(axis=1) / n_goals
        others = self.pop.applies & ~goals
        gained += (
            cfg.spillover * goal_gain[:, None] * others * headroom(capacity, cfg.ceiling_exponent)
        )

        self.learned = self.learned * (1 - cfg.forgetting_rate) + gained
        self.drift()
        peer_all = np.concatenate([~self.is_expert, np.ones(len(learner) - n_ties, dtype=bool)])
        contact = per_row((intensity * fit)[peer_all], learner[peer_all], self.pop.size)
        self.motivation = updated_motivation(
            self.motivation, self.pop.motivation, goal_gain, contact, activity.coaching, cfg
        )
        self.turnover()
        self.record(month, self.measure(self.capacity()))

    def drift(self) -> None:
        """Own trajectory: secular trend, faster where leaders care about the topic, plus noise."""
        cfg = self.config.learning
        step = self.pop.trend + cfg.interest_trend / 12 * (self.interest - 0.5)
        step = step + cfg.drift_sd * self.noise.standard_normal(self.own.shape)
        self.own += np.where(self.pop.applies, step, 0.0)

    def turnover(self) -> None:
        """Leadership turnover: a new leader with new interests, and a dent in motivation."""
        pop_cfg, cfg = self.config.population, self.config.learning
        n, k = self.own.shape
        leaves = self.noise.random(n) < cfg.turnover_rate
        new_leader = draw_beta(self.noise, pop_cfg.leadership_mean, pop_cfg.trait_concentration, n)
        new_interest = draw_interest(self.noise, new_leader, k, pop_cfg.interest_sd)
        self.leadership = np.where(leaves, new_leader, self.leadership)
        self.interest = np.where(leaves[:, None] & self.pop.applies, new_interest, self.interest)
        self.motivation = np.where(
            leaves, self.motivation * (1 - cfg.turnover_motivation_loss), self.motivation
        )

    # --- activities ---------------------------------------------------------------------------

    def activities(self, month: int, in_programme: bool) -> MonthActivity:
        """Standing contact on every tie plus this month's scheduled events and expert visits."""
        cfg = self.config.learning
        contact = np.where(self.is_expert, cfg.expert_contact_rate, cfg.peer_contact_rate)
        if not in_programme:
            contact = (
                np.where(self.is_expert, 0.0, cfg.persistence * contact)
                if self.design.ties_persist
                else 0 * contact
            )
        act = MonthActivity(contact * self.dilution, np.zeros(self.pop.size), [], [], [], [])
        if not in_programme or not self.design.programme:
            return act
        for event in self.plan.get(month, []):
            self.hold(event, act)
        self.expert_visits(month, act)
        return act

    def hold(self, event: EventSpec, act: MonthActivity) -> None:
        cfg, costs, pop = self.config.learning, self.config.costs, self.pop
        factor = cfg.virtual_factor if event.mode is Mode.virtual else 1.0
        kind = event.kind
        if kind is EventKind.coaching:
            act.intensity += cfg.coaching_rate * factor
            act.coaching += cfg.coaching_motivation * factor
            unit = (
                costs.coaching_virtual if event.mode is Mode.virtual else costs.coaching_in_person
            )
            self.log(self.steps, kind.value, event.mode, "", pop.size, unit * pop.size)
        elif not self.design.peer_events:
            return
        elif kind is EventKind.exchange_visit:
            peer = ~self.is_expert
            act.intensity[peer] += cfg.exchange_visit_rate * factor
            self.log(
                self.steps,
                kind.value,
                event.mode,
                "",
                int(peer.sum()),
                costs.exchange_visit * int(peer.sum()),
            )
        else:
            rate = (
                cfg.network_workshop_rate
                if kind is EventKind.network_workshop
                else cfg.provincial_workshop_rate
            )
            members = (
                np.ones(pop.size, dtype=bool)
                if not event.group
                else pop.event_group == pop.groups.index(event.group)
            )
            self.workshop(members, rate * factor, act)
            unit = (
                costs.workshop_virtual if event.mode is Mode.virtual else costs.workshop_in_person
            )
            self.log(
                self.steps,
                kind.value,
                event.mode,
                event.group,
                int(members.sum()),
                unit * int(members.sum()),
            )

    def workshop(self, members: np.ndarray, rate: float, act: MonthActivity) -> None:
        """Participants learn, in their goal topics, from the best attending member of the type."""
        capacity = np.where(members[:, None] & self.pop.applies, self.capacity(), -1.0)
        best = capacity.argmax(axis=0)
        attend = members[self.goal_learner]
        learner, topic = self.goal_learner[attend], self.goal_topic[attend]
        act.learner.append(learner)
        act.teacher.append(best[topic])
        act.topic.append(topic)
        act.rate.append(np.full(len(learner), rate))

    def expert_visits(self, month: int, act: MonthActivity) -> None:
        """Each expert visits up to its monthly capacity, working round its learners in turn."""
        if not self.is_expert.any():
            return
        per_month = self.config.network.expert_visits_per_month
        visited = (self.expert_slot - (month - 1) * per_month) % self.expert_round < per_month
        act.intensity[np.flatnonzero(self.is_expert)[visited]] += (
            self.config.learning.expert_visit_rate
        )
        n = int(visited.sum())
        self.log(month, "expert_visit", Mode.in_person, "", n, n * self.config.costs.expert_visit)

    def run(self) -> TwinningModel:
        for _ in range(self.months):
            self.step()
        return self
