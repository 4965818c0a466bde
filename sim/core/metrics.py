"""Outcome measures of one run: the article's estimator, true effects, equity, cost, sustainability.

Each measure is declared once below (`OUTCOMES`, `TOPIC_OUTCOMES`) with its label, unit, direction
and how a run yields it, so the summary, figures, report and ranking cannot disagree about it.

The article compares members that chose a topic with members that did not (change in the measured
KPI from baseline to the end). The model also knows the truth: the same institutions with the same
seed under no programme, so "effect" below always means programme minus that counterfactual.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sim.core.model import TwinningModel
    from sim.core.population import Population

# The article's published results (Gasana et al. 2024), in points: the calibration targets.
PUBLISHED_ESTIMATES = {"accreditation": 5.6, "cbhi_coverage": 4.8}


def selection_estimate(change: np.ndarray, chose: np.ndarray) -> float:
    """Mean change of choosers minus mean change of the others; NaN if either group is empty."""
    chose = np.asarray(chose, dtype=bool)
    if chose.all() or not chose.any():
        return float("nan")
    return float(np.mean(change[chose]) - np.mean(change[~chose]))


def panel_selection_estimate(panel: pd.DataFrame, topic: str, end_month: int) -> float:
    """The article's estimator from one run's tidy panel (institution, topic, month, kpi, goal)."""
    if "run" in panel and panel["run"].nunique() > 1:
        raise ValueError(
            f"panel holds {panel['run'].nunique()} runs: pass one run, e.g. panel[panel.run == 0]"
        )
    rows = panel[panel["topic"] == topic]
    wide = rows.pivot_table(index="institution", columns="month", values="kpi", observed=True)
    chose = rows.groupby("institution", observed=True)["goal"].first().reindex(wide.index)
    return selection_estimate((wide[end_month] - wide[0]).to_numpy(), chose.to_numpy())


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else float("nan")


@dataclass(frozen=True)
class Choice:
    """A headline topic's members (those of a type that has it; none if no member has it): who
    chose it, and each one's change in observed KPI and programme effect by the programme's end."""

    chose: np.ndarray
    change: np.ndarray
    effect: np.ndarray

    @classmethod
    def of(
        cls, pop: Population, goals: np.ndarray, topic: str, change: np.ndarray, effect: np.ndarray
    ) -> Choice:
        """From the (N, K) goals, change and effect of every member."""
        k = pop.topics.index(topic) if topic in pop.topics else 0
        members = pop.applies[:, k] & (topic in pop.topics)
        return cls(goals[members, k], change[members, k], effect[members, k])


@dataclass(frozen=True)
class Run:
    """What the outcome measures read from one run and its counterfactual, computed once per
    run so that measures sharing an array do not compute it again. (N, K) arrays; C is the
    run's true capacity, Ccf the counterfactual's (sim.core.model.History), `end` the programme's
    last month, `later` follow-up's."""

    model: TwinningModel
    goals: np.ndarray  # goal cells
    bottom: np.ndarray  # goal cells of members in the bottom quartile of their type
    gain: np.ndarray  # C(end) - C(0)
    effect: np.ndarray  # C(end) - Ccf(end)
    sustained_gain: np.ndarray  # C(later) - C(0)
    sustained_effect: np.ndarray  # C(later) - Ccf(later)
    cost: float  # of every activity in the event log
    choices: dict[str, Choice]  # per headline topic

    @classmethod
    def of(cls, model: TwinningModel) -> Run:
        h = model.history
        c, cf, kpi = h.capacity, h.counterfactual, h.kpi
        pop, goals = model.pop, model.kickoff.goals
        end, later = model.config.schedule.programme_months, model.months
        effect, change = c[end] - cf[end], kpi[end] - kpi[0]
        return cls(
            model=model,
            goals=goals,
            bottom=bottom_quartile(pop.applies, c[0], pop.kind)[:, None] & goals,
            gain=c[end] - c[0],
            effect=effect,
            sustained_gain=c[later] - c[0],
            sustained_effect=c[later] - cf[later],
            cost=sum(e[-1] for e in model.event_log),
            choices={
                t: Choice.of(pop, goals, t, change, effect) for t in model.config.headline_topics
            },
        )


def cost_per_point(run: Run) -> float:
    """Cost over the summed effect in goal cells; NaN unless both are positive."""
    total_effect = run.effect[run.goals].sum()
    return float(run.cost / total_effect) if run.cost > 0 and total_effect > 0 else float("nan")


@dataclass(frozen=True)
class Outcome:
    """A summary measure: its column, label in words, unit, how a run yields it, and whether a
    higher value is better (None for counts and estimates that describe rather than judge)."""

    column: str
    label: str
    unit: str
    measure: Callable[[Run], float]
    higher_is_better: bool | None = True


@dataclass(frozen=True)
class TopicOutcome:
    """A measure of every headline topic (the topics are configurable): column
    `{topic}_{suffix}`, its label with `{topic}` for the topic's name."""

    suffix: str
    label: str
    unit: str
    measure: Callable[[Choice], float]
    higher_is_better: bool | None = None

    def of(self, topic: str, name: str) -> Outcome:
        """This measure of `topic`, labelled with `name` (the topic in words)."""
        return Outcome(
            f"{topic}_{self.suffix}",
            self.label.format(topic=name),
            self.unit,
            lambda run: self.measure(run.choices[topic]),
            self.higher_is_better,
        )


# Every outcome measure, declared once with how a run yields it: summarise computes exactly these,
# and labels, units and direction in figures, report, ranking and comparisons are read from here.
# A new measure is one more declaration (and its definition in docs/ODD.md, 7.16).
TOPIC_OUTCOMES = {
    t.suffix: t
    for t in [
        TopicOutcome(
            "estimate",
            "{topic}: article's estimator, choosers minus others",
            "points",
            lambda c: selection_estimate(c.change, c.chose),
        ),
        TopicOutcome(
            "true_effect",
            "{topic}: programme effect on choosers",
            "points",
            lambda c: _mean(c.effect[c.chose]),
            higher_is_better=True,
        ),
        TopicOutcome(
            "choosers", "{topic}: members that chose it", "members", lambda c: int(c.chose.sum())
        ),
    ]
}
OUTCOMES = {
    o.column: o
    for o in [
        Outcome("mean_gain", "gain in chosen topics", "points", lambda r: _mean(r.gain[r.goals])),
        Outcome(
            "mean_effect",
            "programme effect in chosen topics",
            "points",
            lambda r: _mean(r.effect[r.goals]),
        ),
        Outcome(
            "bottom_quartile_gain",
            "gain of the bottom quartile",
            "points",
            lambda r: _mean(r.gain[r.bottom]),
        ),
        Outcome(
            "bottom_quartile_effect",
            "programme effect on the bottom quartile",
            "points",
            lambda r: _mean(r.effect[r.bottom]),
        ),
        Outcome(
            "sustained_gain",
            "gain at the end of follow-up",
            "points",
            lambda r: _mean(r.sustained_gain[r.goals]),
        ),
        Outcome(
            "sustained_effect",
            "programme effect at the end of follow-up",
            "points",
            lambda r: _mean(r.sustained_effect[r.goals]),
        ),
        Outcome("total_cost", "total cost", "USD", lambda r: float(r.cost), higher_is_better=False),
        Outcome(
            "cost_per_point",
            "cost per point gained",
            "USD per point",
            cost_per_point,
            higher_is_better=False,
        ),
        Outcome(
            "goals", "learning goals", "goals", lambda r: int(r.goals.sum()), higher_is_better=None
        ),
        Outcome(
            "unmatched_goals",
            "learning goals without a teacher",
            "goals",
            lambda r: int(unmatched(r.model).sum()),
            higher_is_better=False,
        ),
    ]
}


def declared(topics: list[str]) -> list[Outcome]:
    """The outcomes of a run with these headline topics, in the summary's column order."""
    per_topic = [t.of(topic, topic) for topic in topics for t in TOPIC_OUTCOMES.values()]
    return per_topic + list(OUTCOMES.values())


def summarise(model: TwinningModel) -> dict[str, float]:
    """One row of outcome measures for a finished run, against its counterfactual: every declared
    outcome, nothing else."""
    run = Run.of(model)
    return {o.column: o.measure(run) for o in declared(model.config.headline_topics)}


def bottom_quartile(applies: np.ndarray, capacity: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Members in the lowest quarter of their type by mean baseline capacity (the equity group)."""
    mean = (capacity * applies).sum(axis=1) / np.maximum(applies.sum(axis=1), 1)
    low = np.zeros(len(mean), dtype=bool)
    for k in np.unique(kind):
        members = kind == k
        low[members] = mean[members] <= np.quantile(mean[members], 0.25)
    return low


def unmatched(model: TwinningModel) -> np.ndarray:
    """(N, K) goals of a programme design that no tie serves."""
    served = np.zeros_like(model.kickoff.goals)
    served[model.ties.learner, model.ties.topic] = True
    return model.kickoff.goals & ~served if model.design.programme else np.zeros_like(served)
