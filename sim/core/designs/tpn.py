"""The TPN, the article's design: per goal, a high performer in that topic with similar resources
and room for another learner (docs/ODD.md 7.3)."""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator

import numpy as np

from sim.core.designs.base import DesignContext, NetworkDesign, Ties, register


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
    """Per topic, the high performers with room, in bands of similar resources, each band
    strongest first, as plain lists (a goal looks at a few dozen members, where numpy's cost
    per call would exceed the work). A band holds at least BAND members, and about 2 sqrt(n)
    of a topic's n: a goal's work grows with the bands it passes and the members it reads in
    them, a sum least when the two are balanced.

    A member's score is at most what its band's distance and strongest level allow. A goal
    visits the bands in the order of that bound, each from its strongest member down, and
    stops once no member left could score higher; the bounds themselves are found outward from
    the learner's band, only as far as a farther band could still win. So the work grows with
    goals, not with goals x members: a national network of 100,000 members matches in seconds.
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
        self.tops: list[list[float]] = []  # per topic and band, the strongest level left
        self.ceilings: list[float] = []  # per topic, the strongest level at the start
        for k in range(high.shape[1]):
            members = np.flatnonzero(high[:, k])
            members = members[np.argsort(-obs[members, k], kind="stable")]  # ties: member order
            width = max(min(len(members) // self.BAND, math.isqrt(len(members)) // 2), 1)
            band = np.minimum((pop.resource[members] * width).astype(np.int64), width - 1)
            in_band = [members[band == b] for b in range(width)]
            self.bands.append([(m.tolist(), obs[m, k].tolist()) for m in in_band])
            self.tops.append([levels[0] if levels else -np.inf for _, levels in self.bands[k]])
            self.ceilings.append(max(self.tops[k]))
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
        """(band, smallest resource distance, highest possible score) by descending score
        bound: the learner's own band first, then, outward from it, each band once no band
        farther out could have a higher bound (distances shaded down by 1e-12, so that rounding
        never overstates a bound). Bands are looked at only as far as the caller scans."""
        top, pref = self.tops[topic], self.pref
        width = len(top)
        home = band_of(resource, width)
        yield home, 0.0, np.inf
        best_level = (1 - pref) * max(self.ceilings[topic], 0) / 100  # no band's level exceeds
        seen: list[tuple[float, int, float]] = []  # heap of (-bound, band, distance)
        below, above = home - 1, home + 1
        while below >= 0 or above < width:
            near_below = resource - (below + 1) / width if below >= 0 else np.inf
            near_above = above / width - resource if above < width else np.inf
            if near_below <= near_above:
                band, near, below = below, near_below, below - 1
            else:
                band, near, above = above, near_above, above + 1
            near = max(near - 1e-12, 0.0)
            if top[band] >= 0:  # an empty band has nothing to offer
                bound = pref * (1 - near) + (1 - pref) * top[band] / 100
                heapq.heappush(seen, (-bound, band, near))
            farther = pref * (1 - near) + best_level  # the best any band farther out can do
            while seen and -seen[0][0] >= farther:
                bound, band, near = heapq.heappop(seen)
                yield band, near, -bound
        while seen:
            bound, band, near = heapq.heappop(seen)
            yield band, near, -bound

    def remove(self, member: int) -> None:
        """A full mentor leaves its band in every topic it is a high performer in."""
        for k in self.topics[member]:
            band = band_of(self.resource[member], len(self.bands[k]))
            members, levels = self.bands[k][band]
            at = members.index(member)
            del members[at], levels[at]
            self.tops[k][band] = levels[0] if levels else -np.inf


def band_of(resource: float, width: int) -> int:
    """The resource band (0 to width - 1) of a resource quantile in [0, 1], in plain Python: it
    runs once per goal (CandidatePool.__init__ computes the same for all members at once)."""
    return min(int(resource * width), width - 1)
