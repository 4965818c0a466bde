"""What the what-if page (sim.interfaces.app) asks and answers, apart from the page itself, so
that it is tested without a browser: the controls, each a configuration key offered within the
range its declaration allows; the scenario they make, composed and validated as `tpn-sim` does;
users' uploaded files; and the tables, figures and files of a result.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis import plots
from sim.analysis.compare import Comparison, check_paired, paired
from sim.analysis.network_plot import draw_network
from sim.analysis.outcomes import label, unit
from sim.config import ConfigError
from sim.core.metrics import PUBLISHED_ESTIMATES
from sim.core.scenario import ScenarioConfig, declared
from sim.interfaces.hydra_config import CONFIG_DIR, compose_scenario
from sim.results import Results, describe

# the designs a planner picks from: the network options of configs/network/
DESIGNS = sorted(p.stem for p in (Path(CONFIG_DIR) / "network").glob("*.yaml"))
OWN_PAIRS = "from_file"  # the design that reads an uploaded pairs file


def declared_range(key: str) -> tuple[float, float]:
    """The range a key's `param` declaration allows."""
    return declared(key)[1].metadata["range"]


@dataclass(frozen=True)
class Control:
    """A number a planner sets: a configuration key, offered between `low` and `high` in steps
    of `step`; a control reaching beyond what the key's declaration allows is refused when
    built, so the page never offers a value the model would reject."""

    key: str
    label: str
    low: float
    high: float
    step: float = 1

    def __post_init__(self) -> None:
        low, high = declared_range(self.key)
        if not low <= self.low <= self.high <= high:
            raise ValueError(f"{self.key}: [{self.low}, {self.high}] leaves [{low}, {high}]")

    @property
    def integer(self) -> bool:
        return all(float(x).is_integer() for x in (self.low, self.step))

    def checked(self, value: object) -> int | float:
        """`value` if the page offers it, else a one-line ConfigError: the server does not trust
        the widget."""
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not self.low <= value <= self.high or (self.integer and value % 1):
            kind = "an integer" if self.integer else "a number"
            low, high = (int(x) if float(x).is_integer() else x for x in (self.low, self.high))
            raise ConfigError(f"{self.key}={value!r} is invalid: allowed {kind} in [{low}, {high}]")
        return int(value) if self.integer else float(value)


CONTROLS = (
    Control("costs.budget", "Budget (USD; 0: the schedule's own cost)", 0, 2_000_000, 10_000),
    Control("population.types.hospital.count", "Hospitals per province", 0, 20),
    Control("population.types.district.count", "District teams per district", 0, 5),
    Control("population.types.health_centre.count", "Health centres per district", 0, 20),
    Control("population.leadership_mean", "Leadership engagement (mean, 0-1)", 0.05, 0.95, 0.05),
    Control("population.capacity_spread", "Spread of capacity before the programme", 0, 2, 0.1),
    Control("kickoff.max_mentees", "Mentor capacity (learners per mentor and topic)", 1, 10),
    Control("network.n_experts", "Outside experts", 1, 50),
    Control("network.expert_level", "Outside experts' capacity (points)", 50, 100),
    Control("schedule.programme_months", "Programme length (months)", 6, 36),
    Control("schedule.exchange_visit_every", "Exchange visit every ... months (0: none)", 0, 12),
    Control("replications", "Replications", 5, 500, 5),
)
COUNTS = {c.key for c in CONTROLS if c.key.endswith(".count")}  # unused with own institutions


def value_at(config: object, key: str) -> object:
    """The value of a dotted key in a configuration (through dataclasses and dicts)."""
    for part in key.split("."):
        config = config[part] if isinstance(config, dict) else getattr(config, part)
    return config


def defaults() -> dict[str, int | float]:
    """Every control's value in the default scenario."""
    config = compose_scenario()
    return {c.key: value_at(config, c.key) for c in CONTROLS}


def overrides(design: str, values: dict[str, object], files: dict[str, Path]) -> list[str]:
    """The Hydra overrides of the page's settings: its design, each control's (checked) value,
    and the uploaded `institutions` and `pairs` files, if any."""
    if design not in DESIGNS:
        raise ConfigError(f"network={design!r} is invalid: allowed one of {DESIGNS}")
    if design == OWN_PAIRS and "pairs" not in files:
        raise ConfigError("network=from_file needs a pairs file: upload your pairs CSV first")
    own = "institutions" in files
    chosen = [f"network={design}"]
    chosen += ["population=from_file", f"population.path={files['institutions']}"] if own else []
    chosen += [f"network.path={files['pairs']}"] if design == OWN_PAIRS else []
    by_key = {c.key: c for c in CONTROLS}
    return chosen + [
        f"{key}={by_key[key].checked(value)}"
        for key, value in values.items()
        if not (own and key in COUNTS)
    ]


def scenario(design: str, values: dict[str, object], files: dict[str, Path]) -> ScenarioConfig:
    """The scenario of the page's settings, validated as `tpn-sim` validates its command line
    (users' files included, row by row): any problem is a one-line ConfigError."""
    unknown = sorted(set(values) - {c.key for c in CONTROLS})
    if unknown:
        allowed = sorted(c.key for c in CONTROLS)
        raise ConfigError(f"{unknown[0]} is not a setting of this page: allowed {allowed}")
    return compose_scenario(overrides(design, values, files))


def save_upload(folder: Path, kind: str, data: bytes) -> Path:
    """An uploaded file, kept in the session's own folder under a name of the page's choosing
    (never the user's path): `kind` is 'institutions' or 'pairs'."""
    if kind not in ("institutions", "pairs"):
        raise ConfigError(f"upload {kind!r} is invalid: allowed 'institutions' or 'pairs'")
    path = folder / f"{kind}.csv"
    path.write_bytes(data)
    return path


@dataclass
class Run:
    """A scenario the page ran, and its results."""

    name: str
    config: ScenarioConfig
    results: Results


def outcomes(run: Run) -> pd.DataFrame:
    """What the page reports, each a mean over replications with its 95% confidence interval:
    the article's estimator next to the true effect in each headline topic, the effect in the
    chosen topics, the cost and the cost per point."""
    topics = [t for t in PUBLISHED_ESTIMATES if f"{t}_estimate" in run.results.summary]
    columns = [f"{t}_{kind}" for t in topics for kind in ("estimate", "true_effect")]
    columns += ["mean_effect", "total_cost", "cost_per_point"]
    stats = describe(run.results.summary, measures=columns).droplevel(0).loc[columns]
    return pd.DataFrame(
        {
            "outcome": [label(c) for c in columns],
            "mean": [f"{m:,.2f}" for m in stats["mean"]],
            "95% CI": [f"{lo:,.2f} to {hi:,.2f}" for lo, hi in stats[["ci_low", "ci_high"]].values],
            "unit": [unit(c) for c in columns],
        }
    )


def network_figure(run: Run, color_by: str = "capacity") -> Figure:
    """Who twins with whom in the first replication, members coloured by capacity or gain."""
    months = run.config.schedule.programme_months
    panel, ties = run.results.panel, run.results.ties
    return draw_network(ties, panel, run=0, color_by=color_by, end_month=months)


def trajectory_figure(run: Run) -> Figure:
    """Observed KPI in chosen and other topics, month by month, with 95% bands."""
    panel = run.results.panel
    kpi = (
        panel.groupby(["run", "month", "goal"], observed=True)["kpi"]
        .mean()
        .reset_index()
        .assign(scenario=lambda f: f["goal"].map({True: "chosen topics", False: "other topics"}))
    )
    months = run.config.schedule.programme_months
    return plots.trajectories(kpi, months, legend="topics", title="Observed KPI")


def compared(baseline: Run, latest: Run) -> Comparison:
    """The latest run against the pinned baseline, replication by replication (the page runs
    every scenario on the same seeds, so the pairs share their members' draws)."""
    check_paired([baseline.config, latest.config])
    names = [f"{baseline.name} (baseline)", latest.name]
    return paired({n: r.results.summary for n, r in zip(names, (baseline, latest), strict=True)})


def differences(comparison: Comparison) -> pd.DataFrame:
    """The comparison as a planner reads it: each outcome in the baseline and in this run, and
    the paired difference with its 95% confidence interval."""
    table = comparison.table
    base, latest = (table[table["scenario"] == n] for n in dict.fromkeys(table["scenario"]))
    spans = latest[["diff", "diff_low", "diff_high"]].to_numpy()
    return pd.DataFrame(
        {
            "outcome": latest["label"].to_numpy(),
            "baseline": [f"{m:,.2f}" for m in base["mean"]],
            "this run": [f"{m:,.2f}" for m in latest["mean"]],
            "difference (95% CI)": [f"{d:+,.2f} ({lo:,.2f} to {hi:,.2f})" for d, lo, hi in spans],
            "unit": latest["unit"].to_numpy(),
        }
    )


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG, and closed: a server drawing figures all day must not keep them."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    return buffer.getvalue()
