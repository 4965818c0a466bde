"""Users' own twinning pairs, read from a file (docs/ODD.md 6.2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from sim.config import ConfigError, Validated, doc
from sim.core.designs.base import DesignChoice, DesignContext, NetworkDesign, Ties, register
from sim.data.inputs import Pairs, read_pairs


@dataclass
class PairsFile(Validated):
    """Where the pairs are."""

    section: ClassVar[str] = "network"
    path: str = field(
        default="",
        metadata=doc(
            "file path",
            "an existing pairs CSV (6.2)",
            "user data",
            "the pairs file (`network=from_file`)",
            shown="'' (none)",
        ),
    )


@register
class OwnPairs(NetworkDesign):
    """The pairs a user lists in a file (`network.path`, sim.data.inputs): members learn the topics
    of their pairs. A topic '*' stands for every topic both partners have; a `both_ways` pair
    is WHO "win-win" twinning, where each partner teaches the topics it measured stronger in; a
    line without a teacher is a goal that has no partner."""

    name = "from_file"
    parameters = PairsFile

    @classmethod
    def check(cls, network: DesignChoice) -> None:
        if not network.path:
            raise ConfigError(
                f"network.path is empty for network.design={cls.name!r}: allowed the path of a "
                "pairs CSV file (learner, teacher, topic)"
            )

    def build(self, ctx: DesignContext) -> Ties:
        pop = ctx.pop
        pairs = read_pairs(ctx.network.path, pop)
        row, topic = self.expand(pop.applies, pairs)
        learner, mentor = pairs.learner[row], pairs.teacher[row]
        obs = ctx.kickoff.observed
        swap = pairs.both_ways[row] & (obs[learner, topic] > obs[mentor, topic]) & (mentor >= 0)
        learner, mentor = np.where(swap, mentor, learner), np.where(swap, learner, mentor)
        # a pair listed twice (or by '*' and by name) is one tie, its first line's; ties come in
        # (learner, teacher, topic) order, not in the order of lines: a budget's exchange visits
        # go round the ties in their order (sim.core.budget.VisitRounds), so the order of lines
        # would decide which ties are visited
        _, keep = np.unique(np.stack([learner, mentor, topic]), axis=1, return_index=True)
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
