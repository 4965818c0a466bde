"""Sobol and Morris indices of a finished study (sim.analysis.sensitivity.study), their
directions, and a figure: which assumptions decide the outcomes, and which way."""

from __future__ import annotations

import math
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from SALib.analyze import morris as morris_analysis
from SALib.analyze import sobol as sobol_analysis
from scipy.stats import spearmanr

from sim.analysis.plots import OUTSIDE
from sim.analysis.sensitivity.study import (
    EXPERTS,
    PEERS,
    Factor,
    Method,
    SensitivityConfig,
    problem,
)
from sim.config import ConfigError

# What each point reports, as means over its replications (columns of sim.core.metrics).
OUTPUTS = {
    "accreditation_estimate": "article's estimator, accreditation (TPN)",
    "cbhi_coverage_estimate": "article's estimator, CBHI coverage (TPN)",
    "mean_effect": "true programme effect (TPN)",
    "peers_minus_experts": "TPN minus external experts, true effect at equal budget",
    "bottom_quartile_gain": "gain of the bottom quartile (TPN)",
    "cost_per_point": "cost per point gained (TPN)",
}
CONFIDENCE = 0.95
RESAMPLES = 1000  # bootstrap resamples of SALib's confidence intervals


def outputs(summary: pd.DataFrame) -> pd.DataFrame:
    """Per point (rows, in point order): each of OUTPUTS, as the mean over its replications;
    the difference of designs is taken seed by seed first. Undefined values (a topic nobody
    chose in a replication) are left out of a mean, and a point with none defined is refused."""
    by_design = {
        d: s.set_index(["point", "seed"]).sort_index() for d, s in summary.groupby("design")
    }
    missing = {PEERS, EXPERTS} - by_design.keys()
    if missing:
        raise ConfigError(
            f"the study's runs lack design(s) {sorted(missing)}: allowed a sweep over "
            f"network={PEERS},{EXPERTS}"
        )
    peers, experts = by_design[PEERS], by_design[EXPERTS]
    if not peers.index.equals(experts.index):
        raise ConfigError("the two designs' runs differ in points or seeds: run both in full")
    table = peers[[k for k in OUTPUTS if k in peers]].assign(
        peers_minus_experts=peers["mean_effect"] - experts["mean_effect"]
    )
    means = table.groupby(level="point").mean()[list(OUTPUTS)]
    undefined = means.columns[means.isna().any()].tolist()
    if undefined:
        point = int(means.index[means[undefined[0]].isna()][0])
        raise ConfigError(
            f"{undefined[0]} is undefined in every replication of point {point}: allowed "
            "outputs defined at every point (raise replications, or leave the output out)"
        )
    return means


def indices(
    study: SensitivityConfig,
    space: list[Factor],
    points: np.ndarray,
    means: pd.DataFrame,
    seed: int,
) -> pd.DataFrame:
    """Tidy indices: one row per output, factor and index, with its 95% confidence interval
    (SALib's bootstrap). Sobol: `S1` (first order) and `ST` (total); Morris: `mu_star` (mean
    absolute elementary effect, in the output's unit) and `sigma` (its spread: interactions)."""
    if len(means) != len(points) or not (means.index == np.arange(len(points))).all():
        raise ConfigError(
            f"the study's runs hold {len(means)} of its {len(points)} points: allowed a complete "
            "study (run the sweep again to finish it)"
        )
    rows = []
    spec = problem(space)
    for output in OUTPUTS:
        y = means[output].to_numpy(float)
        if study.method == Method.sobol:
            found = sobol_analysis.analyze(
                spec,
                y,
                calc_second_order=False,
                num_resamples=RESAMPLES,
                conf_level=CONFIDENCE,
                seed=seed,
            )
            pairs = {"S1": ("S1", "S1_conf"), "ST": ("ST", "ST_conf")}
        else:
            found = morris_analysis.analyze(
                spec,
                points,
                y,
                num_resamples=RESAMPLES,
                conf_level=CONFIDENCE,
                num_levels=study.levels,
                seed=seed,
            )
            pairs = {"mu_star": ("mu_star", "mu_star_conf"), "sigma": ("sigma", None)}
        for index, (value, conf) in pairs.items():
            for i, f in enumerate(space):
                half = found[conf][i] if conf else math.nan
                rows.append(
                    {
                        "output": output,
                        "factor": f.key,
                        "index": index,
                        "value": float(found[value][i]),
                        "ci_low": float(found[value][i] - half),
                        "ci_high": float(found[value][i] + half),
                    }
                )
    return pd.DataFrame(rows)


def directions(space: list[Factor], points: np.ndarray, means: pd.DataFrame) -> pd.DataFrame:
    """Per output and factor, Spearman's rank correlation over the points: indices give a
    factor's weight, its sign whether raising the factor raises the output."""
    rows = [
        {"output": o, "factor": f.key, "rho": spearmanr(points[:, i], means[o]).statistic}
        for o in OUTPUTS
        for i, f in enumerate(space)
    ]
    return pd.DataFrame(rows)


def ranked(table: pd.DataFrame, signs: pd.DataFrame) -> pd.DataFrame:
    """Per output, the factors from most to least influential (total index, or mu_star), with
    their interval and direction (`directions`)."""
    lead = "ST" if "ST" in set(table["index"]) else "mu_star"
    order = table[table["index"] == lead].sort_values(["output", "value"], ascending=[True, False])
    order = order.merge(signs, on=["output", "factor"])
    return order[["output", "factor", "value", "ci_low", "ci_high", "rho"]].rename(
        columns={"value": lead}
    )


def figure(table: pd.DataFrame) -> Figure:
    """One panel per output: each factor's indices as bars with their 95% intervals."""
    outputs_shown = list(dict.fromkeys(table["output"]))
    kinds = list(dict.fromkeys(table["index"]))
    names = list(dict.fromkeys(table["factor"]))
    rows = -(-len(outputs_shown) // 3)
    fig, axes = plt.subplots(rows, 3, figsize=(14, 4.6 * rows), sharey=True, squeeze=False)
    height = 0.8 / len(kinds)
    for ax, output in zip(axes.flat, outputs_shown, strict=False):
        for k, (kind, color) in enumerate(zip(kinds, sns.color_palette(), strict=False)):
            shown = table[(table["output"] == output) & (table["index"] == kind)]
            shown = shown.set_index("factor").loc[names]
            errors = [shown["value"] - shown["ci_low"], shown["ci_high"] - shown["value"]]
            offset = (k - (len(kinds) - 1) / 2) * height
            ax.barh(
                np.arange(len(names)) + offset,
                shown["value"],
                height,
                xerr=np.nan_to_num(errors),
                color=color,
                label=kind,
                error_kw={"lw": 1},
            )
        ax.set_yticks(np.arange(len(names)), names)
        ax.set_title(textwrap.fill(OUTPUTS[output], 34), fontsize="medium")
        ax.set_xlabel("Sobol index" if "ST" in kinds else "elementary effect (output's unit)")
    axes[0, 0].invert_yaxis()
    for ax in axes.flat[len(outputs_shown) :]:
        ax.set_visible(False)
    axes[0, -1].legend(title="index (95% interval)", **OUTSIDE)
    fig.suptitle("Which assumptions decide the outcomes", y=1.0)
    fig.tight_layout()
    return fig
