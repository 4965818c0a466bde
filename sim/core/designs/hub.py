"""Hub and spoke: one centre of excellence per type teaches every other member."""

from __future__ import annotations

import numpy as np

from sim.core.designs.base import register
from sim.core.designs.fixed_partner import FixedPartner


@register
class HubAndSpoke(FixedPartner):
    """One centre of excellence per type teaches every other member, whatever the topic."""

    name = "hub"

    @staticmethod
    def partners(ranked: np.ndarray) -> np.ndarray:
        return np.full(len(ranked), ranked[0])  # the hub's own goals stay unmatched
