"""Calibration: the ABC distance, the seeded sampler's reproducibility, the stored posterior and
drawing from it, and the calibrated defaults' fit."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import time
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hydra import compose

import sim
from sim.analysis import abc
from sim.analysis.abc import Settings, abc_rejection, evaluated, posterior_of
from sim.analysis.calibration import BAND_SCALE, CONTRAST_SCALE, PRIORS, STUDIES, distance, simulate
from sim.config import CALIBRATED, CalibrationConfig, TopicSpec, Validated, representative
from sim.core.metrics import PUBLISHED_ESTIMATES
from sim.core.model import TwinningModel
from sim.core.posterior import Posterior, drawn, read_posterior, value_of, with_values
from sim.interfaces.hydra_config import (
    compose_scenario,
    hydra_configs,
    keep_overridden,
    scenario,
)

ROOT = Path(__file__).resolve().parent.parent
CALIBRATION = ROOT / "configs/calibration"
POSTERIOR = sim.ScenarioConfig()  # the default draws every replication's set from the posterior
POINT = sim.ScenarioConfig(calibration=CalibrationConfig(sample="point"))


def on_target() -> dict[str, float]:
    inside = {s.name: (s.low + s.high) / 2 for s in STUDIES}
    return dict(PUBLISHED_ESTIMATES) | inside


def test_distance_is_zero_on_target_and_grows_with_misfit() -> None:
    row, observed = on_target(), dict(PUBLISHED_ESTIMATES)
    assert distance(row, observed) == 0
    one = CONTRAST_SCALE["accreditation"]
    assert distance(row | {"accreditation": 5.6 + one}, observed) == pytest.approx(1.0)
    both = row | {
        "accreditation": 5.6 + one,
        "cbhi_coverage": 4.8 - CONTRAST_SCALE["cbhi_coverage"],
    }
    assert distance(both, observed) == pytest.approx(np.sqrt(2))
    study = STUDIES[0]
    assert distance(row | {study.name: study.low}, observed) == 0  # a band's edge is plausible
    outside = row | {study.name: study.high + 2 * BAND_SCALE}
    assert distance(outside, observed) == pytest.approx(2.0)
    assert distance(row | {"accreditation": float("nan")}, observed) == float("inf")


def test_with_values_sets_dotted_keys_and_validates() -> None:
    config = with_values(
        sim.ScenarioConfig(), {"learning.coaching_rate": 0.2, "network.expert_fit": 0.5}
    )
    assert config.learning.coaching_rate == 0.2 and config.network.expert_fit == 0.5
    assert value_of(config, "learning.coaching_rate") == 0.2
    with pytest.raises(sim.ConfigError, match=r"learning\.coaching_rate"):
        with_values(sim.ScenarioConfig(), {"learning.coaching_rate": -1.0})


def test_topic_keys_change_one_topic_only() -> None:
    config = with_values(sim.ScenarioConfig(), {"topic.cbhi_coverage.baseline_sd": 9.5})
    assert value_of(config, "topic.cbhi_coverage.baseline_sd") == 9.5
    before = sim.ScenarioConfig().population.types
    for kind, spec in config.population.types.items():
        for name, topic in spec.topics.items():
            if name != "cbhi_coverage":
                assert topic == before[kind].topics[name]
    assert before["district"].topics["cbhi_coverage"].baseline_sd != 9.5


@pytest.mark.slow
def test_log_uniform_priors_draw_inside_their_range_evenly_on_the_log_scale() -> None:
    np.random.seed(3)
    draws = pd.DataFrame([abc.prior().rvs() for _ in range(2000)])
    for p in PRIORS:
        unit = p.unit(draws[p.key].to_numpy())
        assert unit.min() >= 0 and unit.max() <= 1, p.key
        assert np.mean(unit < 0.5) == pytest.approx(0.5, abs=0.04), p.key  # median mid-range
    rate = next(p for p in PRIORS if p.log)
    assert rate.unit(np.sqrt(rate.low * rate.high)) == pytest.approx(0.5)
    assert rate.label().startswith("log-uniform")


def test_every_prior_is_a_real_parameter_with_its_range_inside_the_allowed_one() -> None:
    config = sim.ScenarioConfig()
    for prior in PRIORS:
        section, *rest = prior.key.split(".")
        owner = TopicSpec if section == "topic" else type(getattr(config, section))
        low, high = owner.__dataclass_fields__[rest[-1]].metadata["range"]
        assert low <= prior.low < prior.high <= high, prior
        assert prior.low <= value_of(config, prior.key) <= prior.high, "default inside prior"
        assert prior.reason


def test_simulate_reports_both_contrasts_and_every_study_and_depends_on_the_seed_only() -> None:
    config = sim.ScenarioConfig()
    first, again, other = simulate(config, 11), simulate(config, 11), simulate(config, 12)
    assert set(first) == set(PUBLISHED_ESTIMATES) | {s.name for s in STUDIES}
    assert first == again and first != other
    supervision, outreach = first["supervision with problem solving"], first["outreach by experts"]
    assert supervision > outreach  # follow-up between visits adds to the same visits


@pytest.mark.slow
def test_abc_is_the_same_serial_and_parallel_and_a_finished_run_is_read_back(tmp_path) -> None:
    """Same seed, same posterior on one core or two; rerunning a finished run reads its database
    instead of sampling again; every accepted set lies inside its prior, within the threshold."""
    settings = Settings(population=12, epsilon=1.5)
    config = sim.ScenarioConfig()

    def run(db: Path, jobs: int):
        return abc_rejection(config, db, seed=5, settings=settings, n_jobs=jobs)

    serial = posterior_of(run(tmp_path / "serial.db", 1)).particles
    pd.testing.assert_frame_equal(serial, posterior_of(run(tmp_path / "parallel.db", 2)).particles)
    stamp = (tmp_path / "serial.db").stat().st_mtime_ns
    pd.testing.assert_frame_equal(serial, posterior_of(run(tmp_path / "serial.db", 2)).particles)
    assert (tmp_path / "serial.db").stat().st_mtime_ns == stamp  # read back, not rerun
    assert serial["weight"].to_numpy() == pytest.approx(np.full(12, 1 / 12))
    for p in PRIORS:
        assert serial[p.key].between(p.low, p.high).all(), p.key
    history = run(tmp_path / "serial.db", 1)
    assert (history.get_population_extended(t=0)["distance"] <= 1.5).all()


@pytest.mark.slow
def test_an_interrupted_abc_run_resumes_to_the_same_posterior(tmp_path, caplog) -> None:
    """Killed in the middle of its generation, a run resumes from the candidates its checkpoint
    holds and ends with the posterior an uninterrupted run with the same seed gives."""
    settings, db = Settings(population=12, epsilon=0.6), tmp_path / "stopped.db"
    code = (
        "from pathlib import Path; import sim; "
        "from sim.analysis.abc import Settings, abc_rejection; "
        f"abc_rejection(sim.ScenarioConfig(), Path({str(db)!r}), 5, Settings(12, 0.6), 1)"
    )
    run = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 120
    while not any(p.stat().st_size for p in tmp_path.glob("*.partial")):
        assert run.poll() is None and time.monotonic() < deadline, "no checkpoint written"
        time.sleep(0.02)
    run.kill()
    run.wait()
    (checkpoint,) = tmp_path.glob("*.partial")
    done = len(evaluated(checkpoint, 0))
    assert 0 < done < 400  # stopped part-way
    with caplog.at_level(logging.INFO, logger="sim.analysis.abc"):
        resumed = posterior_of(abc_rejection(sim.ScenarioConfig(), db, 5, settings, 1)).particles
    assert f"generation 0 resumed after {done} candidates" in caplog.text  # not evaluated again
    fresh = abc_rejection(sim.ScenarioConfig(), tmp_path / "fresh.db", 5, settings, 1)
    pd.testing.assert_frame_equal(resumed, posterior_of(fresh).particles)
    assert not checkpoint.exists()  # the finished generation lives in the database


def test_the_stored_posterior_loads_and_reproduces_its_summary() -> None:
    posterior = read_posterior()
    provenance = json.loads((CALIBRATION / "posterior.json").read_text())
    assert posterior.keys == [p.key for p in PRIORS]
    assert len(posterior.particles) == provenance["settings"]["population"] >= 200
    assert posterior.particles["weight"].sum() == pytest.approx(1.0)
    for key, quantiles in provenance["summary"].items():
        ours = posterior.quantiles([0.05, 0.5, 0.95]).loc[key]
        for q, value in quantiles.items():
            assert ours[float(q)] == pytest.approx(value, rel=1e-4, abs=1e-6), (key, q)
    for needle in ("command", "seed", "pyabc", "generations", "studies", "priors"):
        assert needle in provenance


def test_draws_follow_the_weights_and_depend_on_the_seed_only() -> None:
    particles = pd.DataFrame({"learning.coaching_rate": [0.1, 0.2, 0.3], "weight": [0.7, 0.2, 0.1]})
    posterior = Posterior(particles)
    picks = np.array([posterior.index(seed) for seed in range(4000)])
    assert np.bincount(picks, minlength=3) / 4000 == pytest.approx([0.7, 0.2, 0.1], abs=0.03)
    assert [posterior.index(s) for s in range(50)] == [posterior.index(s) for s in range(50)]


def test_a_replication_its_twin_and_every_design_share_one_drawn_set() -> None:
    model = TwinningModel(POSTERIOR, 42)
    again = TwinningModel(replace(POSTERIOR, network=replace(POSTERIOR.network, design="hub")), 42)
    assert model.particle == again.particle is not None
    assert model.config.learning == again.config.learning
    drawn_values = read_posterior().values(model.particle)
    for key, value in drawn_values.items():
        assert value_of(model.config, key) == pytest.approx(value)
    assert TwinningModel(POINT, 42).particle is None  # point: nothing drawn
    summary = sim.core.run.run_summaries(replace(POSTERIOR, replications=3))
    assert summary["particle"].between(0, len(read_posterior().particles) - 1).all()


def test_fixed_and_overridden_keys_keep_their_value_under_the_posterior() -> None:
    overrides = [
        "learning.goal_work_rate=0",
        "population.types.hospital.topics.accreditation.baseline_sd=9.0",
        "replications=3",
    ]
    config = keep_overridden(POSTERIOR, overrides)
    assert config.calibration.fixed == [
        "learning.goal_work_rate",
        "topic.accreditation.baseline_sd",
    ]
    config = with_values(config, {"learning.goal_work_rate": 0.0})
    for seed in range(5):
        model_config, _ = drawn(config, seed)
        assert model_config.learning.goal_work_rate == 0.0
    assert keep_overridden(POINT, overrides) == POINT
    wrong = replace(POSTERIOR, calibration=replace(POSTERIOR.calibration, fixed=["learning.x"]))
    with pytest.raises(sim.ConfigError, match=r"calibration\.fixed names \['learning\.x'\]"):
        drawn(wrong, 1)


MINE = "learning.peer_contact_rate=0.05 (learning/mine.yaml)"


@pytest.mark.parametrize(
    ("overrides", "value", "notes"),
    [
        pytest.param(
            [],
            0.05,
            [
                f"{MINE} is kept in every replication instead of drawn from the posterior: a value "
                "you set wins"
            ],
            id="posterior",
        ),
        pytest.param(
            ["calibration=representative"],
            0.05,
            [f"{MINE} replaces calibration/representative's 0.0119: a value you set wins"],
            id="representative",
        ),
        pytest.param(["learning.peer_contact_rate=0.2"], 0.2, [], id="command-line-wins"),
    ],
)
def test_a_value_in_your_option_file_wins_over_the_calibration_and_is_named(
    tmp_path, overrides: list[str], value: float, notes: list[str]
) -> None:
    """configs/config.yaml lists the calibration first: a later option file's value wins, is
    kept instead of drawn, and the run says so (a WARNING per note); the command line wins
    over both, as documented, without a note."""
    (tmp_path / "learning").mkdir()
    (tmp_path / "learning" / "mine.yaml").write_text("peer_contact_rate: 0.05\n")
    job = ["learning=mine", *overrides]
    with hydra_configs(str(tmp_path)):
        config, said = scenario(compose("config", job), job)
    assert config.learning.peer_contact_rate == value and said == notes
    for seed in range(5):
        assert drawn(config, seed)[0].learning.peer_contact_rate == value


def test_a_value_set_in_python_that_the_draws_replace_is_named(caplog) -> None:
    config = replace(POSTERIOR, learning=replace(POSTERIOR.learning, reciprocity=0.4321))
    with caplog.at_level(logging.WARNING, logger="sim.core.posterior"):
        model = TwinningModel(config, 3)
    assert model.config.learning.reciprocity != 0.4321  # drawn, as documented: and said
    assert caplog.messages == [
        "learning.reciprocity=0.4321 is replaced by the posterior's draws in every replication "
        "(calibration.sample=posterior): list it in calibration.fixed to keep it"
    ]


def test_a_bad_posterior_file_is_a_one_line_error(tmp_path) -> None:
    bad = tmp_path / "posterior.csv"
    bad.write_text("learning.coaching_rate,weight\n0.1,-1\n")
    config = replace(
        POSTERIOR, calibration=CalibrationConfig(sample="posterior", posterior=str(bad))
    )
    with pytest.raises(sim.ConfigError, match=r"weight column is missing or invalid"):
        TwinningModel(config, 1)
    missing = replace(config, calibration=replace(config.calibration, posterior="/no/such.csv"))
    with pytest.raises(sim.ConfigError, match=r"no such file"):
        TwinningModel(missing, 1)


def test_the_representative_set_is_one_of_the_posteriors_sets() -> None:
    text = (CALIBRATION / "representative.yaml").read_text()
    assert text.startswith("# @package _global_")
    assert "experiments/calibrate.py" in text
    assert compose_scenario(["calibration=representative"]).calibration.sample == "point"
    assert POSTERIOR.calibration.sample == "posterior"
    posterior, values = read_posterior(), representative()
    matches = np.ones(len(posterior.particles), dtype=bool)
    for key in posterior.keys:
        matches &= np.isclose(posterior.particles[key], values[key], atol=1e-4)
    assert matches.sum() == 1, "the representative set is one accepted parameter set"


def test_the_calibrated_parameters_are_the_priors_and_their_source_says_so() -> None:
    keys = {p.key for p in PRIORS}
    assert set(representative()) == keys, "the representative set holds every calibrated key"
    config = sim.ScenarioConfig()
    declared = {
        f"{section.section}.{f.name}"
        for section in vars(config).values()
        if isinstance(section, Validated)
        for f in fields(section)
        if f.metadata.get("source", "").startswith(CALIBRATED)
    }
    assert declared == {k for k in keys if not k.startswith("topic.")}


def run_copy(tmp_path: Path, representative_set: str | None) -> subprocess.CompletedProcess:
    """Print the calibrated keys' defaults, importing a copy of the package whose
    configs/calibration/representative.yaml is `representative_set` (None: no such file)."""
    shutil.copytree(ROOT / "sim", tmp_path / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    if representative_set is not None:
        (tmp_path / "configs/calibration").mkdir(parents=True)
        (tmp_path / "configs/calibration/representative.yaml").write_text(representative_set)
    code = (
        "import json, sim; from sim.analysis.calibration import PRIORS; "
        "from sim.core.posterior import value_of"
        f"; assert sim.__file__.startswith({str(tmp_path)!r}), sim.__file__"
        "; c = sim.ScenarioConfig(); print(json.dumps({p.key: value_of(c, p.key) for p in PRIORS}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )


def halved(tree: dict) -> dict:
    return {
        k: halved(v) if isinstance(v, dict) else v / 2 if isinstance(v, float) else v
        for k, v in tree.items()
    }


def test_the_defaults_follow_the_representative_set_written_nowhere_else(tmp_path) -> None:
    """Recalibrating rewrites configs/calibration/representative.yaml alone: every calibrated
    default follows it, so no calibrated value is written in the code."""
    moved = halved(yaml.safe_load((CALIBRATION / "representative.yaml").read_text()))
    run = run_copy(tmp_path, yaml.safe_dump(moved))
    assert run.returncode == 0, run.stderr
    defaults = json.loads(run.stdout)
    assert defaults == {key: value / 2 for key, value in representative().items()}


def test_without_the_representative_set_the_package_stops_with_one_line(tmp_path) -> None:
    run = run_copy(tmp_path, None)
    assert run.returncode != 0
    error = run.stderr.strip().splitlines()[-1]
    assert error.startswith("sim.config.ConfigError: ") and "representative.yaml" in error, error
    assert "No such file" in error and "experiments/calibrate.py" in error, error


@pytest.mark.slow
def test_the_default_scenario_reproduces_both_published_contrasts() -> None:
    """The posterior predictive check of one programme (posterior.json, 1,000 programmes; the
    next test ties it to fresh runs): each mean within 0.5 points of the published value, and
    the published value inside the central 50%."""
    recorded = json.loads((CALIBRATION / "posterior.json").read_text())["predictive"]
    for topic, published in PUBLISHED_ESTIMATES.items():
        check = recorded[topic]
        assert check["mean"] == pytest.approx(published, abs=0.5), topic
        assert check["25%"] <= published <= check["75%"], topic
    assert sim.ScenarioConfig().calibration.sample == "posterior"  # the default draws from it


@pytest.mark.slow
def test_the_posterior_reproduces_its_recorded_predictive_check() -> None:
    """300 fresh replications drawing from the posterior give the article's contrasts as the
    predictive check in posterior.json recorded them (1,000 programmes): the means agree within
    three standard errors of the difference. It fails if the model, the posterior or the way
    replications draw from it drift apart."""
    recorded = json.loads((CALIBRATION / "posterior.json").read_text())["predictive"]
    summary = sim.core.run.run_summaries(replace(POSTERIOR, replications=300, seed=4242))
    for topic in PUBLISHED_ESTIMATES:
        ours = summary[f"{topic}_estimate"].dropna()
        theirs = recorded[topic]
        se = np.hypot(ours.std() / np.sqrt(len(ours)), theirs["std"] / np.sqrt(theirs["count"]))
        assert ours.mean() == pytest.approx(theirs["mean"], abs=3 * se), topic
