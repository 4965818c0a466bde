"""Classic WHO twinning: fixed pairs of the same type, strongest with weakest."""

from __future__ import annotations

import numpy as np

from sim.core.designs.base import register
from sim.core.designs.fixed_partner import FixedPartner


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
