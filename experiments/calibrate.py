"""Calibrate the model to the article's results as a posterior (ABC: sim/analysis/calibration.py).

    python experiments/calibrate.py [--population 400] [--epsilon 0.5] [--seed 1] [--jobs 2]

The run lives in results/calibration/abc-<key>.db, the key a fingerprint of everything that
decides it (model code, priors, targets, settings, seed): once it has finished, rerunning the
command reads it back and only redoes the summaries; an interrupted run resumes from the
candidates it had evaluated (a checkpoint beside the database), with the same result; a changed
model or prior gets a new run and never reads back an old one.
Writes configs/calibration/posterior.csv (parameter sets and weights), posterior.json (provenance
and summary), representative.yaml (the accepted set nearest the posterior medians: the calibrated
parameters' defaults, which sim/config.py reads there, and selected with
`calibration=representative`), docs/calibration.md and its figures, and rewrites the parameter
tables of docs/ODD.md (`python -m sim.interfaces.odd`) with the new defaults.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import subprocess
import sys
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import yaml

from sim.analysis.abc import Settings, abc_rejection, generations, posterior_of
from sim.analysis.calibration import (
    BAND_SCALE,
    CONTRAST_SCALE,
    PRIORS,
    STUDIES,
    predictive,
)
from sim.config import CalibrationConfig, Sample
from sim.core.metrics import PUBLISHED_ESTIMATES
from sim.core.posterior import Posterior, topic_owners, with_values
from sim.core.run import run_scenario
from sim.core.scenario import ScenarioConfig
from sim.results.store import MODEL_SOURCES, sources
from sim.results.tables import markdown

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "configs/calibration"
FIGURES = ROOT / "docs/figures"
QUANTILES = [0.025, 0.05, 0.25, 0.5, 0.75, 0.95, 0.975]
EDGE = 0.1  # outer share of a prior range checked for piled-up posterior mass


def run_db(config: ScenarioConfig, settings: Settings, seed: int) -> Path:
    """Where a run is stored, named by a fingerprint of what decides it: the model's code, the
    configuration it starts from (but the calibrated keys, which every candidate sets), priors,
    targets, settings and seed. Defaults may move to the posterior without a new run."""
    paths = [p for p in MODEL_SOURCES if p != "config.py"] + [
        "analysis/calibration.py",
        "analysis/abc.py",
    ]
    decides = [source.read_text() for source in sources(paths)]
    start = with_values(config, {p.key: p.low for p in PRIORS})
    decides += [repr(asdict(start)), json.dumps(asdict(settings)), str(seed)]
    key = hashlib.sha256("\n".join(decides).encode()).hexdigest()[:12]
    return ROOT / f"results/calibration/abc-{key}.db"


def identifiability(posterior: Posterior) -> pd.DataFrame:
    """Per parameter: weighted quantiles, how much the data shrank its spread (1 - posterior
    variance / prior variance), and whether posterior mass piles up at a prior bound."""
    q = posterior.quantiles(QUANTILES)
    weights = posterior.particles["weight"].to_numpy()
    rows = []
    for p in PRIORS:
        values = posterior.particles[p.key].to_numpy()
        mean = np.average(values, weights=weights)
        unit = p.unit(values)  # on the prior's own scale, where it is uniform with variance 1/12
        mean = np.average(unit, weights=weights)
        shrink = 1 - np.average((unit - mean) ** 2, weights=weights) * 12
        low_mass, high_mass = weights[unit < EDGE].sum(), weights[unit > 1 - EDGE].sum()
        edge = "low" if low_mass > 2 * EDGE else "high" if high_mass > 2 * EDGE else ""
        rows.append(
            {
                "parameter": p.key,
                "prior": p.label(),
                "median": q.loc[p.key, 0.5],
                "90% interval": f"[{q.loc[p.key, 0.05]:.3g}, {q.loc[p.key, 0.95]:.3g}]",
                "shrinkage": shrink,
                "verdict": "pinned down"
                if shrink >= 0.5
                else "partly"
                if shrink >= 0.2
                else "prior-driven",
                "piles at edge": edge,
            }
        )
    return pd.DataFrame(rows)


def representative(posterior: Posterior) -> dict[str, float]:
    """The accepted set nearest the posterior medians (in units of each prior range, on its own
    scale): a real posterior draw, unlike the vector of medians, which need not fit."""
    medians = posterior.quantiles([0.5])[0.5]
    particles = posterior.particles
    scaled = np.column_stack([p.unit(particles[p.key]) - p.unit(medians[p.key]) for p in PRIORS])
    best = int(np.argmin((scaled**2).sum(axis=1)))
    return {p.key: round(float(particles[p.key].iloc[best]), 4) for p in PRIORS}


def predictive_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and central intervals of one programme's outcomes, against the published values or
    the studies' bands."""
    rows = []
    targets = {t: (v, v) for t, v in PUBLISHED_ESTIMATES.items()}
    targets |= {s.name: (s.low, s.high) for s in STUDIES}
    for name, (low, high) in targets.items():
        x = frame[name].dropna()
        q = x.quantile([0.025, 0.25, 0.5, 0.75, 0.975])
        rows.append(
            {
                "outcome": name,
                "published / band": f"{low:g}" if low == high else f"{low:g}-{high:g}",
                "mean": x.mean(),
                "central 50%": f"[{q[0.25]:.2f}, {q[0.75]:.2f}]",
                "central 95%": f"[{q[0.025]:.2f}, {q[0.975]:.2f}]",
                "published inside 50%": bool(q[0.25] <= low and high <= q[0.75])
                if low == high
                else "",
            }
        )
    return pd.DataFrame(rows)


def every_member_rises(panel: pd.DataFrame, column: str, months: list[int]) -> float:
    """Share of replications in which every member's `column` (observed `kpi` or true
    `capacity`) rose in each of its goal topics between consecutive measurement months."""
    goals = panel[panel["goal"] & panel["month"].isin(months)]
    wide = goals.pivot_table(index=["run", "institution", "topic"], columns="month", values=column)
    rose = (wide[months].diff(axis=1).iloc[:, 1:] > 0).all(axis=1)
    return float(rose.groupby(level="run").all().mean())


def noise_table(config: ScenarioConfig, replications: int, seed: int) -> pd.DataFrame:
    """Can every member's improvement be seen at every measurement, given measurement error?"""
    posterior = replace(config.calibration, sample=Sample.posterior)
    runs = replace(config, replications=replications, seed=seed, calibration=posterior)
    panel = run_scenario(runs).panel
    rows = []
    for every in (6, 3, 1):
        months = list(range(0, config.schedule.programme_months + 1, every))
        rows.append(
            {
                "measured every": f"{every} month{'s' * (every > 1)}",
                "every member rises, true capacity": every_member_rises(panel, "capacity", months),
                "every member rises, observed KPI": every_member_rises(panel, "kpi", months),
            }
        )
    return pd.DataFrame(rows)


def nested(values: dict[str, float], config: ScenarioConfig) -> dict:
    """A parameter set as a Hydra config: sections of scalars, a topic's baseline under every
    institution type that has the topic."""
    out: dict = {}
    for key, value in values.items():
        section, *rest = key.split(".")
        if section == "topic":
            name, field = rest
            types = out.setdefault("population", {}).setdefault("types", {})
            for kind in topic_owners(config, name):
                types.setdefault(kind, {}).setdefault("topics", {})[name] = {field: value}
        else:
            out.setdefault(section, {})[rest[0]] = value
    return out


def figures(posterior: Posterior, ident: pd.DataFrame) -> None:
    """Weighted marginals of every parameter on its prior range, and pairs of the best-pinned."""
    weights = posterior.particles["weight"]
    fig, axes = plt.subplots(4, 5, figsize=(15, 10))
    for ax, p in zip(axes.flat, PRIORS, strict=True):
        bins = (np.geomspace if p.log else np.linspace)(p.low, p.high, 21)
        ax.hist(posterior.particles[p.key], bins=bins, weights=weights)  # weights sum to 1
        ax.axhline(1 / 20, color="grey", linestyle="--", linewidth=1)  # the prior's share per bin
        ax.set_xscale("log" if p.log else "linear")
        ax.set_xlim(p.low, p.high)
        ax.set_xlabel(p.key.split(".", 1)[1], fontsize=9)
        ax.set_ylabel("")
    fig.suptitle("Posterior marginals, share per bin (dashed: the prior; log axes: log-uniform)")
    fig.tight_layout()
    fig.savefig(FIGURES / "calibration_marginals.png", dpi=100)
    plt.close(fig)

    top = ident.sort_values("shrinkage", ascending=False)["parameter"].head(6).tolist()
    sample = posterior.particles.sample(
        1000, replace=True, weights=weights, random_state=np.random.RandomState(0)
    )
    grid = sns.pairplot(
        sample[top].rename(columns=lambda k: k.split(".", 1)[1]),
        kind="kde",
        corner=True,
        height=1.8,
    )
    grid.figure.suptitle("Pairs of the six parameters the data shrink most (posterior)", y=1.01)
    grid.figure.savefig(FIGURES / "calibration_pairs.png", dpi=100, bbox_inches="tight")
    plt.close(grid.figure)


def report(args, history, gens, ident, pred, point_fit, noise, minutes: float) -> str:
    priors = "\n".join(f"| `{p.key}` | {p.label()} | {p.reason} |" for p in PRIORS)
    studies = "\n".join(f"| {s.name} | {s.low:g}-{s.high:g} | {s.source} |" for s in STUDIES)
    pinned = ", ".join(f"`{k}`" for k in ident.query("verdict == 'pinned down'")["parameter"])
    loose = ", ".join(f"`{k}`" for k in ident.query("verdict == 'prior-driven'")["parameter"])
    piled = ident[ident["piles at edge"] != ""]
    edges = ", ".join(f"`{k}` ({e})" for k, e in piled[["parameter", "piles at edge"]].to_numpy())
    return f"""# Calibration: a posterior over the parameters the article cannot pin down

Command: `{args.command}`: {int(gens["simulations"].sum())} simulated programmes in
{gens["minutes"].sum():.0f} minutes on 2 cores, then {minutes:.0f} minutes for the summaries below.
pyabc {version("pyabc")}, rejection ABC (one generation of its ABC-SMC
at a fixed threshold, `sim/analysis/abc.py` says why), seed {args.seed}, {args.population} accepted
parameter sets; the run is stored in `{args.db}`.
Result: `configs/calibration/posterior.csv` ({args.population} parameter sets of equal weight)
with its provenance in `posterior.json`. `calibration.sample=posterior` draws one set per
replication from the posterior; `calibration=representative` runs the accepted set nearest the
posterior medians (`configs/calibration/representative.yaml`).

## What is fitted, and how

The article reports one programme, so each proposed parameter set simulates **one** programme:
its two contrasts (the selection estimator for accreditation among hospitals and for CBHI
coverage among districts) are compared with the published 5.6 and 4.8, in units of about their
spread between replications ({CONTRAST_SCALE["accreditation"]:g} and
{CONTRAST_SCALE["cbhi_coverage"]:g} points). The same members are also run under three kinds of
programme the literature has measured; their effect in goal topics at the programme's end adds
its distance outside a plausible band (in units of {BAND_SCALE:g} points, zero inside). The
distance is the Euclidean norm of these five terms, and a parameter set is accepted when its
programme lands within {args.epsilon} of the data: each contrast well inside the spread of one
programme's estimator, every study inside or near its band.

| study (design in the model) | band (points, per study) | source |
|---|---|---|
{studies}

Priors on these ranges, log-uniform for rates whose order of magnitude is unknown (the ODD,
section 7, explains each mechanism):

| parameter | prior | why this range |
|---|---|---|
{priors}

Threshold, simulated programmes and share accepted:

{markdown(gens)}

## Posterior predictive check: one programme

{args.check} programmes, each with a parameter set drawn from the posterior and its own seed:

{markdown(pred)}

The representative set (the accepted set nearest the posterior medians), over {args.check}
replications: accreditation contrast {point_fit["accreditation"]:.2f}, CBHI contrast
{point_fit["cbhi_coverage"]:.2f}, effects
{", ".join(f"{s.name} {point_fit[s.name]:.2f}" for s in STUDIES)}.

## What the data pin down

Shrinkage is 1 minus the posterior variance over the prior variance: near 0 the posterior is the
prior (the data say nothing), near 1 the data fix the value. "Piles at edge" flags a parameter
with more than twice the prior's mass in the outer {EDGE:.0%} of its range at one end: the
data push against the prior's bound there.

{markdown(ident)}

Pinned down (shrinkage at least 0.5): {pinned or "none"}.
Prior-driven (below 0.2): {loose or "none"}.
Piling at a prior edge: {edges or "none"}.

![Marginals](figures/calibration_marginals.png)

![Pairs](figures/calibration_pairs.png)

Results that depend on a prior-driven parameter should be read with
`calibration.sample=posterior`, whose intervals include that uncertainty.

## Measurement noise: can every member be seen improving?

The posterior puts the sd of measurement error (`learning.measurement_sd`) at
{ident.set_index("parameter").loc["learning.measurement_sd", "median"]:.2f} points (median).
Over {args.noise_replications} programmes drawn from the posterior, the share in which every
member rises in every goal topic between consecutive measurements, in its true capacity and in
what is observed:

{markdown(noise)}

Where the true-capacity column is already low, the model's own dynamics (drift, leadership
turnover, the ceiling), not measurement error, keep some member from rising between two
measurements. Published facility-level scores are noisier than the model's measurement error:
an audit of 14 to 20 cases per facility, as in MESH (292 and 413 observed children at 21 health
centres; Magge et al., Arch Dis Child 2015;100:565-570), has a binomial standard error of 6 to
13 percentage points for shares between 56% and 92%. A programme reporting that every member
improved at every measurement therefore reports larger or steadier gains, or less noisy
measures, than the model produces.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=Settings.population)
    parser.add_argument("--epsilon", type=float, default=Settings.epsilon)
    parser.add_argument("--hours", type=float, default=Settings.hours)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--check", type=int, default=1000, help="posterior predictive draws")
    parser.add_argument("--noise-replications", type=int, default=200)
    parser.add_argument("--db", help="default: results/calibration/abc-<key>.db")
    args = parser.parse_args()
    args.command = shlex.join(["python", "experiments/calibrate.py", *sys.argv[1:]])
    start = time.time()

    settings = Settings(args.population, args.epsilon, args.hours)
    config = ScenarioConfig(calibration=CalibrationConfig(sample=Sample.point))
    db = ROOT / args.db if args.db else run_db(config, settings, args.seed)
    args.db = db.relative_to(ROOT)  # named in the report
    history = abc_rejection(config, db, args.seed, settings, args.jobs)
    posterior = posterior_of(history)
    posterior.particles.to_csv(OUT / "posterior.csv", index=False, float_format="%.6g")
    stored = Posterior(pd.read_csv(OUT / "posterior.csv"))  # what studies will draw from
    gens = generations(history)
    ident = identifiability(posterior)
    pred = predictive(config, posterior.draw, args.check, args.seed, args.jobs)
    point = representative(posterior)
    point_fit = predictive(config, lambda _: point, args.check, args.seed, args.jobs).mean()
    noise = noise_table(config, args.noise_replications, args.seed)
    figures(posterior, ident)
    minutes = (time.time() - start) / 60

    provenance = {
        "command": args.command,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "pyabc": version("pyabc"),
        "seed": args.seed,
        "settings": asdict(settings),
        "generations": gens.to_dict(orient="records"),
        "minutes_this_invocation": round(minutes, 1),
        "observed": PUBLISHED_ESTIMATES,
        "contrast_scale": CONTRAST_SCALE,
        "band_scale": BAND_SCALE,
        "studies": [asdict(s) for s in STUDIES],
        "priors": [asdict(p) for p in PRIORS],
        "summary": stored.quantiles([0.05, 0.5, 0.95]).round(6).to_dict(orient="index"),
        "predictive": pred.describe().round(4).to_dict(),
    }
    (OUT / "posterior.json").write_text(json.dumps(provenance, indent=1, default=str) + "\n")
    header = (
        "# @package _global_\n"
        f"# The representative set of the posterior (accepted set nearest its medians), by: "
        f"{args.command}\n"
        "# Posterior, provenance and fit: configs/calibration/posterior.csv, posterior.json, "
        "docs/calibration.md\n"
        "# The calibrated parameters' defaults: sim/config.py reads them here, and nowhere else\n"
    )
    body = nested(point, with_values(config, {})) | {"calibration": {"sample": "point"}}
    (OUT / "representative.yaml").write_text(header + yaml.safe_dump(body, sort_keys=True))
    (ROOT / "docs/calibration.md").write_text(
        report(args, history, gens, ident, predictive_table(pred), point_fit, noise, minutes)
    )
    # in a new process: this one imported the defaults before the new ones were written
    subprocess.run([sys.executable, "-m", "sim.interfaces.odd"], check=True)
    print((OUT / "representative.yaml").read_text())
    print(predictive_table(pred).to_string())


if __name__ == "__main__":
    main()
