"""The article-replication study (sim/analysis/paper.py, experiments/replicate_paper.py): hand-made
panels and summaries with known answers, a reduced end-to-end run, and the study's script."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import sim
from sim.analysis import paper
from sim.core.metrics import PUBLISHED_ESTIMATES

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "replicate_paper.py"
TOPICS = list(PUBLISHED_ESTIMATES)

# One hand-made run of six members: choosers start 10 points higher than the others, and the
# residual pattern is orthogonal to (1, chose, baseline) and has mean 0 in each group, so the
# adjusted coefficient is exactly b while the article's estimator is b + 0.5 * 10 = b + 5.
CHOSE = np.array([True, True, True, False, False, False])
BASELINE = np.array([20.0, 30.0, 40.0, 10.0, 20.0, 30.0])
RESIDUAL = np.array([1.0, -2.0, 1.0, -1.0, 2.0, -1.0])


def changes_frame(effects: list[float], noise: float = 0.01) -> pd.DataFrame:
    """A `changes` frame with one run per effect b: change = b * chose + 0.5 * baseline + noise."""
    runs = []
    for run, b in enumerate(effects):
        change = b * CHOSE + 0.5 * BASELINE + noise * RESIDUAL
        runs.append(
            pd.DataFrame(
                {
                    "run": run,
                    "institution": [f"m{i}" for i in range(len(CHOSE))],
                    "baseline": BASELINE,
                    "end": BASELINE + change,
                    "change": change,
                    "chose": CHOSE,
                }
            )
        )
    return pd.concat(runs, ignore_index=True)


def test_changes_per_run_and_institution() -> None:
    rows = []
    for run in range(3):
        for i, name in enumerate(["A", "B", "C"]):
            for month in (0, 6, 12):
                for topic, shift in (("accreditation", 0.0), ("other", 50.0)):
                    kpi = 10.0 * i + run + month * (i + 1) + shift
                    rows.append((run, name, topic, month, kpi, (i + run) % 2 == 0, -1.0))
    columns = [*paper.PANEL_COLUMNS, "capacity"]
    panel = pd.DataFrame(rows, columns=columns).sample(frac=1, random_state=3)
    panel["topic"] = panel["topic"].astype("category")

    result = paper.changes(panel, "accreditation", end_month=6)

    assert list(result.columns) == ["run", "institution", "baseline", "end", "change", "chose"]
    assert len(result) == 9
    got = result.set_index(["run", "institution"]).sort_index()
    for run in range(3):
        for i, name in enumerate(["A", "B", "C"]):
            row = got.loc[(run, name)]
            assert row["baseline"] == 10.0 * i + run
            assert row["end"] == 10.0 * i + run + 6 * (i + 1)
            assert row["change"] == 6 * (i + 1)
            assert row["chose"] == ((i + run) % 2 == 0)
    with pytest.raises(ValueError, match="month"):
        paper.changes(panel, "accreditation", end_month=18)


def test_adjusted_estimate_recovers_a_known_coefficient() -> None:
    baseline = np.array([12.0, 35.0, 50.0, 61.0, 20.0, 44.0, 70.0, 28.0, 55.0, 39.0])
    chose = np.array([1, 0, 1, 1, 0, 0, 1, 0, 0, 1], dtype=bool)
    frame = pd.DataFrame(
        {"baseline": baseline, "chose": chose, "change": 3 * chose + 0.5 * baseline}
    )

    coef, low, high = paper.adjusted_estimate(frame)

    assert coef == pytest.approx(3.0, abs=1e-9)
    assert low == pytest.approx(3.0, abs=1e-6)
    assert high == pytest.approx(3.0, abs=1e-6)


@pytest.mark.parametrize("chose", [False, True])
def test_adjusted_estimate_is_nan_when_a_group_is_empty(chose: bool) -> None:
    frame = pd.DataFrame(
        {"baseline": [10.0, 20.0, 30.0, 40.0], "chose": chose, "change": [1.0, 2.0, 0.0, 4.0]}
    )
    assert all(math.isnan(x) for x in paper.adjusted_estimate(frame))


def hand_made() -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """41 runs with b = -10..30 (estimator b + 5, true effect b + 2), and a 42nd run in which
    nobody chose, whose (made-up) true effect must not count."""
    effects = list(range(-10, 31))
    changes = changes_frame([*effects, 0.0])
    last = changes["run"] == len(effects)
    changes.loc[last, "chose"] = False
    summary = pd.DataFrame({"run": range(len(effects) + 1)})
    for topic in TOPICS:
        summary[f"{topic}_estimate"] = [b + 5.0 for b in effects] + [np.nan]
        summary[f"{topic}_true_effect"] = [b + 2.0 for b in effects] + [1000.0]
    return summary, dict.fromkeys(TOPICS, changes)


def test_replication_table_on_a_hand_made_summary() -> None:
    summary, changes = hand_made()

    table = paper.replication_table(summary, changes)

    assert list(table.index) == TOPICS
    assert table["members"].tolist() == ["hospitals", "districts"]
    assert table["published"].tolist() == [5.6, 4.8]
    expected = {
        "estimator_mean": 15.0,  # mean of -5..35
        "estimator_low": -4.0,  # 41 evenly spaced values: the 2.5% quantile is the 2nd
        "estimator_high": 34.0,
        "estimator_positive": 35 / 41,  # b + 5 > 0 for b = -4..30
        "adjusted_mean": 10.0,
        "adjusted_low": -9.0,
        "adjusted_high": 29.0,
        "adjusted_power": 40 / 41,  # only b = 0 has a confidence interval holding 0
        "true_effect": 12.0,
        "selection_share": (15.0 - 12.0) / 15.0,
        "replications": 41,
    }
    for column, value in expected.items():
        assert table[column].tolist() == pytest.approx([value, value], abs=1e-9), column

    markdown = paper.markdown_table(table)
    assert "| accreditation (hospitals) | 5.6 | 15.00 [-4.00, 34.00] | 85% |" in markdown
    assert "cbhi_coverage (districts) | 4.8 |" in markdown
    assert markdown.count("\n") == 3


def test_replication_table_refuses_changes_of_other_runs() -> None:
    summary, changes = hand_made()
    summary.loc[3, "accreditation_estimate"] += 1.0
    with pytest.raises(ValueError, match="accreditation"):
        paper.replication_table(summary, changes)


@pytest.fixture(scope="module")
def reduced_run() -> sim.Results:
    return sim.run_scenario(sim.ScenarioConfig(replications=60))


def test_reduced_end_to_end(reduced_run: sim.Results) -> None:
    end = sim.ScenarioConfig().schedule.programme_months
    panel = reduced_run.panel[paper.PANEL_COLUMNS]
    changes = {topic: paper.changes(panel, topic, end) for topic in TOPICS}

    table = paper.replication_table(reduced_run.summary, changes)  # also checks the estimator

    assert list(table.index) == TOPICS
    assert np.isfinite(table.drop(columns="members").to_numpy(dtype=float)).all()
    assert table["published"].tolist() == [5.6, 4.8]
    assert (table["replications"] <= 60).all() and (table["replications"] > 50).all()
    assert ((table["adjusted_power"] >= 0) & (table["adjusted_power"] <= 1)).all()
    assert (table["estimator_low"] < table["estimator_mean"]).all()
    assert (table["estimator_mean"] < table["estimator_high"]).all()
    markdown = paper.markdown_table(table)
    assert "| 5.6 |" in markdown and "| 4.8 |" in markdown


def test_estimator_figure_has_one_axis_per_topic(reduced_run: sim.Results) -> None:
    fig = paper.estimator_figure(reduced_run.summary)
    try:
        assert isinstance(fig, Figure)
        assert len(fig.axes) == 2
        assert [ax.get_title() for ax in fig.axes] == [
            "accreditation (hospitals)",
            "cbhi_coverage (districts)",
        ]
    finally:
        plt.close(fig)


@pytest.mark.slow
def test_study_script_end_to_end(tmp_path: Path) -> None:
    results = tmp_path / "results" / "replicate_paper"
    command = [sys.executable, str(SCRIPT), "--replications", "30", "--results", str(results)]

    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    for name in ("replication.md", "estimators.png", "estimators.svg"):
        assert (results / "analysis" / name).stat().st_size > 0
    assert "accreditation (hospitals)" in done.stdout
    assert "cbhi_coverage (districts)" in done.stdout
    assert "| 5.6 |" in (results / "analysis" / "replication.md").read_text()
