"""Random peers: a control for deliberate partner choice."""

from __future__ import annotations

import numpy as np

from sim.core.designs.base import DesignContext, NetworkDesign, Ties, register


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
