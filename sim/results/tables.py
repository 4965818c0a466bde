"""Tidy tables of a scenario's replications, and their summary across replications.

Every table has one row per observation and carries `run`, `seed` and `design`, so tables from
different runs and sweeps concatenate without losing where a row came from. Nothing here knows
the model: sim.core.collect fills these tables, the store (sim.results.store) keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class Results:
    panel: pd.DataFrame  # run, month, institution, topic: capacity, kpi, goal, motivation, ...
    ties: pd.DataFrame  # one row per goal: its teacher, or status 'unmatched'
    events: pd.DataFrame  # one row per activity held: participants and cost
    summary: pd.DataFrame  # one row per replication: outcome measures (sim.core.metrics)
    model_vars: pd.DataFrame = field(default_factory=pd.DataFrame)  # run, month: model reporters
    agent_vars: pd.DataFrame = field(default_factory=pd.DataFrame)  # ... institution: agents'

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
