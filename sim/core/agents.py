"""Mesa agents: member institutions (of the configured types) and outside experts.

The model keeps state in arrays so that learning is one vectorised update over all ties; each agent
is a named view onto its row, which is what notebooks and users inspect. A member's type
(hospital, district health team, health centre, ...) is data, not a class: select members of one
type with `model.agents.select(lambda a: a.kind == "hospital")`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

if TYPE_CHECKING:
    from sim.core.model import TwinningModel


class Institution(mesa.Agent):
    """A network member: one row of the model's state arrays."""

    model: TwinningModel

    def __init__(self, model: TwinningModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def kind(self) -> str:
        """The member's institution type, e.g. 'hospital' (population.types)."""
        return self.model.pop.kinds[self.model.pop.kind[self.index]]

    @property
    def id(self) -> str:
        """The member's id (its line in an institutions file)."""
        return self.model.pop.ids[self.index]

    @property
    def name(self) -> str:
        return self.model.pop.names[self.index]

    @property
    def province(self) -> str:
        return self.model.pop.province[self.index]

    @property
    def resource(self) -> float:
        return float(self.model.pop.resource[self.index])

    @property
    def time(self) -> float:
        """Share of staff time and resources dedicated to the programme."""
        return float(self.model.pop.time[self.index])

    @property
    def motivation(self) -> float:
        return float(self.model.motivation[self.index])

    @property
    def leadership(self) -> float:
        return float(self.model.leadership[self.index])

    @property
    def capacity(self) -> dict[str, float]:
        """True capacity per topic area, on each KPI's 0-100 scale."""
        row = self.model.capacity()[self.index]
        return {t: float(row[k]) for k, t in self.model.topic_items(self.index)}

    @property
    def goals(self) -> list[str]:
        return [
            t
            for k, t in self.model.topic_items(self.index)
            if self.model.kickoff.goals[self.index, k]
        ]

    @property
    def partners(self) -> dict[str, str]:
        """Goal topic -> name of the teacher the design gave it."""
        ties, topics = self.model.ties, self.model.pop.topics
        mine = (ties.learner == self.index).nonzero()[0]
        return {topics[ties.topic[e]]: self.model.teacher_name(ties.mentor[e]) for e in mine}


class ExternalExpert(mesa.Agent):
    """An outside technical expert: knows every topic well but fits local context less."""

    def __init__(self, model: TwinningModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def name(self) -> str:
        return f"expert {self.index + 1}"
