"""Calibrate the model to the article's results and record how (see sim/calibration.py).

    python experiments/calibrate.py [--trials 150] [--replications 200] [--seed 1]

Writes configs/calibration/rwanda_tpn.yaml (the values the default scenario uses, with the command,
seed, number of evaluations and final loss), docs/calibration.md (fit, validation on fresh seeds,
identifiability) and docs/figures/calibration_profiles.png. The Python defaults in sim/config.py
must then be set to the same values (tests/test_configs.py checks that they agree).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import seaborn as sns
import yaml

from sim.calibration import (
    PLAUSIBLE_YEARLY,
    PRIORS,
    TOLERANCE,
    calibrate,
    evaluate,
    good_fits,
    profile,
    reselect,
    spread,
    topic_owners,
    value_of,
    with_values,
)
from sim.config import ScenarioConfig
from sim.metrics import PUBLISHED_ESTIMATES
from sim.tables import markdown

ROOT = Path(__file__).resolve().parent.parent
EDGE = 0.02  # a calibrated value this close to a prior bound (as a share of the range) is flagged


def nested(config: ScenarioConfig) -> dict:
    """The calibrated values as a Hydra config: sections of scalars, and a topic's baseline
    under every institution type that has the topic."""
    out: dict = {}
    for p in PRIORS:
        section, *rest = p.key.split(".")
        value = round(value_of(config, p.key), 4)
        if section == "topic":
            name, field = rest
            types = out.setdefault("population", {}).setdefault("types", {})
            for kind in topic_owners(config, name):
                types.setdefault(kind, {}).setdefault("topics", {})[name] = {field: value}
        else:
            out.setdefault(section, {})[rest[0]] = value
    return out


def profile_figure(profiles, best: dict[str, float], path: Path) -> None:
    grid = sns.FacetGrid(profiles, col="parameter", col_wrap=4, sharex=False, height=2.4)
    grid.map_dataframe(sns.lineplot, x="value", y="loss", marker="o")
    for ax, key in zip(grid.axes.flat, grid.col_names, strict=True):
        ax.axvline(best[key], color="black", linestyle="--", linewidth=1)
        ax.set_yscale("log")
        ax.set_title(key.split(".")[1], fontsize=9)
    grid.figure.suptitle("Loss profiles (others at the best fit; dashed: best value)", y=1.02)
    grid.figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(grid.figure)


def report(args, study, best, train, selected, valid, fits, seconds) -> str:
    rows = "\n".join(f"| `{p.key}` | [{p.low}, {p.high}] | {best[p.key]:.4g} |" for p in PRIORS)
    columns = (train, selected, valid)

    def cells(key: str) -> str:
        return " | ".join(f"{c[key]:.2f}" for c in columns)

    targets = "\n".join(
        [
            f"| {t} estimator | {v} | {cells(t + '_estimate')} |"
            for t, v in PUBLISHED_ESTIMATES.items()
        ]
        + [
            f"| {d} effect per year | {lo}-{hi} (plausible band) | {cells(d + '_yearly')} |"
            for d, (lo, hi) in PLAUSIBLE_YEARLY.items()
        ]
    )
    identified = markdown(spread(fits))
    edge = [
        f"`{p.key}`"
        for p in PRIORS
        if min(best[p.key] - p.low, p.high - best[p.key]) < EDGE * (p.high - p.low)
    ]
    edge_list = ", ".join(edge) or "none"
    return f"""# Calibration to the article's results

Command: `{args.command}` ({seconds / 60:.1f} minutes on 2 cores). Optuna TPE sampler, seed
{args.seed}, {len(study.trials)} evaluations (the first at the previous defaults), each over
{args.replications} replications of `tpn` and of `external_expert` with common seeds (root seed
{args.train_seed}). Final loss on the validation seeds {valid["loss"]:.3f} (each estimator within
{TOLERANCE} points of its published value adds less than 1; effects outside their plausible
bands add the squared distance).
Result: `configs/calibration/rwanda_tpn.yaml`, used by the default scenario.

## Fit

The optimiser's {args.top} best candidates were re-evaluated on {args.validation_replications}
fresh replications (root seed {args.selection_seed}) and the best there was kept, which removes
most of the luck of the optimiser's own seeds; validation then reruns it on another
{args.validation_replications} replications (root seed {args.validation_seed}), used for nothing
else.

| target | published / plausible | optimiser seeds | selection seeds | validation seeds |
|---|---|---|---|---|
{targets}

## Calibrated parameters

| parameter | prior range | calibrated |
|---|---|---|
{rows}

## Identifiability

Two targets cannot pin down {len(PRIORS)} parameters. Of the {len(study.trials)} evaluations,
{len(fits)} fit about as well as the best (loss at most {args.good_loss}). For each parameter,
the range these good fits span, as a share of its prior range (near 1: the targets say little
about it; small: it is constrained):

{identified}

The profiles below vary one parameter at a time across its prior range with the others at the
best fit: a flat profile means the loss does not care about that parameter, a sharp valley means
it is constrained *given the others* (a parameter can be sharp in its profile and still trade
off against another one, which the good-fit ranges above reveal).

![Loss profiles](figures/calibration_profiles.png)

At the edge of their search range (within {EDGE:.0%} of it): {edge_list}.
The fit might improve, or move, if those ranges were wider.

Do not over-trust single values: several combinations reproduce the two published numbers, and
results that depend on an unconstrained parameter should be shown across its good-fit range.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=120)
    parser.add_argument("--replications", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1, help="optimiser seed")
    parser.add_argument("--train-seed", type=int, default=20210801)
    parser.add_argument("--selection-seed", type=int, default=20220301)
    parser.add_argument("--validation-seed", type=int, default=20230201)
    parser.add_argument("--validation-replications", type=int, default=1000)
    parser.add_argument("--top", type=int, default=10, help="leaders re-evaluated on fresh seeds")
    parser.add_argument("--profile-points", type=int, default=5)
    parser.add_argument("--good-loss", type=float, default=2.0)
    args = parser.parse_args()
    args.command = shlex.join(["python", "experiments/calibrate.py", *sys.argv[1:]])
    start = time.time()

    base = ScenarioConfig(seed=args.train_seed, replications=args.replications)
    study = calibrate(base, args.trials, args.seed)
    fresh = replace(base, replications=args.validation_replications)
    best, selected = reselect(study, replace(fresh, seed=args.selection_seed), args.top)
    train = evaluate(with_values(base, best))
    valid = evaluate(with_values(replace(fresh, seed=args.validation_seed), best))
    profiles = profile(with_values(base, {}), best, args.profile_points)
    profile_figure(profiles, best, ROOT / "docs/figures/calibration_profiles.png")
    fits = good_fits(study, args.good_loss)
    seconds = time.time() - start

    header = (
        "# @package _global_\n"
        f"# Calibrated to the article's results by: {args.command}\n"
        f"# Optuna TPE, seed {args.seed}, {len(study.trials)} evaluations x {args.replications} "
        f"replications (root seed {args.train_seed}); best {args.top} re-scored on "
        f"{args.validation_replications} fresh replications (seed {args.selection_seed}); "
        f"final loss {valid['loss']:.3f} on the validation seeds.\n"
        f"# Validation on {args.validation_replications} fresh replications (seed "
        f"{args.validation_seed}): " + ", ".join(f"{k} {v:.2f}" for k, v in valid.items()) + "\n"
        "# Details and identifiability: docs/calibration.md\n"
    )
    target = ROOT / "configs/calibration/rwanda_tpn.yaml"
    target.parent.mkdir(exist_ok=True)
    rounded = {k: round(v, 4) for k, v in best.items()}
    target.write_text(header + yaml.safe_dump(nested(with_values(base, rounded)), sort_keys=True))
    (ROOT / "docs/calibration.md").write_text(
        report(args, study, best, train, selected, valid, fits, seconds)
    )
    print(target.read_text())


if __name__ == "__main__":
    main()
