"""The article-replication study: the published comparison set against the model's truth.

The article (Gasana et al. 2024) reports one number per headline topic: the change of members
that chose the topic minus the change of those that did not. Over many replications of the
default scenario this module asks how often such a comparison comes out as published, what a
baseline-adjusted regression makes of the same data, and how much of the contrast is the
programme's doing (the model knows, from each replication's no-programme twin).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from statsmodels.regression.linear_model import OLS

from sim.core.metrics import PUBLISHED_ESTIMATES, selection_estimate
from sim.results.tables import markdown

# Who the article compared in each headline topic (accreditation is a hospital topic, CBHI
# coverage a district one): the table names them so it reads like the article.
MEMBERS = {"accreditation": "hospitals", "cbhi_coverage": "districts"}
PANEL_COLUMNS = ["run", "institution", "topic", "month", "kpi", "goal"]  # what `changes` needs
NAN3 = (float("nan"),) * 3


def changes(panel: pd.DataFrame, topic: str, end_month: int) -> pd.DataFrame:
    """One row per (run, institution) of `topic`: baseline KPI (month 0), end KPI, change and
    whether the member chose the topic, the inputs of both the article's comparison and the
    adjusted one. Needs only the panel's PANEL_COLUMNS at months 0 and `end_month`."""
    rows = panel.loc[panel["topic"] == topic, ["run", "institution", "month", "kpi", "goal"]]
    baseline, end = rows[rows["month"] == 0], rows[rows["month"] == end_month]
    if baseline.empty or end.empty:
        raise ValueError(f"panel has no rows of topic {topic!r} at month 0 and {end_month}")
    frame = baseline.merge(
        end[["run", "institution", "kpi"]],
        on=["run", "institution"],
        suffixes=("_baseline", "_end"),
        validate="one_to_one",  # several runs under one run number would be mixed up
    )
    return pd.DataFrame(
        {
            "run": frame["run"],
            "institution": frame["institution"],
            "baseline": frame["kpi_baseline"].astype("float64"),
            "end": frame["kpi_end"].astype("float64"),
            "change": frame["kpi_end"].astype("float64") - frame["kpi_baseline"],
            "chose": frame["goal"].astype(bool),
        }
    )


def adjusted_estimate(frame: pd.DataFrame) -> tuple[float, float, float]:
    """OLS of change on chose and baseline KPI in one run: the chooser coefficient and its 95%
    confidence interval. Adjusting for the baseline removes regression to the mean, which the
    article's raw contrast mixes in when choosers start lower or higher than the others.
    NaNs when the fit is degenerate (a group empty, or no residual degree of freedom)."""
    design = np.column_stack(
        [np.ones(len(frame)), frame["chose"].astype(float), frame["baseline"].astype(float)]
    )
    if len(frame) <= design.shape[1] or np.linalg.matrix_rank(design) < design.shape[1]:
        return NAN3
    fit = OLS(frame["change"].to_numpy(dtype=float), design).fit()
    low, high = fit.conf_int(0.05)[1]
    return float(fit.params[1]), float(low), float(high)


def run_estimates(frame: pd.DataFrame) -> pd.DataFrame:
    """Per run of a `changes` frame: the article's estimator and the adjusted coefficient with
    its confidence interval."""
    rows = {
        run: (
            selection_estimate(group["change"].to_numpy(), group["chose"].to_numpy()),
            *adjusted_estimate(group),
        )
        for run, group in frame.groupby("run", sort=True)
    }
    columns = ["estimate", "coef", "ci_low", "ci_high"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns).rename_axis("run")


def replication_table(
    summary: pd.DataFrame, changes_by_topic: dict[str, pd.DataFrame]
) -> pd.DataFrame:
    """Per headline topic, the published value against the simulated distribution of the
    article's estimator, the baseline-adjusted coefficient, the true effect on choosers and
    the share of the contrast that is selection, not programme.

    Statistics are over the replications in which the comparison exists (both groups
    non-empty), as it did in the article; `replications` counts them. Raises ValueError if the
    changes do not reproduce the summary's estimator (a panel of other runs, or a wrong end
    month), so the two columns always describe the same comparisons.
    """
    by_run = summary.set_index("run")
    rows = {}
    for topic, published in PUBLISHED_ESTIMATES.items():
        per_run = run_estimates(changes_by_topic[topic])
        estimate = by_run[f"{topic}_estimate"]
        recomputed = per_run["estimate"].reindex(estimate.index)
        if not np.allclose(estimate, recomputed, atol=1e-3, equal_nan=True):
            raise ValueError(f"{topic}: the panel's changes do not reproduce summary's estimator")
        defined = estimate.notna()
        estimate, true_effect = estimate[defined], by_run.loc[defined, f"{topic}_true_effect"]
        fits = per_run.reindex(estimate.index).dropna()
        significant = (fits["ci_low"] > 0) | (fits["ci_high"] < 0)
        rows[topic] = {
            "members": MEMBERS[topic],
            "published": published,
            "estimator_mean": estimate.mean(),
            "estimator_low": estimate.quantile(0.025),
            "estimator_high": estimate.quantile(0.975),
            "estimator_positive": (estimate > 0).mean(),
            "adjusted_mean": fits["coef"].mean(),
            "adjusted_low": fits["coef"].quantile(0.025),
            "adjusted_high": fits["coef"].quantile(0.975),
            "adjusted_power": significant.mean(),
            "true_effect": true_effect.mean(),
            "selection_share": (estimate.mean() - true_effect.mean()) / estimate.mean(),
            "replications": int(defined.sum()),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("topic")


def markdown_table(table: pd.DataFrame) -> str:
    """The replication table as Markdown: points with 2.5-97.5% ranges, shares in percent."""

    def interval(r: pd.Series, name: str) -> str:
        return f"{r[name + '_mean']:.2f} [{r[name + '_low']:.2f}, {r[name + '_high']:.2f}]"

    rows = [
        {
            "topic": f"{topic} ({r['members']})",
            "published": f"{r['published']:.1f}",
            "article's estimator: mean [2.5%, 97.5%]": interval(r, "estimator"),
            "estimator > 0": f"{r['estimator_positive']:.0%}",
            "adjusted coefficient: mean [2.5%, 97.5%]": interval(r, "adjusted"),
            "adjusted CI excludes 0": f"{r['adjusted_power']:.0%}",
            "true effect on choosers": f"{r['true_effect']:.2f}",
            "selection share": f"{r['selection_share']:.0%}",
            "replications": str(r["replications"]),
        }
        for topic, r in table.iterrows()
    ]
    return markdown(pd.DataFrame(rows))


def estimator_figure(summary: pd.DataFrame) -> Figure:
    """The article's estimator across replications per headline topic, with the published value
    and the mean true effect on choosers marked: how far one published contrast can fall from
    the truth, and from another run of the same programme."""
    fig, axes = plt.subplots(1, len(PUBLISHED_ESTIMATES), figsize=(12, 4.5))
    for ax, (topic, published) in zip(axes, PUBLISHED_ESTIMATES.items(), strict=True):
        defined = summary[summary[f"{topic}_estimate"].notna()]
        sns.histplot(defined, x=f"{topic}_estimate", stat="density", kde=True, ax=ax)
        ax.axvline(published, color="black", linestyle="--", label=f"published ({published})")
        truth = defined[f"{topic}_true_effect"].mean()
        ax.axvline(truth, color="C3", linestyle=":", linewidth=2, label="true effect, mean")
        ax.set(
            title=f"{topic} ({MEMBERS[topic]})",
            xlabel="choosers minus others: change in points",
            ylabel="density",
        )
        ax.legend(fontsize="small", loc="upper right")
    fig.suptitle("The article's estimator across replications")
    fig.tight_layout()
    return fig
