"""No programme: business as usual."""

from __future__ import annotations

from sim.core.designs.base import DesignContext, NetworkDesign, Ties, register


@register
class BusinessAsUsual(NetworkDesign):
    """No programme: the counterfactual every other design is measured against."""

    name = "none"
    programme = False
    peer_events = False

    def build(self, ctx: DesignContext) -> Ties:
        return Ties.from_pairs([], [], [])
