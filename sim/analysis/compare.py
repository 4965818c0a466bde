"""Paired what-if comparisons, e.g. "what if we halved the exchange visits?"

Every scenario runs with common random numbers: the baseline's root seed and replications, so
replication r of each scenario has the same seed and, with the same population config, the same
institutions. Differences are then taken seed by seed, which removes the between-population
spread from their intervals and lets a small what-if show.

`compare(baseline, *alternatives)` takes ScenarioConfig objects; `tpn-sim-compare`
(sim.interfaces.compare_cli) composes them from Hydra overrides.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields, is_dataclass

import pandas as pd
from tqdm.auto import tqdm

from sim.analysis.outcomes import label, unit
from sim.analysis.ranking import paired_margin
from sim.config import ConfigError
from sim.core.run import run_summaries
from sim.core.scenario import ScenarioConfig
from sim.results.tables import describe, markdown

log = logging.getLogger(__name__)

# The summary columns compared (labels and units: sim.analysis.outcomes).
COMPARED = (
    "mean_effect",
    "bottom_quartile_effect",
    "sustained_effect",
    "total_cost",
    "cost_per_point",
)
PAIRED_KEYS = ("seed", "replications")  # what common random numbers need to be equal
UNEQUAL_COST = 0.05  # relative cost difference beyond which a comparison is not like for like
SAME_MONEY = 0.005  # relative cost difference a sentence calls "the same money"


@dataclass
class Comparison:
    """Paired outcomes of a baseline and its alternatives (see `compare`)."""

    table: pd.DataFrame  # one row per (scenario, outcome): mean and CI, paired diff and CI
    sentences: list[str]  # one plain-language line per alternative
    warnings: list[str]  # alternatives compared at unequal cost
    summary: pd.DataFrame  # every replication's summary row, with a `scenario` column

    def to_markdown(self) -> str:
        return markdown(self.table.drop(columns="outcome"))


def config_changes(base: object, other: object, key: str = "") -> list[str]:
    """`key=value` for every field of `other` that differs from `base`, recursing into nested
    dataclasses and equal-length lists, e.g. ["network.design=pairwise"]."""
    if is_dataclass(base) and type(base) is type(other):
        return [
            change
            for f in fields(base)
            for change in config_changes(
                getattr(base, f.name), getattr(other, f.name), f"{key}.{f.name}".lstrip(".")
            )
        ]
    if isinstance(base, list) and isinstance(other, list) and len(base) == len(other):
        return [
            change
            for i, (a, b) in enumerate(zip(base, other, strict=True))
            for change in config_changes(a, b, f"{key}[{i}]")
        ]
    return [] if base == other else [f"{key}={show(other)}"]


def show(value: object) -> str:
    """A config value as a user would type it: 220000 rather than 220000.0."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list) and any(is_dataclass(v) for v in value):
        return f"[{len(value)} entries]"
    return str(value)


def scenario_names(configs: list[ScenarioConfig], names: list[str] | None) -> list[str]:
    """Names for the table and sentences: `names` if given, else "baseline" and, for each
    alternative, the config fields it changes."""
    if names is None:
        base = configs[0]
        changed = [", ".join(config_changes(base, c)) or "same as baseline" for c in configs[1:]]
        names = ["baseline", *changed]
    if len(names) != len(configs):
        raise ConfigError(
            f"names has {len(names)} entries for {len(configs)} scenarios: allowed one per "
            "scenario, the baseline first"
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"scenario name(s) {repeated} repeated: allowed distinct scenarios")
    return list(names)


def check_paired(configs: list[ScenarioConfig]) -> None:
    """Refuse alternatives whose seeds differ from the baseline's: no longer a paired comparison."""
    base = configs[0]
    for i, config in enumerate(configs[1:], start=1):
        for key in PAIRED_KEYS:
            ours, theirs = getattr(base, key), getattr(config, key)
            if ours != theirs:
                raise ConfigError(
                    f"{key}={theirs} in alternative {i} differs from the baseline's {key}={ours}: "
                    "they must match for a paired comparison"
                )


def outcome_table(summary: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Per scenario and outcome: mean with its 95% CI, and the paired difference from the
    baseline (names[0]) with its 95% CI."""
    stats = describe(summary, by="scenario", measures=list(COMPARED))
    rows = []
    for name in names:
        for column in COMPARED:
            s = stats.loc[(name, column)]
            diff = (
                (0.0, 0.0, 0.0)
                if name == names[0]
                else paired_margin(summary, name, names[0], column, by="scenario")
            )
            rows.append(
                {"scenario": name, "outcome": column, "label": label(column), "unit": unit(column)}
                | {k: float(s[k]) for k in ("mean", "ci_low", "ci_high")}
                | {"n": int(s["n"])}
                | dict(zip(("diff", "diff_low", "diff_high"), map(float, diff), strict=True))
            )
    return pd.DataFrame(rows)


def relative(cost: float, base: float) -> float:
    """Relative difference of a cost from the baseline's (infinite from a baseline of 0)."""
    if base:
        return (cost - base) / base
    return 0.0 if cost == base else float("inf")


def money(cost: float, base: float) -> str:
    """How a cost compares with the baseline's, in words."""
    rel = relative(cost, base)
    if abs(rel) <= SAME_MONEY:
        return "the same money"
    more = "more" if rel > 0 else "less"
    return f"{more} money" if not base else f"{abs(rel):.0%} {more} money"


def sentence(name: str, effect: pd.Series, cost: float, base: float) -> str:
    """One line a planner can read: the paired effect difference and what it costs."""
    line = (
        f"{name}: {effect['diff']:+.2f} {unit('mean_effect')} [{effect['diff_low']:.2f}, "
        f"{effect['diff_high']:.2f}] in the chosen topics for {money(cost, base)} "
        f"({cost:,.0f} vs {base:,.0f} {unit('total_cost')})"
    )
    return line + (", at unequal cost" if abs(relative(cost, base)) > UNEQUAL_COST else "")


def cost_warning(name: str, cost: float, base: float) -> str:
    """Why an unequal-cost comparison can mislead, and how to make it an equal-budget one."""
    if not base:
        advice = "the baseline costs nothing, so compare programmes with each other instead"
    else:
        budget = f"{float(f'{base:.3g}'):.0f}"
        advice = f"to compare at equal budget, set costs.budget={budget} on every scenario"
    return (
        f"{name!r} costs {cost:,.0f} {unit('total_cost')} against the baseline's {base:,.0f}: "
        f"the comparison is at unequal cost; {advice}"
    )


def read_out(table: pd.DataFrame, names: list[str]) -> tuple[list[str], list[str]]:
    """A sentence per alternative, and a warning per alternative at unequal cost."""
    cost = table[table["outcome"] == "total_cost"].set_index("scenario")["mean"]
    effect = table[table["outcome"] == "mean_effect"].set_index("scenario")
    base = cost[names[0]]
    sentences = [sentence(n, effect.loc[n], cost[n], base) for n in names[1:]]
    unequal = [n for n in names[1:] if abs(relative(cost[n], base)) > UNEQUAL_COST]
    return sentences, [cost_warning(n, cost[n], base) for n in unequal]


def compare(
    baseline: ScenarioConfig,
    *alternatives: ScenarioConfig,
    names: list[str] | None = None,
    progress: bool = False,
) -> Comparison:
    """Run the baseline and every alternative on the same seeds and compare them pair by pair.

    `names` (one per scenario, the baseline first) default to "baseline" and each alternative's
    changed config fields. Raises ConfigError if an alternative's seed or replications differ.
    """
    configs = [baseline, *alternatives]
    check_paired(configs)
    names = scenario_names(configs, names)
    quiet = None if progress else True  # None: a bar on terminals only
    summaries = {
        name: run_summaries(config)
        for name, config in tqdm(
            zip(names, configs, strict=True), total=len(configs), desc="scenarios", disable=quiet
        )
    }
    return paired(summaries)


def paired(summaries: dict[str, pd.DataFrame]) -> Comparison:
    """The comparison of scenarios already run on the same seeds (their summary tables by
    name, the baseline first), e.g. an app's pinned baseline and its latest run."""
    names = list(summaries)
    summary = pd.concat(
        [s.assign(scenario=name) for name, s in summaries.items()], ignore_index=True
    )
    table = outcome_table(summary, names)
    sentences, warnings = read_out(table, names)
    for line in warnings:
        log.warning(line)
    return Comparison(table, sentences, warnings, summary)
