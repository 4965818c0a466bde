"""External validation: predict a programme the model was not fitted to, then set what it
reported against the prediction.

A programme is a folder: its members, pairs and calendar in the formats of sim.data.inputs, and a
`programme.yaml` naming the settings it needs and the outcomes it observed (a topic's mean, sd or
share of members improving, at given months, each with its source). The model predicts every
observation over many replications with nothing tuned to it; an observation passes when it lies
inside the central 95% of the predicted values (the predictive interval of one programme).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from sim.config import ConfigError, load_yaml
from sim.data.inputs import InputError, one_of, text, validate

STATISTICS = ("mean", "sd", "share_improving")
FILES = {"population": "institutions.csv", "network": "pairs.csv", "schedule": "calendar.csv"}


@dataclass(frozen=True)
class Programme:
    """A programme to predict: its name, source, settings and observations."""

    name: str
    source: str
    overrides: list[str]
    observations: pd.DataFrame  # topic, month, statistic, value, source

    def settings(self, folder: Path) -> list[str]:
        """Hydra overrides that read the folder's files, then the programme's own settings."""
        reads = []
        for group, name in FILES.items():
            if (folder / name).is_file():
                design = ["network=from_file"] if group == "network" else []
                calendar = ["schedule.exchange_visit_every=0"] if group == "schedule" else []
                reads += [*design, f"{group}.path={folder / name}", *calendar]
        return [*reads, *self.overrides]


def read_programme(folder: Path) -> Programme:
    """`programme.yaml` of `folder`, read as data (`sim.config.load_yaml`) and checked."""
    path = folder / "programme.yaml"
    if not path.is_file():
        raise InputError(f"{path}: no such file: allowed a programme folder with programme.yaml")
    data = load_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("observations"), list):
        raise InputError(f"{path}: allowed a mapping with name, source, overrides, observations")
    observations = pd.DataFrame(data["observations"]).astype(str)
    schema = pa.DataFrameSchema(
        {
            "topic": text(),
            "month": pa.Column(int, pa.Check.ge(0, error="a month >= 0"), coerce=True),
            "statistic": text(one_of(list(STATISTICS))),
            "value": pa.Column(
                float, pa.Check.in_range(0, 100, error="a number in [0, 100]"), coerce=True
            ),
            "source": text(),
        }
    )
    observations = validate(observations, schema, f"{path} observations")
    return Programme(
        str(data.get("name", folder.name)),
        str(data.get("source", "")),
        [str(o) for o in data.get("overrides", [])],
        observations,
    )


def statistic(panel: pd.DataFrame, topic: str, month: int, kind: str) -> pd.Series:
    """Per replication: the members' mean or sd of the observed KPI in `topic` at `month`, or
    the share of members whose KPI is higher than at the kick-off (percent)."""
    rows = panel[panel["topic"] == topic]
    at = rows[rows["month"] == month].set_index(["run", "institution"])["kpi"]
    if at.empty:
        raise ConfigError(
            f"observation of {topic!r} at month {month}: no member has that topic at that month "
            f"(months 0-{int(panel['month'].max())})"
        )
    if kind == "share_improving":
        start = rows[rows["month"] == 0].set_index(["run", "institution"])["kpi"]
        return 100 * (at > start.reindex(at.index)).groupby(level="run").mean()
    grouped = at.astype(float).groupby(level="run")
    return grouped.mean() if kind == "mean" else grouped.std()


def predict(panel: pd.DataFrame, observations: pd.DataFrame) -> pd.DataFrame:
    """Each observation beside the model's prediction: mean over replications and the central
    95% of them, and whether the observed value lies inside."""
    rows = []
    for obs in observations.itertuples(index=False):
        predicted = statistic(panel, obs.topic, obs.month, obs.statistic)
        low, high = np.quantile(predicted, [0.025, 0.975])
        rows.append(
            {
                "topic": obs.topic,
                "month": obs.month,
                "statistic": obs.statistic,
                "observed": obs.value,
                "predicted": float(predicted.mean()),
                "low": float(low),
                "high": float(high),
                "passed": bool(low <= obs.value <= high),
                "source": obs.source,
            }
        )
    return pd.DataFrame(rows)


def every_member_improves(panel: pd.DataFrame, observations: pd.DataFrame) -> pd.DataFrame:
    """Per observed topic: the share of replications in which every member's KPI rose between
    each pair of consecutive measurement months (the kick-off included)."""
    rows = []
    for topic, obs in observations.groupby("topic", sort=False):
        months = sorted({0, *obs["month"]})
        kpi = panel[(panel["topic"] == topic) & panel["month"].isin(months)]
        wide = kpi.pivot_table(index=["run", "institution"], columns="month", values="kpi")
        rose = (wide[months].diff(axis=1).iloc[:, 1:] > 0).all(axis=1)
        share = rose.groupby(level="run").all().mean()
        rows.append({"topic": topic, "months": months, "every_member_improves": float(share)})
    return pd.DataFrame(rows)
