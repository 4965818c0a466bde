"""The Twinning Partnership Network model: one run of one scenario, month by month.

Month 0 is the kick-off (baseline measured, goals set, ties wired); every step is one month of the
programme and then of follow-up. All random draws come from five independent streams spawned from
the seed, and the dynamics stream is consumed identically whatever the design, so two runs with the
same seed differ only by the programme. A member's own trajectory (trend, drift, leadership
turnover) is therefore the same under every design, and with nothing learned it is the member
under no programme: the model records that counterfactual beside the run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mesa
import numpy as np

from sim.config import ConfigError, EventKind, EventSpec, Mode, is_integer
from sim.core.agents import ExternalExpert, Institution
from sim.core.budget import (
    CODESIGN_WORKSHOPS,
    VisitRounds,
    attendees,
    budget_scale,
    held,
    unit_cost,
    visit_money,
)
from sim.core.designs.base import DESIGNS, DesignContext
from sim.core.kickoff import run_kickoff
from sim.core.learning import (
    TieBatch,
    bounded,
    context_fit,
    effort,
    engagement,
    feasible_levels,
    goal_work,
    learn,
    updated_motivation,
)
from sim.core.population import build_population, draw_beta, draw_interest
from sim.core.posterior import drawn, kept, with_values
from sim.core.scenario import ScenarioConfig
from sim.core.schedule import events_by_month


class History:
    """State recorded at every month: arrays first, tidy tables only at the end
    (sim.results.tables).

    Measurement error has its own random stream and never feeds back after the kick-off, so it is
    drawn for month 0 at once and for later months only when observed KPIs are first asked for.
    """

    def __init__(self, months: int, applies: np.ndarray, sd: float, rng: np.random.Generator):
        n, k = applies.shape
        self.capacity = np.zeros((months + 1, n, k))  # true
        self.counterfactual = np.zeros_like(self.capacity)  # true, under no programme
        self.motivation = np.zeros((months + 1, n))
        self.leadership = np.zeros((months + 1, n))
        self.applies = applies
        self.error = np.empty_like(self.capacity)
        self.error[0] = sd * rng.standard_normal((n, k))
        self._draw_later = lambda: sd * rng.standard_normal((months, n, k))
        self._drawn = False

    def baseline_kpi(self) -> np.ndarray:
        """(N, K) KPI observed at the kick-off."""
        return bounded(self.capacity[0] + self.error[0], 0, 100) * self.applies

    @property
    def kpi(self) -> np.ndarray:
        """(months + 1, N, K) observed KPI: true capacity plus measurement error, within 0-100."""
        if not self._drawn:
            self.error[1:] = self._draw_later()
            self._drawn = True
        return bounded(self.capacity + self.error, 0, 100) * self.applies


# Keyword settings a Mesa user passes (`TwinningModel(design="hub", budget=2e5)`, or as
# `mesa.batch_run` parameters) and the configuration keys they set; any other key is reachable
# through a ScenarioConfig.
SETTINGS = {
    "design": "network.design",
    "budget": "costs.budget",
    "leadership": "population.leadership_mean",
    "motivation": "population.motivation_mean",
    "time": "population.time_mean",
    "goals": "kickoff.goals_per_institution",
    "max_mentees": "kickoff.max_mentees",
    "n_experts": "network.n_experts",
    "programme_months": "schedule.programme_months",
    "followup_months": "schedule.followup_months",
}

Reporter = str | Callable[..., Any]  # an attribute name, or a function of the model or agent


def with_settings(config: ScenarioConfig, settings: dict[str, Any]) -> ScenarioConfig:
    """`config` with keyword settings applied (validated); a calibrated one among them keeps its
    value instead of being drawn from the posterior."""
    if not settings:
        return config
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise ConfigError(
            f"TwinningModel({unknown[0]}=...) is invalid: allowed keyword settings "
            f"{sorted(SETTINGS)}, or any key through a ScenarioConfig"
        )
    values = {SETTINGS[name]: value for name, value in settings.items()}
    return kept(with_values(config, values), set(values))


def monthly_reporters(extra: dict[str, Reporter] | None) -> dict[str, Reporter]:
    """What the model reports every month (Mesa DataCollector model reporters), then `extra`."""
    return {
        "capacity": lambda m: float(m.history.capacity[m.steps][m.kickoff.goals].mean()),
        "motivation": lambda m: float(m.motivation.mean()),
        "cost": lambda m: float(sum(event[-1] for event in m.event_log)),
    } | (extra or {})


class TwinningModel(mesa.Model):
    """Member institutions (hospitals, district health teams, ...) learning along twinning ties
    under one network design.

    `rng` is the integer seed (the scenario's `seed` when None, so runs are reproducible);
    keyword `settings` (SETTINGS) change the main settings, and the reporters are collected
    monthly in `datacollector`, Mesa-style: model reporters get the model, agent reporters an
    `Institution` (outside experts report nothing). The run ends (`running` is False) after
    the programme and follow-up, so `run_model()` and `mesa.batch_run` work.
    """

    def __init__(
        self,
        config: ScenarioConfig | None = None,
        rng: int | None = None,
        *,
        model_reporters: dict[str, Reporter] | None = None,
        agent_reporters: dict[str, Reporter] | None = None,
        **settings: Any,
    ) -> None:
        config = with_settings(config or ScenarioConfig(), settings)
        seed = config.seed if rng is None else rng
        if not is_integer(seed) or seed < 0:
            raise ConfigError(f"rng={seed!r} is invalid: allowed an integer seed >= 0")
        super().__init__(rng=seed)
        self.config, self.particle = drawn(config, seed)  # the posterior's set for this seed
        config = self.config
        self.seed = seed
        pop_rng, kickoff_rng, design_rng, self.noise, measure_rng = (
            np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)
        )
        self.pop = pop = build_population(config.population, pop_rng)
        self.design = DESIGNS[config.network.design]()
        sched = config.schedule
        self.months = sched.programme_months + sched.followup_months
        self.own = pop.capacity.copy()  # non-applying cells stay 0 throughout
        self.learned = np.zeros_like(self.own)
        self.motivation = pop.motivation.copy()
        self.leadership = pop.leadership.copy()
        self.interest = pop.interest.copy()
        self.trend, self.engaged = np.zeros(pop.applies.shape), np.zeros(pop.applies.shape)
        self.set_leaders()
        cfg = config.learning  # noise for every month up front, in a fixed order for all designs
        self.drift_cells = np.flatnonzero(pop.applies)  # drift only where a topic applies
        self.drift_draws = cfg.drift_sd * self.noise.standard_normal(
            (self.months + 1, len(self.drift_cells))
        )
        self.leaves = self.noise.random((self.months + 1, pop.size)) < cfg.turnover_rate
        self.history = History(self.months, pop.applies, cfg.measurement_sd, measure_rng)
        self.event_log: list[tuple[int, str, str, str, int, float]] = []

        self.record(0, self.capacity())
        self.kickoff = run_kickoff(pop, self.history.baseline_kpi(), config.kickoff, kickoff_rng)
        context = DesignContext(pop, self.kickoff, config.kickoff, config.network, design_rng)
        self.ties = self.design.build(context)
        if self.ties.goals is not None:
            self.kickoff.set_goals(*self.ties.goals)
        self.plan = events_by_month(sched, pop.groups) if self.design.programme else {}
        self._prepare_ties()
        self._create_agents()
        if self.design.programme:
            costs = config.costs
            self.log(0, "codesign", Mode.in_person, "", CODESIGN_WORKSHOPS, costs.codesign_workshop)
            self.log(0, "kickoff", Mode.in_person, "", pop.size, costs.kickoff_participant)
        self.datacollector = mesa.DataCollector(
            model_reporters=monthly_reporters(model_reporters),
            agenttype_reporters={Institution: agent_reporters} if agent_reporters else None,
        )
        self.datacollector.collect(self)

    # --- set-up -------------------------------------------------------------------------------

    def _prepare_ties(self) -> None:
        """Per-tie constants: expert or peer, context fit, mentor attention, expert rounds."""
        pop, net, ties, learning = self.pop, self.config.network, self.ties, self.config.learning
        self.is_expert = ties.mentor >= pop.size
        peer = ~self.is_expert
        self.fit = np.full(len(ties), net.expert_fit)
        self.fit[peer] = context_fit(
            pop.resource[ties.learner[peer]],
            pop.resource[ties.mentor[peer]],
            learning.fit_penalty,
        )
        load = np.bincount(ties.mentor[peer], minlength=pop.size)[ties.mentor[peer]]
        self.dilution = ties.weight.copy()  # a mentor's attention is shared among its mentees
        self.dilution[peer] *= np.minimum(1.0, self.config.kickoff.max_mentees / load)
        self.experts = self.is_expert.any()
        n_experts = net.n_experts if self.experts else 0
        self.expert_levels = np.full((n_experts, len(pop.topics)), net.expert_level)
        self._plan_visits(n_experts)
        expert_contact = learning.expert_contact_rate + (
            learning.peer_contact_rate * learning.virtual_factor if net.expert_followup else 0.0
        )  # remote follow-up: the twins' contact, at the virtual factor
        during = np.where(self.is_expert, expert_contact, learning.peer_contact_rate)
        after = during * (learning.persistence * self.design.ties_persist * peer)
        self.contact = (during, after)  # standing contact intensity, in and after the programme
        self.standing = TieBatch.build(
            ties.learner, ties.mentor, ties.topic, None, self.fit, peer, len(pop.topics)
        )
        self.goal_learner, self.goal_topic = self.kickoff.goal_cells()
        self.tie_strength = np.ones(len(ties))  # weakened when a partner's leader leaves
        self.feasible = feasible_levels(pop.typical, pop.spread, pop.resource, learning.feasible_sd)
        self.reverse, self.reverse_source = self._reciprocal_ties(peer)
        goals = self.kickoff.goals
        self.goal_weight = goals / np.maximum(goals.sum(axis=1, keepdims=True), 1)
        self.non_goals = pop.applies & ~goals

    def _reciprocal_ties(self, peer: np.ndarray) -> tuple[TieBatch | None, np.ndarray]:
        """WHO "win-win" twinning: each mentor learns back from its learner in every topic both
        have (the learning rule's gap makes that count only where the learner is stronger), at
        `reciprocity` times the pair's contact. None when reciprocity is off."""
        pop, ties = self.pop, self.ties
        if not self.config.learning.reciprocity or not peer.any():
            return None, np.zeros(0, dtype=np.int64)
        pairs, first = np.unique(
            np.stack([ties.learner[peer], ties.mentor[peer]]), axis=1, return_index=True
        )
        learner, mentor = pairs
        rows, topic = np.nonzero(pop.applies[learner] & pop.applies[mentor])
        source = np.flatnonzero(peer)[first][rows]  # the tie whose contact the pair shares
        n = len(rows)
        batch = TieBatch.build(
            mentor[rows],
            learner[rows],
            topic,
            np.zeros(n),
            self.fit[source],
            np.ones(n),
            len(pop.topics),
        )
        return batch, source

    def _plan_visits(self, n_experts: int) -> None:
        """Who is visited when: exchange visits go round all peer ties once per scheduled round,
        each expert makes `expert_visits_per_month` visits round its own learners; a budget
        scales both (sim.core.budget)."""
        config, months = self.config, self.config.schedule.programme_months
        peer_rounds = sum(e.kind is EventKind.exchange_visit for m in self.plan.values() for e in m)
        peer_rounds *= self.design.peer_events
        self.peer_ties = np.flatnonzero(~self.is_expert)
        self.expert_ties = np.flatnonzero(self.is_expert)
        exchange = VisitRounds(
            np.zeros(len(self.peer_ties), dtype=np.int64),
            np.array([len(self.peer_ties) * peer_rounds]),
            peer_rounds,
        )
        expert = VisitRounds(
            self.ties.mentor[self.expert_ties] - self.pop.size,
            np.full(n_experts, config.network.expert_visits_per_month * months),
            months,
        )
        money = (
            visit_money(config, self.pop, self.plan, type(self.design))
            if self.design.programme
            else 0
        )
        scale = budget_scale(
            money, [(exchange, config.costs.exchange_visit), (expert, config.costs.expert_visit)]
        )
        self.exchange_rounds, self.expert_rounds = exchange.scaled(scale), expert.scaled(scale)

    def _create_agents(self) -> None:
        Institution.create_agents(self, self.pop.size, index=list(range(self.pop.size)))
        n_experts = len(self.expert_levels)
        ExternalExpert.create_agents(self, n_experts, index=list(range(n_experts)))

    # --- state --------------------------------------------------------------------------------

    def capacity(self) -> np.ndarray:
        """True capacity: own trajectory plus what was learned, on the 0-100 scale."""
        return bounded(self.own + self.learned, 0, 100)

    def drift(self, month: int) -> np.ndarray:
        """(N, K) this month's drift of the own trajectory, 0 where no topic applies: scattered
        month by month from the compact draws, not held for every month at full size."""
        noise = np.zeros(self.pop.applies.size)
        noise[self.drift_cells] = self.drift_draws[month]
        return noise.reshape(self.pop.applies.shape)

    def record(self, month: int, capacity: np.ndarray) -> None:
        h = self.history
        h.capacity[month] = capacity
        h.counterfactual[month] = bounded(self.own, 0, 100)  # nothing learned
        h.motivation[month], h.leadership[month] = self.motivation, self.leadership

    def log(self, month: int, kind: str, mode: Mode, group: str, count: int, unit: float) -> None:
        """Record an activity held: its participants (or visits) and their cost at `unit` each."""
        self.event_log.append((month, kind, mode.value, group, count, count * unit))

    def topic_items(self, index: int) -> list[tuple[int, str]]:
        return [(k, t) for k, t in enumerate(self.pop.topics) if self.pop.applies[index, k]]

    def teacher_name(self, mentor: int) -> str:
        n = self.pop.size
        return self.pop.names[mentor] if mentor < n else f"expert {mentor - n + 1}"

    # --- one month ----------------------------------------------------------------------------

    def step(self) -> None:
        month, cfg = self.steps, self.config.learning
        capacity = self.history.capacity[month - 1]
        ties, coaching = self.activities(month, capacity)
        effort_nk = effort(self.motivation, self.pop.time, self.engaged, cfg)
        teacher_level = np.vstack([capacity, self.expert_levels]) if self.experts else capacity
        work = None
        if cfg.goal_work_rate and self.design.programme:
            pace = 1.0 if month <= self.config.schedule.programme_months else cfg.persistence
            goals = self.kickoff.goals
            work = goal_work(capacity, self.feasible, effort_nk, goals, ties, pace, cfg)
        month_gains = learn(
            capacity, teacher_level, ties, effort_nk, self.goal_weight, self.non_goals, cfg, work
        )
        self.learned = self.learned * (1 - cfg.forgetting_rate) + month_gains.gained
        self.own += self.trend + self.drift(month)
        self.motivation = updated_motivation(
            self.motivation,
            self.pop.motivation,
            month_gains.goal_gain,
            month_gains.peer_contact,
            coaching,
            cfg,
        )
        self.turnover(month)
        self.record(month, self.capacity())
        self.datacollector.collect(self)
        self.running = month < self.months

    def set_leaders(self, rows: np.ndarray | slice = slice(None)) -> None:
        """What follows from the leaders of `rows` (all at first, then those that changed): each
        cell's own monthly trajectory (the secular trend, faster where leaders care about the
        topic) and the leadership part of effort."""
        cfg, pop = self.config.learning, self.pop
        boost = cfg.interest_trend / 12 * (self.interest[rows] - 0.5)
        self.trend[rows] = (pop.trend[rows] + boost) * pop.applies[rows]
        self.engaged[rows] = engagement(self.leadership[rows], self.interest[rows], cfg)

    def turnover(self, month: int) -> None:
        """Leadership turnover: a new leader with new interests, a dent in motivation, part of
        what the member learned gone with the leader, and its ties weakened.

        Who leaves does not depend on the design, so the draws for newcomers stay aligned with
        the counterfactual run.
        """
        pop_cfg, cfg = self.config.population, self.config.learning
        leaves = np.flatnonzero(self.leaves[month])
        if not len(leaves):
            return
        leader = draw_beta(
            self.noise, pop_cfg.leadership_mean, pop_cfg.trait_concentration, len(leaves)
        )
        interest = draw_interest(self.noise, leader, len(self.pop.topics), pop_cfg.interest_sd)
        self.leadership[leaves] = leader
        self.interest[leaves] = interest * self.pop.applies[leaves]
        self.motivation[leaves] *= 1 - cfg.turnover_motivation_loss
        self.learned[leaves] *= 1 - cfg.turnover_knowledge_loss  # it leaves with the leader
        if cfg.turnover_tie_loss:
            left = np.zeros(self.pop.size + len(self.expert_levels), dtype=bool)
            left[leaves] = True
            touched = left[self.ties.learner] | left[self.ties.mentor]
            self.tie_strength[touched] *= 1 - cfg.turnover_tie_loss
        self.set_leaders(leaves)

    # --- activities ---------------------------------------------------------------------------

    def activities(self, month: int, capacity: np.ndarray) -> tuple[TieBatch, np.ndarray]:
        """Active ties this month (standing contact plus events) and the lift from coaching."""
        coaching = np.zeros(self.pop.size)
        in_programme = month <= self.config.schedule.programme_months
        standing = self.standing  # reused every month: only its intensity changes
        standing.intensity = self.contact[0 if in_programme else 1].copy()
        batches = [standing]
        if in_programme and self.design.programme:
            for event in self.plan.get(month, []):
                self.hold(event, standing, coaching, batches, capacity)
            self.expert_visits(month, standing)
        standing.intensity *= self.dilution * self.tie_strength  # busy mentors, lost leaders
        if self.reverse is not None:
            self.reverse.intensity = (
                self.config.learning.reciprocity * standing.intensity[self.reverse_source]
            )
            batches.append(self.reverse)
        return TieBatch.concat(batches), coaching

    def hold(
        self,
        event: EventSpec,
        standing: TieBatch,
        coaching: np.ndarray,
        batches: list[TieBatch],
        capacity: np.ndarray,
    ) -> None:
        """Add one scheduled event's learning to this month and log its participants and cost."""
        if not held(event, type(self.design), self.config.network):
            return
        cfg, pop = self.config.learning, self.pop
        factor = cfg.virtual_factor if event.mode is Mode.virtual else 1.0
        members = attendees(event, pop)
        count = int(members.sum())
        if event.kind is EventKind.coaching:
            standing.intensity += cfg.coaching_rate * factor * members[standing.learner]
            coaching[members] += cfg.coaching_motivation * factor
        elif event.kind is EventKind.exchange_visit:
            visits = self.exchange_rounds.next_round()
            standing.intensity[self.peer_ties] += cfg.exchange_visit_rate * factor * visits
            count = int(visits.sum())
            if not count:
                return  # no twins, or no money, for visits
        else:
            national = event.kind is EventKind.network_workshop
            rate = cfg.network_workshop_rate if national else cfg.provincial_workshop_rate
            batches.append(self.workshop(members, rate * factor, capacity))
        unit = unit_cost(event, self.config.costs)
        self.log(self.steps, event.kind.value, event.mode, event.group, count, unit)

    def workshop(self, members: np.ndarray, rate: float, capacity: np.ndarray) -> TieBatch:
        """Participants learn, in their goal topics, from the best attending member of a type
        that may mentor theirs (their own type, or one whose `mentors` lists it), or, where
        outside experts run the workshop, from an expert."""
        pop = self.pop
        keep = members[self.goal_learner]
        learner, topic = self.goal_learner[keep], self.goal_topic[keep]
        n = len(learner)
        if self.design.experts:  # every expert teaches from the same level and fit
            teacher, fit, peer = np.full(n, pop.size), np.full(n, self.config.network.expert_fit), 0
        else:
            attending = members[:, None] & pop.applies
            best = np.stack(  # (T, K): per learner type and topic, the best allowed attendee
                [
                    np.where(
                        attending & pop.may_teach[pop.kind, t][:, None], capacity, -1.0
                    ).argmax(0)
                    for t in range(len(pop.kinds))
                ]
            )
            teacher = best[pop.kind[learner], topic]
            resource, penalty = pop.resource, self.config.learning.fit_penalty
            fit, peer = context_fit(resource[learner], resource[teacher], penalty), 1
        return TieBatch.build(
            learner, teacher, topic, np.full(n, rate), fit, np.full(n, peer), len(pop.topics)
        )

    def expert_visits(self, month: int, standing: TieBatch) -> None:
        """Each expert makes this month's share of its visits, working round its learners."""
        if not self.experts:
            return
        visits = self.expert_rounds.next_round()
        standing.intensity[self.expert_ties] += self.config.learning.expert_visit_rate * visits
        costs, n_experts = self.config.costs, len(self.expert_levels)
        if visits.any():
            n = int(visits.sum())
            self.log(month, "expert_visit", Mode.in_person, "", n, costs.expert_visit)
        if self.config.network.expert_followup:
            self.log(month, "expert_followup", Mode.virtual, "", n_experts, costs.expert_followup)

    def run(self) -> TwinningModel:
        """Every month of programme and follow-up (Mesa's `run_model`), returning the model."""
        self.run_model()
        return self
