"""Outcome measures of one run: the article's estimator, true effects, equity, cost, sustainability.

The article compares members that chose a topic with members that did not (change in the measured
KPI from baseline to the end). The model also knows the truth: the same institutions with the same
seed under no programme, so "effect" below always means programme minus that counterfactual.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.model import TwinningModel

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


def summarise(model: TwinningModel) -> dict[str, float]:
    """One row of outcome measures for a finished run, effects against its counterfactual."""
    pop, h = model.pop, model.history
    end = model.config.schedule.programme_months
    later = model.months
    goals = model.kickoff.goals
    kpi = h.kpi
    row: dict[str, float] = {}
    for topic in model.config.headline_topics:
        k = pop.topics.index(topic) if topic in pop.topics else 0
        members = pop.applies[:, k] & (topic in pop.topics)  # none: no member has the topic
        chose = goals[members, k]
        change = kpi[end, members, k] - kpi[0, members, k]
        effect = h.capacity[end, members, k] - h.counterfactual[end, members, k]
        row[f"{topic}_estimate"] = selection_estimate(change, chose)
        row[f"{topic}_true_effect"] = _mean(effect[chose])
        row[f"{topic}_choosers"] = int(chose.sum())
    gain = h.capacity[end] - h.capacity[0]
    effect = h.capacity[end] - h.counterfactual[end]
    bottom = bottom_quartile(pop.applies, h.capacity[0], pop.kind)[:, None] & goals
    cost = sum(e[-1] for e in model.event_log)
    total_effect = effect[goals].sum()
    row |= {
        "mean_gain": _mean(gain[goals]),
        "mean_effect": _mean(effect[goals]),
        "bottom_quartile_gain": _mean(gain[bottom]),
        "bottom_quartile_effect": _mean(effect[bottom]),
        "sustained_gain": _mean(h.capacity[later][goals] - h.capacity[0][goals]),
        "sustained_effect": _mean(h.capacity[later][goals] - h.counterfactual[later][goals]),
        "total_cost": float(cost),
        "cost_per_point": float(cost / total_effect)
        if cost > 0 and total_effect > 0
        else float("nan"),
        "goals": int(goals.sum()),
        "unmatched_goals": int(unmatched(model).sum()),
    }
    return row


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
