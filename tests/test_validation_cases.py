"""The published external-validation cases in experiments/validation/ are complete and runnable:
every observation names its source, every folder's README cites that source, and the folder's
files load and predict one row per observation (a few replications: this checks the files, not
the verdicts, which experiments/validate.py reports)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from sim.analysis.validation import predict, read_programme
from sim.core.run import run_scenario
from sim.interfaces.hydra_config import compose_scenario

ROOT = Path(__file__).resolve().parents[1]
VALIDATION = ROOT / "experiments" / "validation"
CASES = sorted(p for p in VALIDATION.iterdir() if p.is_dir())
DOI = re.compile(r"10\.\d{4,9}/[^\s;,()]+")


def dois(text: str) -> list[str]:
    return [d.rstrip(".") for d in DOI.findall(text)]


def test_there_are_at_least_two_cases_and_an_index() -> None:
    assert len(CASES) >= 2, CASES
    index = (VALIDATION / "README.md").read_text(encoding="utf-8")
    for case in CASES:
        assert f"`{case.name}/`" in index, f"experiments/validation/README.md omits {case.name}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_observation_names_its_source(case: Path) -> None:
    programme = read_programme(case)
    assert programme.name.strip() and programme.source.strip()
    assert len(programme.observations) > 0
    empty = programme.observations["source"].str.strip() == ""
    assert not empty.any(), programme.observations[empty]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_readme_cites_the_source(case: Path) -> None:
    readme = case / "README.md"
    assert readme.is_file(), f"{case.name} has no README.md"
    text = readme.read_text(encoding="utf-8")
    source = read_programme(case).source
    cited = dois(source)
    assert cited, f"{case.name}: programme.yaml's source gives no DOI"
    for doi in cited:
        assert doi in text, f"{case.name}/README.md does not cite {doi}"
    first_author = source.split()[0].rstrip(",")
    assert first_author in text


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_short_prediction_gives_one_row_per_observation(case: Path) -> None:
    programme = read_programme(case)
    config = compose_scenario(programme.settings(case))
    panel = run_scenario(replace(config, replications=5, seed=1)).panel
    table = predict(panel, programme.observations)
    assert len(table) == len(programme.observations)
    assert list(table["topic"]) == list(programme.observations["topic"])
    values = table[["predicted", "low", "high"]].to_numpy(float)
    assert np.isfinite(values).all()
    assert (table["low"] <= table["high"]).all()
    assert table["passed"].isin([True, False]).all()
