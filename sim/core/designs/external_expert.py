"""Outside experts instead of peers: high knowledge, lower context fit, limited visits, no peer
workshops, no ties after the programme; optionally the twins' remote follow-up and workshops.

Their parameters are read by the model too, which makes the experts agents, plans their visits
and pays them (sim.core.budget): a design with `experts = True` declares `OutsideExperts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from sim.config import CALIBRATED, Validated, calibrated, doc, param
from sim.core.designs.base import DesignChoice, DesignContext, NetworkDesign, Ties, register


@dataclass
class OutsideExperts(Validated):
    """The outside experts: how many, how good, how often they visit, and what they do
    besides visiting."""

    section: ClassVar[str] = "network"
    n_experts: int = param(
        4,
        1,
        10_000,
        "experts",
        "assumption: a small outside team",
        "number of outside experts",
    )
    expert_level: float = param(
        90.0,
        0,
        100,
        "points",
        "assumption: experts know every topic well, above most members' baseline",
        "capacity of an expert in every topic",
    )
    expert_fit: float = param(
        calibrated("network.expert_fit"),
        0,
        1,
        "context fit",
        CALIBRATED,
        "context fit of every expert tie",
    )
    expert_visits_per_month: int = param(
        4,
        0,
        1_000,
        "visits/expert/month",
        "assumption: about one visit a week per expert",
        "visits each expert makes per programme month",
    )
    expert_followup: bool = field(
        default=False,
        metadata=doc(
            "",
            "true/false",
            "issue 9: experts treated like twins where the design question demands it",
            "experts also keep in touch remotely between visits (7.17)",
        ),
    )
    experts_at_workshops: bool = field(
        default=False,
        metadata=doc(
            "",
            "true/false",
            "issue 9, as above",
            "experts run the network and provincial workshops for their learners (7.17)",
        ),
    )


@register
class ExternalExperts(NetworkDesign):
    """Outside experts: high knowledge, lower context fit, limited visits, no ties afterwards."""

    name = "external_expert"
    parameters = OutsideExperts
    peer_events = False
    experts = True
    ties_persist = False

    def build(self, ctx: DesignContext) -> Ties:
        learner, topic = ctx.kickoff.goal_cells()
        expert = ctx.rng.permutation(len(learner)) % ctx.network.n_experts
        return Ties.from_pairs(learner, ctx.pop.size + expert, topic)

    @classmethod
    def label(cls, network: DesignChoice) -> str:
        """With the variants it runs, so that a ranking tells 'external_expert+followup' from the
        experts as planned."""
        variants = {"followup": network.expert_followup, "workshops": network.experts_at_workshops}
        return "+".join([cls.name, *(name for name, on in variants.items() if on)])
