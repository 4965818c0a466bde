"""Which uncertain assumptions decide peers versus outside experts (docs/ODD.md 7.19).

    python experiments/sensitivity.py [tpn-sim overrides ...]
    python experiments/sensitivity.py hydra/launcher=joblib                  (both cores)
    python experiments/sensitivity.py sensitivity.method=morris sensitivity.samples=20

Runs `tpn-sim -m +experiment=sensitivity` with the overrides unless the study's folder already
holds every job of it (after an interruption only the missing jobs run: Hydra's launchers skip
complete ones), then writes <study folder>/analysis/indices.csv, indices.md and indices.png/.svg,
and prints, per output, the factors from most to least influential with 95% intervals.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from sim.analysis import plots
from sim.analysis.sensitivity import (
    EXPERTS,
    OUTPUTS,
    PEERS,
    JobConfig,
    directions,
    factors,
    figure,
    indices,
    outputs,
    ranked,
    sample,
)
from sim.config import ROOT, ConfigError
from sim.interfaces.cli import CONFIG_DIR, preflight, run_key
from sim.results.store import read_table, runs
from sim.results.tables import markdown

EXPERIMENT = "+experiment=sensitivity"


def jobs(overrides: list[str]) -> tuple[JobConfig, Path, dict[str, tuple[str, int]]]:
    """The study (its first job's config), its folder, and the store key of every job it runs
    -> (design, chunk)."""
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        base = compose("config", [EXPERIMENT, *overrides], return_hydra_config=True)
        folder = ROOT / base.hydra.sweep.dir
        chunks = base.sensitivity.chunks
        keys = {}
        for design in (PEERS, EXPERTS):
            for chunk in range(chunks):
                job = [EXPERIMENT, *overrides, f"network={design}", f"sensitivity.chunk={chunk}"]
                keys[run_key(compose("config", job))[2]] = (design, chunk)
        first = OmegaConf.to_object(compose("config", [EXPERIMENT, *overrides]))
    return first, folder, keys


def stored(folder: Path, keys: dict[str, tuple[str, int]]) -> dict[str, Path]:
    """The complete runs of this study's jobs in `folder`, by key."""
    found = (
        {} if not folder.exists() else {r.manifest["config_key"]: r.folder for r in runs(folder)}
    )
    return {key: found[key] for key in keys if key in found}


def ensure_results(overrides: list[str], folder: Path, keys: dict) -> dict[str, Path]:
    """Every job's run folder, running the sweep first if any job is missing."""
    if len(stored(folder, keys)) < len(keys):
        chunks = len(keys) // 2
        sweep = [EXPERIMENT, *overrides, f"sensitivity.chunk=range(0,{chunks})"]
        subprocess.run([sys.executable, "-m", "sim", "-m", *sweep], check=True, cwd=ROOT)
    done = stored(folder, keys)
    missing = [keys[k] for k in keys if k not in done]
    if missing:
        raise ConfigError(f"jobs {missing} (design, chunk) have no complete run in {folder}")
    return done


def main(argv: list[str] | None = None) -> int:
    overrides = list(sys.argv[1:] if argv is None else argv)
    problem = preflight(["-m", EXPERIMENT, *overrides, "sensitivity.chunk=0"])  # both designs
    if problem:
        print(f"sensitivity: error: {problem}", file=sys.stderr)
        return 2
    study, folder, keys = jobs(overrides)
    try:
        done = ensure_results(overrides, folder, keys)
    except (ConfigError, subprocess.CalledProcessError) as error:
        print(f"sensitivity: error: {error}", file=sys.stderr)
        return 1
    summary = pd.concat([read_table(path, "summary") for path in done.values()])
    space = factors(study.scenario(), study.sensitivity)
    points = sample(study.sensitivity, space, study.seed)
    means = outputs(summary)
    table = indices(study.sensitivity, space, points, means, study.seed)
    out = folder / "analysis"
    out.mkdir(exist_ok=True)
    table.to_csv(out / "indices.csv", index=False)
    order = ranked(table, directions(space, points, means))
    ranges = pd.DataFrame([vars(f) for f in space]).drop(columns="integer")
    (out / "indices.md").write_text(
        f"# Sensitivity: {study.sensitivity.method}, {len(points)} points x "
        f"{study.replications} replications per design\n\n"
        f"{markdown(order.assign(output=order['output'].map(OUTPUTS)))}\n\n"
        f"## Factors\n\n{markdown(ranges)}\n"
    )
    plots.save(figure(table), out, "indices")
    print(markdown(order))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
