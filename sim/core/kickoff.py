"""The kick-off workshop: each institution finds its gaps and sets its own learning goals.

Institutions see measured KPIs, not true capacity, so gaps and high-performer status come from the
baseline observation. Goal choice is a noisy utility: the size of the gap to the network's high
performers plus leadership's interest in the topic (TPN mechanisms 1 and 5). This is also where
self-selection enters: well-led, interested institutions pick a topic and would improve anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.config import KickoffConfig
from sim.core.population import Population


@dataclass
class Kickoff:
    observed: np.ndarray  # (N, K) baseline KPI the decisions were made on
    high_performer: np.ndarray  # (N, K) bool: in the top quantile of its type in that topic
    gap: np.ndarray  # (N, K) points below the high performers' mean, >= 0
    goals: np.ndarray  # (N, K) bool: topics chosen as learning goals

    def goal_cells(self) -> tuple[np.ndarray, np.ndarray]:
        """(learner, topic) index arrays of every goal, ordered by learner."""
        return np.nonzero(self.goals)

    def set_goals(self, learner: np.ndarray, topic: np.ndarray) -> None:
        """Goals set by a design's ties (users' own pairs) instead of chosen at the kick-off."""
        self.goals = np.zeros_like(self.goals)
        self.goals[learner, topic] = True


def find_high_performers(
    pop: Population, observed: np.ndarray, quantile: float
) -> tuple[np.ndarray, np.ndarray]:
    """High performers per topic (the top quantile of their own type) and each member's gap to
    the mean of its type's high performers."""
    high = np.zeros_like(pop.applies)
    gap = np.zeros_like(observed)
    for kind in np.unique(pop.kind):
        rows = pop.kind == kind
        cols = pop.applies[rows].any(axis=0)
        threshold = np.full(observed.shape[1], np.inf)
        threshold[cols] = np.quantile(observed[np.ix_(rows, cols)], quantile, axis=0)
        high[rows] = pop.applies[rows] & (observed[rows] >= threshold)
        mine = high & rows[:, None]
        level = (observed * mine).sum(axis=0) / np.maximum(mine.sum(axis=0), 1)
        gap[rows] = np.maximum(level - observed[rows], 0.0) * pop.applies[rows]
    return high, gap


def choose_goals(
    pop: Population, gap: np.ndarray, cfg: KickoffConfig, rng: np.random.Generator
) -> np.ndarray:
    """Each institution picks its top-utility topics (Gumbel-max: a multinomial logit choice)."""
    noise = cfg.choice_noise * rng.gumbel(size=gap.shape)
    utility = cfg.gap_weight * gap / 10 + cfg.interest_weight * pop.interest + noise
    utility = np.where(pop.applies, utility, -np.inf)
    top = np.argsort(-utility, axis=1, kind="stable")[:, : cfg.goals_per_institution]
    goals = np.zeros_like(pop.applies)
    np.put_along_axis(goals, top, True, axis=1)
    return goals & pop.applies  # a member with fewer topics than that takes them all


def run_kickoff(
    pop: Population, observed: np.ndarray, cfg: KickoffConfig, rng: np.random.Generator
) -> Kickoff:
    high, gap = find_high_performers(pop, observed, cfg.high_performer_quantile)
    return Kickoff(observed, high, gap, choose_goals(pop, gap, cfg, rng))
