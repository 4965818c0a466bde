"""What `pairwise` and `hub` share: each member has one fixed partner for all its goals."""

from __future__ import annotations

import numpy as np

from sim.core.designs.base import DesignContext, NetworkDesign, Ties


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
