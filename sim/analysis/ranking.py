"""Which design does best, and under which conditions the order changes.

All jobs of a sweep share the root seed, so within one condition replication r of every design has
the same institutions and random draws. Differences between designs are therefore paired by seed,
which is what makes a small gap between two designs detectable, and what the margins below use.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis.outcomes import axis_title, label
from sim.core.metrics import OUTCOMES

# Outcome measures a ranking can use (whether more is better is declared in sim.core.metrics).
RANKED_MEASURES = ["mean_effect", "bottom_quartile_effect", "sustained_effect", "cost_per_point"]


def condition_groups(summary: pd.DataFrame, conditions: list[str]):
    """(condition values as a dict, rows) per condition; one group if there are no conditions."""
    if not conditions:
        yield {}, summary
        return
    for values, rows in summary.groupby(conditions, sort=True):
        yield dict(zip(conditions, values, strict=True)), rows


def paired_margin(
    rows: pd.DataFrame, first: str, second: str, measure: str, by: str = "design"
) -> tuple:
    """Mean of `first` minus `second` (values of column `by`) over replications sharing a seed,
    with its 95% interval; NaN where no seed has both values."""
    wide = rows.pivot_table(index="seed", columns=by, values=measure, dropna=False)
    diff = (wide[first] - wide[second]).dropna()
    half = 1.96 * diff.std() / np.sqrt(len(diff)) if len(diff) > 1 else np.nan
    return diff.mean(), diff.mean() - half, diff.mean() + half


def rank_designs(
    summary: pd.DataFrame, conditions: list[str], measure: str = "mean_effect"
) -> pd.DataFrame:
    """One row per condition: the designs from best to worst by their mean `measure`, the leader,
    and its paired margin over the runner-up with a 95% interval ('clear' if it excludes 0).

    `none` is left out: its effect is zero by construction, so it would only rank last.
    """
    higher = OUTCOMES[measure].higher_is_better
    programmes = summary[summary["design"] != "none"]
    rows = []
    for values, group in condition_groups(programmes, conditions):
        means = group.groupby("design")[measure].mean().dropna().sort_values(ascending=not higher)
        if len(means) < 2:
            continue
        best, runner_up = means.index[:2]
        margin, low, high = paired_margin(group, best, runner_up, measure)
        shares = best_shares(group, measure).reindex(means.index, fill_value=0.0)
        shares = shares.sort_values(ascending=False, kind="stable")  # ties in order of means
        if not higher:
            margin, low, high = -margin, -high, -low
        rows.append(
            values
            | {
                "ranking": " > ".join(means.index),
                "best": best,
                "runner_up": runner_up,
                "margin": margin,
                "margin_low": low,
                "margin_high": high,
                "clear": bool(low > 0),
                "p_best": ", ".join(f"{d} {p:.2f}" for d, p in shares.items()),
            }
        )
    return pd.DataFrame(rows)


def best_shares(rows: pd.DataFrame, measure: str) -> pd.Series:
    """Per design, the share of replications (seeds) in which it does best by `measure` among
    the designs run with that seed. With `calibration.sample=posterior` every seed also draws
    its own parameter set, so this is the probability that the design is best given the model
    and what the calibration leaves uncertain."""
    wide = rows.pivot_table(index="seed", columns="design", values=measure).dropna()
    best = wide.idxmax(axis=1) if OUTCOMES[measure].higher_is_better else wide.idxmin(axis=1)
    return best.value_counts(normalize=True).reindex(wide.columns, fill_value=0.0)


def ranking_overview(summary: pd.DataFrame, conditions: list[str]) -> pd.DataFrame:
    """Per condition and ranked measure: the leader with its margin over the runner-up, as text
    ('tpn +2.1 [1.5, 2.7]'; '~' marks a lead whose interval includes 0). A table for readers:
    conditions and measures are headed in words with units (sim.analysis.outcomes)."""
    parts = []
    for measure in (m for m in RANKED_MEASURES if m in summary):
        table = rank_designs(summary, conditions, measure)
        if table.empty:
            continue
        text = [
            f"{r.best} {'' if r.clear else '~'}{r.margin:+,.2f} "
            f"[{r.margin_low:,.2f}, {r.margin_high:,.2f}]"
            for r in table.itertuples()
        ]
        columns = {axis_title(measure): text}
        if not parts:  # the full order by the first measure, to see changes below the top
            columns = {
                f"order by {label(measure)}": table["ranking"],
                "probability of being best": table["p_best"],
            } | columns
        frame = table.assign(**columns)[conditions + list(columns)]
        parts.append(frame.set_index(conditions) if conditions else frame)
    if not parts:
        return pd.DataFrame()
    overview = pd.concat(parts, axis=1)
    overview = overview.reset_index() if conditions else overview
    return overview.rename(columns={c: axis_title(c) for c in conditions})


def leader_map(summary: pd.DataFrame, rows: str, columns: str, measure: str) -> pd.DataFrame:
    """The leader by `measure` on a two-condition grid, as text: 'tpn +2.1' (its margin over the
    runner-up; for cost per point, USD per point cheaper), '(~)' where the lead is not clear."""
    table = rank_designs(summary, [rows, columns], measure)
    table["leader"] = [
        f"{r.best}{'' if r.clear else ' (~)'} {r.margin:+,.{0 if r.margin >= 100 else 1}f}"
        for r in table.itertuples()
    ]
    return table.pivot(index=rows, columns=columns, values="leader")
