"""Tidy tables of a scenario's replications, and their summary across replications.

Every table has one row per observation and carries `run`, `seed` and `design`, so tables from
different runs and sweeps concatenate without losing where a row came from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.metrics import unmatched
from sim.model import TwinningModel
from sim.schedule import month_labels

STATE = np.float32  # panel state columns: 7 digits are ample for 0-100 scores, half the storage
TEXT = "str"
TIES_DTYPES = {
    **dict.fromkeys(["learner", "type", "topic", "teacher", "teacher_kind", "status"], TEXT),
    **dict.fromkeys(["learner_kpi", "teacher_kpi", "context_fit"], "float64"),
}
EVENTS_DTYPES = {
    "month": "int64",
    **dict.fromkeys(["date", "event", "mode", "group"], TEXT),
    "participants": "int64",
    "cost": "float64",
}


@dataclass
class Results:
    panel: (
        pd.DataFrame
    )  # run, month, institution, topic: capacity, kpi, goal, motivation, leadership
    ties: pd.DataFrame  # one row per goal: its teacher, or status 'unmatched'
    events: pd.DataFrame  # one row per activity held: participants and cost
    summary: pd.DataFrame  # one row per replication: outcome measures (sim.metrics)

    def describe(self) -> pd.DataFrame:
        return describe(self.summary)


def describe(
    summary: pd.DataFrame, by: str = "design", measures: list[str] | None = None
) -> pd.DataFrame:
    """Per group (design by default) and measure: mean with its 95% confidence interval, and
    the 2.5-97.5% range across replications. Measures default to every numeric column."""
    if measures is None:
        labels = ["run", "seed", "particle", by]  # identify a replication; not measures
        measures = list(summary.drop(columns=labels, errors="ignore").select_dtypes("number"))
    grouped = summary[measures].groupby(summary[by], sort=False)
    n = grouped.count()
    mean, sd = grouped.mean(), grouped.std()
    half = 1.96 * sd / np.sqrt(n)
    table = pd.concat(
        {
            "mean": mean,
            "ci_low": mean - half,
            "ci_high": mean + half,
            "p2.5": grouped.quantile(0.025),
            "p97.5": grouped.quantile(0.975),
            "n": n,
        },
        names=["statistic"],
    )
    return table.stack().unstack("statistic").rename_axis([by, "measure"])


def _tag(frame: pd.DataFrame, model: TwinningModel, run: int) -> pd.DataFrame:
    frame.insert(0, "design", pd.Series(model.config.network.label, frame.index, dtype=TEXT))
    frame.insert(0, "seed", pd.Series(model.seed, frame.index, dtype="int64"))
    frame.insert(0, "run", pd.Series(run, frame.index, dtype="int64"))
    return frame


def _categorical(values: np.ndarray, labels: list[str]) -> pd.Categorical:
    return pd.Categorical.from_codes(values, categories=pd.Index(labels).unique())


def panel_frame(model: TwinningModel, run: int) -> pd.DataFrame:
    """Month x (institution, topic) rows for every topic that applies to the institution."""
    pop, h = model.pop, model.history
    inst, topic = np.nonzero(pop.applies)
    months = h.capacity.shape[0]
    inst_m, topic_m = np.tile(inst, months), np.tile(topic, months)
    month = np.repeat(np.arange(months), len(inst))
    labels = month_labels(model.config.schedule)
    frame = pd.DataFrame(
        {
            "month": month,
            "date": _categorical(month, labels),
            "institution": _categorical(inst_m, pop.names),
            "type": _categorical(pop.kind[inst_m], pop.kinds),
            "province": pd.Categorical(np.array(pop.province)[inst_m]),
            "topic": _categorical(topic_m, pop.topics),
            "capacity": h.capacity[:, inst, topic].ravel().astype(STATE),
            "kpi": h.kpi[:, inst, topic].ravel().astype(STATE),
            "goal": np.tile(model.kickoff.goals[inst, topic], months),
            "motivation": h.motivation[:, inst].ravel().astype(STATE),
            "leadership": h.leadership[:, inst].ravel().astype(STATE),
        }
    )
    return _tag(frame, model, run)


def ties_frame(model: TwinningModel, run: int) -> pd.DataFrame:
    """Every goal with its teacher, context fit and baseline KPIs; unserved goals as 'unmatched'."""
    pop, ties, obs = model.pop, model.ties, model.kickoff.observed
    lost_learner, lost_topic = np.nonzero(unmatched(model))
    learner = np.concatenate([ties.learner, lost_learner])
    topic = np.concatenate([ties.topic, lost_topic])
    mentor = ties.mentor
    n = len(ties)
    teacher_obs = np.where(
        model.is_expert,
        model.config.network.expert_level,
        obs[np.minimum(mentor, pop.size - 1), ties.topic],
    )
    frame = pd.DataFrame(
        {
            "learner": np.array(pop.names, dtype=object)[learner],
            "type": np.array(pop.kinds, dtype=object)[pop.kind[learner]],
            "topic": np.array(pop.topics, dtype=object)[topic],
            "teacher": [model.teacher_name(m) for m in mentor] + [None] * len(lost_learner),
            "teacher_kind": np.where(model.is_expert, "expert", "peer").tolist()
            + [None] * len(lost_learner),
            "status": ["matched"] * n + ["unmatched"] * len(lost_learner),
            "learner_kpi": obs[learner, topic],
            "teacher_kpi": np.concatenate([teacher_obs, np.full(len(lost_learner), np.nan)]),
            "context_fit": np.concatenate([model.fit, np.full(len(lost_learner), np.nan)]),
        }
    )
    return _tag(frame.astype(TIES_DTYPES), model, run)  # fixed dtypes, even when empty


def events_frame(model: TwinningModel, run: int) -> pd.DataFrame:
    """The event log: month, date, activity, mode, provincial group, participants and cost."""
    columns = ["month", "event", "mode", "group", "participants", "cost"]
    frame = pd.DataFrame(model.event_log, columns=columns)
    labels = month_labels(model.config.schedule)
    frame.insert(1, "date", [labels[m] for m in frame["month"]])
    return _tag(frame.astype(EVENTS_DTYPES), model, run)


def markdown(frame: pd.DataFrame, digits: int = 3) -> str:
    """A DataFrame as a Markdown table (numbers to `digits` significant digits, large numbers
    in full with thousands separators)."""

    def cell(v: object) -> str:
        if not isinstance(v, float):
            return str(v)
        return f"{v:,.0f}" if abs(v) >= 10**digits else f"{v:.{digits}g}"

    rows = [" | ".join(map(str, frame.columns))]
    rows += [" | ".join(cell(v) for v in row) for row in frame.itertuples(index=False)]
    lines = [f"| {r} |" for r in rows]
    return "\n".join([lines[0], "|---" * len(frame.columns) + "|", *lines[1:]])
