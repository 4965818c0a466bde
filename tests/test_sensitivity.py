"""The sensitivity study (sim.analysis.sensitivity, experiments/sensitivity.py): SALib's
indices recovered on functions whose indices are known, the study's points dealt to jobs and
run on common random numbers, its settings validated, and the whole study run by Hydra's
launchers, resumed after an interruption, and identical serial or parallel."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.sensitivity import (
    EXPERTS,
    OUTPUTS,
    PEERS,
    Factor,
    JobConfig,
    Method,
    SensitivityConfig,
    Span,
    directions,
    factors,
    indices,
    outputs,
    point_count,
    ranked,
    run_chunk,
    sample,
)
from sim.config import ROOT, ConfigError
from sim.results.store import MANIFEST, runs
from tests.conftest import lone_hospital_config

UNIT = [Factor("x1", 0.0, 1.0, False, "test"), Factor("x2", 0.0, 1.0, False, "test")]
SMALL = SensitivityConfig(
    method=Method.sobol,
    samples=2,
    chunks=3,
    calibrated=["learning.peer_contact_rate"],
    assumed=[Span("learning.expert_contact_rate", 0.0, 0.2), Span("kickoff.max_mentees", 2, 4)],
)


def linear_means(points: np.ndarray) -> pd.DataFrame:
    """Every output = x1 + 2 x2 on [0, 1]^2: variances 1/12 and 4/12, so S1 = ST = 0.2, 0.8."""
    y = points[:, 0] + 2 * points[:, 1]
    return pd.DataFrame({output: y for output in OUTPUTS})


def test_sobol_indices_of_a_linear_function_are_its_variance_shares() -> None:
    study = SensitivityConfig(method=Method.sobol, samples=1024)
    points = sample(study, UNIT, seed=1)
    table = indices(study, UNIT, points, linear_means(points), seed=1)
    got = table[table["output"] == "mean_effect"].set_index(["index", "factor"])
    for index in ("S1", "ST"):
        for factor, truth in (("x1", 0.2), ("x2", 0.8)):
            row = got.loc[(index, factor)]
            assert row["value"] == pytest.approx(truth, abs=0.05), (index, factor)
            assert row["ci_low"] <= truth <= row["ci_high"], (index, factor, row)
    falling = linear_means(points).assign(mean_effect=lambda m: -m["mean_effect"])
    signs = directions(UNIT, points, falling).query("output == 'mean_effect'")
    assert (signs["rho"] < 0).all() and signs["rho"].abs().idxmax() == signs.index[1]  # x2
    order = ranked(table, directions(UNIT, points, linear_means(points)))
    assert order.query("output == 'mean_effect'")["factor"].tolist() == ["x2", "x1"]


def test_morris_elementary_effects_of_a_linear_function_are_its_slopes() -> None:
    study = SensitivityConfig(method=Method.morris, samples=20)
    points = sample(study, UNIT, seed=1)
    assert len(points) == point_count(study, len(UNIT)) == 60
    table = indices(study, UNIT, points, linear_means(points), seed=1)
    mu_star = table[(table["output"] == "mean_effect") & (table["index"] == "mu_star")]
    assert mu_star.set_index("factor")["value"].to_dict() == pytest.approx({"x1": 1.0, "x2": 2.0})
    sigma = table[(table["output"] == "mean_effect") & (table["index"] == "sigma")]
    assert sigma["value"].abs().max() < 1e-9  # no interactions in a linear function


def test_integer_factors_take_every_value_of_their_range_equally() -> None:
    space = [Factor("k", 2.0, 4.0, True, "test"), *UNIT]
    points = sample(SensitivityConfig(method=Method.sobol, samples=512), space, seed=3)
    values, counts = np.unique(points[:, 0], return_counts=True)
    assert values.tolist() == [2.0, 3.0, 4.0]
    assert counts.min() / counts.max() > 0.9


def test_a_posteriors_topic_key_is_a_factor_in_its_declared_range() -> None:
    study = SensitivityConfig(method=Method.sobol, calibrated=["topic.accreditation.baseline_sd"])
    [factor] = [f for f in factors(JobConfig(), study) if f.key.startswith("topic.")]
    assert 0 <= factor.low < factor.high <= 50 and factor.source == "posterior 95%"


def test_an_incomplete_study_is_refused() -> None:
    study = SensitivityConfig(method=Method.sobol, samples=4)
    points = sample(study, UNIT, seed=1)
    with pytest.raises(ConfigError, match="hold 15 of its 16 points"):
        indices(study, UNIT, points, linear_means(points).iloc[:-1], seed=1)


def test_chunks_deal_every_point_once_on_common_seeds() -> None:
    job = JobConfig(**vars(lone_hospital_config(replications=2)), sensitivity=SMALL)
    space = factors(job.scenario(), SMALL)
    points = sample(SMALL, space, job.seed)
    chunks = [
        run_chunk(replace(job, sensitivity=replace(SMALL, chunk=c))).summary for c in range(3)
    ]
    dealt = [set(c["point"]) for c in chunks]
    assert sorted(p for d in dealt for p in d) == list(range(len(points))) == list(range(10))
    summary = pd.concat(chunks).sort_values(["point", "run"])
    stored = summary.groupby("point")[[f.key for f in space]].first().to_numpy()
    assert np.array_equal(stored, points)  # each point ran with its sampled values
    assert summary.groupby("run")["seed"].nunique().eq(1).all()  # the same seeds at every point
    assert "particle" in summary  # the other calibrated parameters are drawn, the factor is not
    assert summary["mean_effect"].nunique() > 1


def test_peers_minus_experts_is_taken_seed_by_seed() -> None:
    rows = [
        dict.fromkeys(OUTPUTS, 1.0) | {"design": d, "point": p, "seed": s, "mean_effect": e}
        for d, base in ((PEERS, 10.0), (EXPERTS, 4.0))
        for p in (0, 1)
        for s, e in ((7, base + p), (9, base + 2 * p))
    ]
    means = outputs(pd.DataFrame(rows).drop(columns="peers_minus_experts"))
    assert means["peers_minus_experts"].tolist() == [6.0, 6.0]
    assert means["mean_effect"].tolist() == [10.0, 11.5]
    with pytest.raises(ConfigError, match=r"lack design\(s\) \['external_expert'\]"):
        outputs(pd.DataFrame(rows).query("design == @PEERS"))


@pytest.mark.parametrize(
    ("study", "message"),
    [
        (dict(chunk=16), r"sensitivity.chunk=16 is invalid: allowed 0 to chunks - 1 \(15\)"),
        (dict(samples=100), "sensitivity.samples=100 is invalid: allowed a power of 2"),
        (dict(method="bayes"), "sensitivity.method='bayes' is invalid: allowed"),
        (dict(assumed=[Span("learning.spillover", 0.3, 0.1)]), r"assumed\[0\]=learning.spillover"),
        (dict(assumed=[Span("learning.spillover", 0.0, 2.0)]), "inside its declared range"),
        (dict(assumed=[Span("learning.nothing", 0.0, 1.0)]), "'nothing' is not a key"),
        (dict(assumed=[Span("population.types", 0.0, 1.0)]), "allowed a numeric key"),
        (dict(calibrated=[], assumed=[]), "sensitivity has no factors"),
        (dict(assumed=[Span("network.expert_fit", 0.1, 0.2)]), "names network.expert_fit twice"),
        (dict(calibrated=["learning.spillover"]), "not in the posterior"),
        (dict(assumed=[Span("topic.accreditation.baseline_sd", 0.0, 60.0)]), r"\[0, 50\]"),
        (dict(samples=2, chunks=40), "sensitivity.chunks=40 is invalid: allowed at most"),
    ],
)
def test_bad_study_settings_are_refused_with_their_key(study: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        JobConfig(sensitivity=SensitivityConfig(**{"method": Method.sobol} | study))


# --- the study end to end: Hydra's launchers, resume, serial = parallel -----------------------

TINY = [
    "sensitivity.samples=2",
    "sensitivity.chunks=2",
    "replications=2",
    "sensitivity.calibrated=[learning.peer_contact_rate]",
    "sensitivity.assumed=[{key:learning.expert_contact_rate,low:0.0,high:0.2}]",
]


def study_script():
    spec = importlib.util.spec_from_file_location(
        "sensitivity", ROOT / "experiments/sensitivity.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_study(folder: Path, *extra: str) -> pd.DataFrame:
    assert study_script().main([*TINY, f"hydra.sweep.dir={folder}", *extra]) == 0
    return pd.read_csv(folder / "analysis/indices.csv")


@pytest.mark.slow
def test_study_runs_resumes_and_agrees_serial_and_parallel(tmp_path: Path) -> None:
    serial = run_study(tmp_path / "serial")
    out = tmp_path / "serial/analysis"
    assert {"indices.md", "indices.png", "indices.svg"} <= {p.name for p in out.iterdir()}
    assert set(serial["output"]) == set(OUTPUTS) and set(serial["index"]) == {"S1", "ST"}
    assert set(serial["factor"]) == {"learning.peer_contact_rate", "learning.expert_contact_rate"}
    jobs = sorted(r.folder for r in runs(tmp_path / "serial"))
    assert len(jobs) == 4  # 2 designs x 2 chunks

    # An interruption: one job lost its manifest. Only that job runs again, bit for bit.
    before = {j: (j / MANIFEST).stat().st_mtime_ns for j in jobs}
    (jobs[0] / MANIFEST).unlink()
    resumed = run_study(tmp_path / "serial")
    after = {j: (j / MANIFEST).stat().st_mtime_ns for j in jobs}
    assert [j for j in jobs if after[j] != before[j]] == [jobs[0]]
    pd.testing.assert_frame_equal(resumed, serial)

    parallel = run_study(tmp_path / "parallel", "hydra/launcher=joblib")
    pd.testing.assert_frame_equal(parallel, serial)
