"""Network designs: who teaches whom, in which topic.

A design is a class with a `name`, two flags and one method, `build(ctx) -> Ties`, registered with
`@register`. The model only ever sees the `Ties` it returns, so adding a design never touches the
model. Mentor indices at or above the population size are outside experts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from sim.config import KickoffConfig, NetworkConfig
from sim.inputs import Pairs, read_pairs
from sim.kickoff import Kickoff
from sim.population import Population


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


@dataclass(frozen=True)
class DesignContext:
    """Everything a design may look at when wiring the network."""

    pop: Population
    kickoff: Kickoff
    kickoff_cfg: KickoffConfig
    network: NetworkConfig
    rng: np.random.Generator

    def better_by_min_gap(self, mentor: np.ndarray, learner: np.ndarray, topic: np.ndarray):
        """Whether each mentor measured at least `min_gap` points above its learner at baseline."""
        obs = self.kickoff.observed
        return obs[mentor, topic] >= obs[learner, topic] + self.kickoff_cfg.min_gap


class NetworkDesign:
    """Base of all designs. `programme=False` means no activities and no costs at all."""

    name: ClassVar[str]
    programme: ClassVar[bool] = True
    peer_events: ClassVar[bool] = True  # exchange visits and peer workshops take place
    ties_persist: ClassVar[bool] = True  # ties go on, weakened, after the programme
    sets_goals: ClassVar[bool] = False  # `Ties.goals`, not the kick-off, say what members learn
    experts: ClassVar[bool] = False  # outside experts teach (the ties' mentors >= N)

    def build(self, ctx: DesignContext) -> Ties:
        raise NotImplementedError


DESIGNS: dict[str, type[NetworkDesign]] = {}


def register(cls: type[NetworkDesign]) -> type[NetworkDesign]:
    DESIGNS[cls.name] = cls
    return cls


def strength_rank(ctx: DesignContext, members: np.ndarray) -> np.ndarray:
    """Members ordered strongest first by mean baseline KPI over their topics."""
    obs, applies = ctx.kickoff.observed, ctx.pop.applies
    mean = (obs * applies).sum(axis=1) / applies.sum(axis=1)
    return members[np.argsort(-mean[members], kind="stable")]


def ties_to_fixed_partner(ctx: DesignContext, partner: np.ndarray) -> Ties:
    """Every goal learns from the member's one partner, where that partner is better at it."""
    learner, topic = ctx.kickoff.goal_cells()
    mentor = partner[learner]
    keep = (mentor >= 0) & (mentor != learner)
    keep[keep] = ctx.better_by_min_gap(mentor[keep], learner[keep], topic[keep])
    return Ties.from_pairs(learner[keep], mentor[keep], topic[keep])


@register
class TopicSpecificNetwork(NetworkDesign):
    """The TPN: per goal, a high performer in that topic, similar in resources, with room.

    Goals are served first come, first served, in a random order. Each takes the eligible high
    performer with room that scores best on `similarity_preference * similarity + (1 - that)
    * level / 100` (the lowest member index on a tie), found by CandidatePool without a
    goal x candidate matrix.
    """

    name = "tpn"

    def build(self, ctx: DesignContext) -> Ties:
        learner, topic = ctx.kickoff.goal_cells()
        chosen = np.full(len(learner), -1)
        pool = CandidatePool(ctx)
        for g in ctx.rng.permutation(len(learner)).tolist():  # first come, first served
            chosen[g] = pool.take(int(learner[g]), int(topic[g]))
        keep = chosen >= 0
        return Ties.from_pairs(learner[keep], chosen[keep], topic[keep])


class CandidatePool:
    """Per topic, the high performers with room, in bands of about BAND members of similar
    resources, each band strongest first, as plain lists (a goal looks at a few dozen members,
    where numpy's cost per call would exceed the work).

    A member's score is at most what its band's distance and strongest level allow. A goal
    visits the bands in the order of that bound, each from its strongest member down, and
    stops once no member left could score higher. So the work grows with goals, not with
    goals x members: a national network of 100,000 members matches in seconds.
    """

    BAND = 128

    def __init__(self, ctx: DesignContext) -> None:
        pop, cfg, obs = ctx.pop, ctx.kickoff_cfg, ctx.kickoff.observed
        self.observed, self.gap, self.pref = obs, cfg.min_gap, cfg.similarity_preference
        self.resource, self.kind = pop.resource.tolist(), pop.kind.tolist()
        self.may_teach = pop.may_teach.tolist()
        self.room = np.full(pop.size, cfg.max_mentees).tolist()
        high = ctx.kickoff.high_performer
        self.bands: list[list[tuple[list[int], list[float]]]] = []
        self.tops: list[np.ndarray] = []  # per topic and band, the strongest level left
        for k in range(high.shape[1]):
            members = np.flatnonzero(high[:, k])
            members = members[np.argsort(-obs[members, k], kind="stable")]  # ties: member order
            width = max(len(members) // self.BAND, 1)
            band = np.minimum((pop.resource[members] * width).astype(np.int64), width - 1)
            self.bands.append(
                [
                    (members[band == b].tolist(), obs[members[band == b], k].tolist())
                    for b in range(width)
                ]
            )
            self.tops.append(
                np.array([levels[0] if levels else -np.inf for _, levels in self.bands[k]])
            )
        self.topics = [np.flatnonzero(row).tolist() for row in high]  # a member's topics

    def take(self, learner: int, topic: int) -> int:
        """The best eligible high performer with room for this goal (-1 if none); it loses a
        place, and leaves the pool once it has none."""
        pref, resource, kind = self.pref, self.resource[learner], self.kind[learner]
        threshold = float(self.observed[learner, topic]) + self.gap
        best, best_score = -1, -np.inf
        for band, near, bound in self.bands_to_scan(topic, resource):
            if bound < best_score:
                break  # no member of this band, or of any later one, could score higher
            members, levels = self.bands[topic][band]
            for m, level in zip(members, levels, strict=True):
                if level < threshold or pref * (1 - near) + (1 - pref) * level / 100 < best_score:
                    break  # weaker from here on: none is eligible, or none could score higher
                if m == learner or not self.may_teach[self.kind[m]][kind]:
                    continue
                score = pref * (1 - abs(self.resource[m] - resource)) + (1 - pref) * level / 100
                if score > best_score or (score == best_score and m < best):
                    best, best_score = m, score
        if best >= 0:
            self.room[best] -= 1
            if not self.room[best]:
                self.remove(best)
        return best

    def bands_to_scan(self, topic: int, resource: float) -> Iterator[tuple[int, float, float]]:
        """(band, smallest resource distance, highest possible score): the learner's own band
        first, then the others by descending bound. Distances are shaded down by 1e-12, so that
        rounding never overstates one."""
        top = self.tops[topic]
        width = len(top)
        home = min(int(resource * width), width - 1)
        yield home, 0.0, np.inf
        if width == 1:
            return
        edges = np.arange(width + 1) / width
        near = np.maximum(np.maximum(edges[:-1] - resource, resource - edges[1:]) - 1e-12, 0.0)
        level = (1 - self.pref) * np.maximum(top, 0) / 100
        bound = np.where(top >= 0, self.pref * (1 - near) + level, -np.inf)  # empty: -inf
        bound[home] = -np.inf
        order = np.argsort(-bound, kind="stable")
        yield from zip(order.tolist(), near[order].tolist(), bound[order].tolist(), strict=True)

    def remove(self, member: int) -> None:
        """A full mentor leaves its band in every topic it is a high performer in."""
        for k in self.topics[member]:
            width = len(self.bands[k])
            band = min(int(self.resource[member] * width), width - 1)
            members, levels = self.bands[k][band]
            at = members.index(member)
            del members[at], levels[at]
            self.tops[k][band] = levels[0] if levels else -np.inf


class FixedPartner(NetworkDesign):
    """Each member has one partner for all its goals, chosen within its type by overall strength
    (classic twinning pairs like with like, whatever else `mentors` allows)."""

    def build(self, ctx: DesignContext) -> Ties:
        partner = np.full(ctx.pop.size, -1)
        for kind in np.unique(ctx.pop.kind):
            ranked = strength_rank(ctx, np.flatnonzero(ctx.pop.kind == kind))
            partner[ranked] = self.partners(ranked)
        return ties_to_fixed_partner(ctx, partner)

    @staticmethod
    def partners(ranked: np.ndarray) -> np.ndarray:
        """The partner of each member of one type, given them strongest first."""
        raise NotImplementedError


@register
class PairwiseTwinning(FixedPartner):
    """Classic WHO twinning: fixed same-type pairs, strongest with weakest, for all topics."""

    name = "pairwise"

    @staticmethod
    def partners(ranked: np.ndarray) -> np.ndarray:
        mates = ranked[::-1].copy()  # j-th strongest with j-th weakest
        if len(ranked) % 2:  # the middle member joins the strongest as a second mentee
            mates[len(ranked) // 2] = ranked[0] if len(ranked) > 1 else -1
        return mates


@register
class HubAndSpoke(FixedPartner):
    """One centre of excellence per type teaches every other member, whatever the topic."""

    name = "hub"

    @staticmethod
    def partners(ranked: np.ndarray) -> np.ndarray:
        return np.full(len(ranked), ranked[0])  # the hub's own goals stay unmatched


@register
class RandomPeers(NetworkDesign):
    """Per goal a random other member of the same type: a control for deliberate partner choice."""

    name = "random"

    def build(self, ctx: DesignContext) -> Ties:
        learner, topic = ctx.kickoff.goal_cells()
        mentor = np.empty_like(learner)
        kind = ctx.pop.kind
        for k in np.unique(kind):
            members = np.flatnonzero(kind == k)
            mine = kind[learner] == k
            if len(members) < 2:
                mentor[mine] = -1
                continue
            pos = np.searchsorted(members, learner[mine])
            draw = ctx.rng.integers(0, len(members) - 1, mine.sum())
            mentor[mine] = members[draw + (draw >= pos)]  # skip the learner itself
        keep = mentor >= 0
        return Ties.from_pairs(learner[keep], mentor[keep], topic[keep])


@register
class ExternalExperts(NetworkDesign):
    """Outside experts: high knowledge, lower context fit, limited visits, no ties afterwards."""

    name = "external_expert"
    peer_events = False
    experts = True
    ties_persist = False

    def build(self, ctx: DesignContext) -> Ties:
        learner, topic = ctx.kickoff.goal_cells()
        expert = ctx.rng.permutation(len(learner)) % ctx.network.n_experts
        return Ties.from_pairs(learner, ctx.pop.size + expert, topic)


@register
class OwnPairs(NetworkDesign):
    """The pairs a user lists in a file (`network.path`, sim.inputs): members learn the topics
    of their pairs. A topic '*' stands for every topic both partners have; a `both_ways` pair
    is WHO "win-win" twinning, where each partner teaches the topics it measured stronger in; a
    line without a teacher is a goal that has no partner."""

    name = "from_file"
    sets_goals = True

    def build(self, ctx: DesignContext) -> Ties:
        pop = ctx.pop
        pairs = read_pairs(ctx.network.path, pop)
        row, topic = self.expand(pop.applies, pairs)
        learner, mentor = pairs.learner[row], pairs.teacher[row]
        obs = ctx.kickoff.observed
        swap = pairs.both_ways[row] & (obs[learner, topic] > obs[mentor, topic]) & (mentor >= 0)
        learner, mentor = np.where(swap, mentor, learner), np.where(swap, learner, mentor)
        _, first = np.unique(np.stack([learner, mentor, topic]), axis=1, return_index=True)
        keep = np.sort(first)  # a pair listed twice (or by '*' and by name) is one tie
        tie = keep[mentor[keep] >= 0]
        return Ties.from_pairs(
            learner[tie],
            mentor[tie],
            topic[tie],
            pairs.intensity[row][tie],
            goals=(learner[keep], topic[keep]),
        )

    @staticmethod
    def expand(applies: np.ndarray, pairs: Pairs) -> tuple[np.ndarray, np.ndarray]:
        """(line, topic) per pair and topic, in file order: '*' becomes every topic the partners
        share (every topic of the learner where it has no teacher)."""
        every = pairs.topic < 0
        teacher_topics = np.where(
            (pairs.teacher[every] >= 0)[:, None], applies[pairs.teacher[every]], True
        )
        rows, topics = np.nonzero(applies[pairs.learner[every]] & teacher_topics)
        row = np.concatenate([np.flatnonzero(~every), np.flatnonzero(every)[rows]])
        topic = np.concatenate([pairs.topic[~every], topics])
        order = np.lexsort((topic, row))
        return row[order], topic[order]


@register
class BusinessAsUsual(NetworkDesign):
    """No programme: the counterfactual every other design is measured against."""

    name = "none"
    programme = False
    peer_events = False

    def build(self, ctx: DesignContext) -> Ties:
        return Ties.from_pairs([], [], [])
