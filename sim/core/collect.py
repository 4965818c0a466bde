"""A scenario's tables gathered from its models, replication by replication (the model's side
of sim.results.tables: what a run records, and in which columns and types)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.config import Collect
from sim.core.agents import Institution
from sim.core.metrics import unmatched
from sim.core.model import TwinningModel
from sim.core.schedule import month_labels
from sim.results.tables import Results

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


Columns = dict[str, np.ndarray]


class Collector:
    """A scenario's tables, gathered as arrays replication by replication and made DataFrames
    once at the end: pandas' fixed cost per frame would exceed a replication's own run time.

    Replications of one scenario share their members, topics and calendar (they come from the
    configuration or its files, never from a draw), so the panel stores names as codes into
    the first replication's lists. With `Collect.summary` only the summary rows are kept."""

    def __init__(self, collect: Collect = Collect.all) -> None:
        self.tables = TABLES if collect is Collect.all else {}
        self.rows: list[dict] = []
        self.parts: dict[str, list[Columns]] = {name: [] for name in self.tables}
        self.labels: dict[str, list[str] | np.ndarray] = {}

    def add(self, model: TwinningModel, row: dict, run: int) -> None:
        """One finished replication and its summary row."""
        self.rows.append(row)
        self.labels = self.labels or panel_labels(model)
        for name, columns in self.tables.items():
            part = columns(model)
            n = len(next(iter(part.values()), ()))
            self.parts[name].append({"run": np.full(n, run), "seed": np.full(n, model.seed)} | part)

    def results(self, design: str) -> Results:
        frames = {name: pd.DataFrame() for name in Results.__annotations__}
        frames |= {name: self.frame(name, design) for name in self.tables}
        return Results(**frames | {"summary": pd.DataFrame(self.rows)})

    def frame(self, name: str, design: str) -> pd.DataFrame:
        """One table of every replication, tagged with run, seed and design."""
        parts = self.parts[name]
        columns = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        if name == "panel":
            columns = labelled(columns, self.labels)
        frame = pd.DataFrame(columns)
        frame.insert(2, "design", pd.Series(design, frame.index, dtype=TEXT))
        return frame.astype(DTYPES.get(name, {}))


def panel_columns(model: TwinningModel) -> Columns:
    """Month x (institution, topic) rows for every topic that applies to the institution."""
    pop, h = model.pop, model.history
    inst, topic = np.nonzero(pop.applies)
    months = h.capacity.shape[0]
    return {
        "month": np.repeat(np.arange(months), len(inst)),
        "institution": np.tile(inst, months),
        "topic": np.tile(topic, months),
        "capacity": h.capacity[:, inst, topic].ravel().astype(STATE),
        "kpi": h.kpi[:, inst, topic].ravel().astype(STATE),
        "goal": np.tile(model.kickoff.goals[inst, topic], months),
        "motivation": h.motivation[:, inst].ravel().astype(STATE),
        "leadership": h.leadership[:, inst].ravel().astype(STATE),
    }


def panel_labels(model: TwinningModel) -> dict[str, list[str] | np.ndarray]:
    """The names the panel's codes point into, and each member's type code."""
    pop = model.pop
    return {
        "date": month_labels(model.config.schedule),
        "institution": pop.names,
        "type": pop.kinds,
        "province": pop.province,
        "topic": pop.topics,
        "kind": pop.kind,
    }


def labelled(columns: Columns, labels: dict[str, list[str] | np.ndarray]) -> dict[str, object]:
    """The panel's codes as categories, in the panel's column order."""
    inst = columns["institution"]
    provinces, province = np.unique(np.array(labels["province"]), return_inverse=True)
    codes = {
        "date": (columns["month"], labels["date"]),
        "institution": (inst, labels["institution"]),
        "type": (labels["kind"][inst], labels["type"]),
        "province": (province[inst], list(provinces)),
        "topic": (columns["topic"], labels["topic"]),
    }
    categories = {k: _categorical(*v) for k, v in codes.items()}
    return {"run": columns["run"], "seed": columns["seed"], "month": columns["month"]} | (
        categories | {k: columns[k] for k in PANEL_STATE}
    )


def ties_columns(model: TwinningModel) -> Columns:
    """Every goal with its teacher, context fit and baseline KPIs; unserved goals as 'unmatched'."""
    pop, ties, obs = model.pop, model.ties, model.kickoff.observed
    lost_learner, lost_topic = np.nonzero(unmatched(model))
    learner = np.concatenate([ties.learner, lost_learner])
    topic = np.concatenate([ties.topic, lost_topic])
    lost = np.full(len(lost_learner), np.nan)
    none = [None] * len(lost_learner)
    teacher_obs = np.where(
        model.is_expert,
        model.config.network.expert_level,
        obs[np.minimum(ties.mentor, pop.size - 1), ties.topic],
    )
    text = lambda values: np.array(values, dtype=object)  # noqa: E731
    return {
        "learner": text(pop.names)[learner],
        "type": text(pop.kinds)[pop.kind[learner]],
        "topic": text(pop.topics)[topic],
        "teacher": text([model.teacher_name(m) for m in ties.mentor] + none),
        "teacher_kind": text(np.where(model.is_expert, "expert", "peer").tolist() + none),
        "status": text(["matched"] * len(ties) + ["unmatched"] * len(lost)),
        "learner_kpi": obs[learner, topic],
        "teacher_kpi": np.concatenate([teacher_obs, lost]),
        "context_fit": np.concatenate([model.fit, lost]),
    }


def events_columns(model: TwinningModel) -> Columns:
    """The event log: month, date, activity, mode, provincial group, participants and cost."""
    labels = np.array(month_labels(model.config.schedule), dtype=object)
    names = ["month", "event", "mode", "group", "participants", "cost"]
    columns = list(zip(*model.event_log, strict=True)) or [()] * len(names)
    log = {name: np.array(values) for name, values in zip(names, columns, strict=True)}
    month = log["month"].astype(np.int64)
    return {"month": month, "date": labels[month]} | {k: log[k] for k in names[1:]}


def model_vars_columns(model: TwinningModel) -> Columns:
    """The model reporters (sim.core.model.monthly_reporters, and the user's), month by month."""
    data = model.datacollector.model_vars
    months = np.arange(len(next(iter(data.values()))))
    return {"month": months} | {name: np.array(values) for name, values in data.items()}


def agent_vars_columns(model: TwinningModel) -> Columns:
    """The user's agent reporters: one row per month and member institution."""
    if not model.datacollector.agenttype_reporters:
        return {"month": np.zeros(0, dtype=np.int64), "institution": np.zeros(0, dtype=object)}
    data = model.datacollector.get_agenttype_vars_dataframe(Institution).reset_index()
    index = data["AgentID"].map({a.unique_id: a.index for a in model.agents_by_type[Institution]})
    return {
        "month": data["Step"].to_numpy(np.int64),
        "institution": np.array(model.pop.names, dtype=object)[index.to_numpy()],
    } | {name: data[name].to_numpy() for name in data.columns[2:]}


def _categorical(values: np.ndarray, labels: list[str]) -> pd.Categorical:
    return pd.Categorical.from_codes(values, categories=pd.Index(labels).unique())


PANEL_STATE = ["capacity", "kpi", "goal", "motivation", "leadership"]
TABLES = {
    "panel": panel_columns,
    "ties": ties_columns,
    "events": events_columns,
    "model_vars": model_vars_columns,
    "agent_vars": agent_vars_columns,
}
DTYPES = {"ties": TIES_DTYPES, "events": EVENTS_DTYPES}
