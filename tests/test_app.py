"""The what-if app without a browser: its settings, checked on the server (sim.interfaces.whatif),
and its components rendered by solara, clicked and waited on (tests/test_app_browser.py drives
the real page in Chromium)."""

import re
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import ipyvuetify as v
import ipywidgets
import matplotlib.pyplot as plt
import pytest
import solara
from matplotlib.figure import Figure
from solara.widgets import HTML

from sim.config import ConfigError
from sim.interfaces import app, whatif
from sim.interfaces.whatif import CONTROLS, Control

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "configs" / "data" / "rwanda"


def with_cell(path: Path, line: int, column: str, value: str) -> bytes:
    """A copy of a CSV file with one cell changed (line 1 is the header)."""
    rows = [r.split(",") for r in path.read_text().splitlines()]
    rows[line - 1][rows[0].index(column)] = value
    return "\n".join(",".join(r) for r in rows).encode()


# --- settings, checked on the server ------------------------------------------------------------


def test_every_control_stays_inside_its_declared_range() -> None:
    """A control is built only inside the range its key's `param` declares, so the page can
    offer nothing the model would refuse."""
    assert whatif.declared_range("replications")[0] <= 5
    assert whatif.declared_range("population.types.hospital.count") == (0, 1_000_000)
    with pytest.raises(ValueError, match=r"kickoff\.max_mentees"):
        Control("kickoff.max_mentees", "too many", 1, 10**9)
    assert {c.key for c in CONTROLS} <= set(whatif.defaults())


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("replications", 100_000, "an integer in [5, 500]"),
        ("kickoff.max_mentees", 2.5, "an integer in [1, 10]"),
        ("population.leadership_mean", 0.99, "a number in [0.05, 0.95]"),
        ("costs.budget", "lots", "an integer in [0, 2000000]"),
    ],
)
def test_the_server_refuses_what_the_widgets_would_not_offer(key, value, allowed) -> None:
    values = whatif.defaults() | {key: value}
    with pytest.raises(ConfigError, match=rf"^{key}=.* is invalid: allowed {re.escape(allowed)}$"):
        whatif.scenario("tpn", values, {})


def test_settings_become_the_scenario_the_command_line_would_run() -> None:
    values = whatif.defaults() | {"costs.budget": 150_000, "kickoff.max_mentees": 2}
    config = whatif.scenario("pairwise", values, {})
    assert config.network.design == "pairwise"
    assert (config.costs.budget, config.kickoff.max_mentees) == (150_000, 2)
    with pytest.raises(ConfigError, match="allowed one of"):
        whatif.scenario("no such design", values, {})
    with pytest.raises(ConfigError, match=r"^seed is not a setting of this page: allowed \['costs"):
        whatif.scenario("tpn", values | {"seed": 3}, {})


def test_uploads_are_checked_row_by_row_and_own_pairs_need_a_pairs_file(tmp_path) -> None:
    values = whatif.defaults()
    with pytest.raises(ConfigError, match="needs a pairs file"):
        whatif.scenario(whatif.OWN_PAIRS, values, {})
    bad = whatif.save_upload(
        tmp_path, "institutions", with_cell(DATA / "institutions.csv", 4, "leadership", "1.7")
    )
    assert bad == tmp_path / "institutions.csv"
    with pytest.raises(ConfigError, match=r"line 4, column 'leadership'.*allowed a number in"):
        whatif.scenario("tpn", values, {"institutions": bad})
    pairs = whatif.save_upload(tmp_path, "pairs", (DATA / "pairs.csv").read_bytes())
    own = whatif.scenario(whatif.OWN_PAIRS, values, {"pairs": pairs})
    assert own.network.path == str(pairs)
    with pytest.raises(ConfigError, match="allowed 'institutions' or 'pairs'"):
        whatif.save_upload(tmp_path, "../etc/passwd", b"")


def test_own_institutions_replace_the_member_counts(tmp_path) -> None:
    path = whatif.save_upload(tmp_path, "institutions", (DATA / "institutions.csv").read_bytes())
    chosen = whatif.overrides("tpn", whatif.defaults(), {"institutions": path})
    assert f"population.path={path}" in chosen
    assert not [o for o in chosen if ".count=" in o]


@pytest.fixture(scope="module")
def two_runs(quiet_log) -> tuple[whatif.Run, whatif.Run]:
    values = whatif.defaults() | {"replications": 10}
    runs = []
    for name, design in (("tpn", "tpn"), ("experts", "external_expert")):
        config = whatif.scenario(design, values, {})
        with quiet_log():
            runs.append(whatif.Run(name, config, app.run_scenario(config)))
    return runs[0], runs[1]


def test_a_result_reports_estimator_true_effect_and_cost(two_runs) -> None:
    table = whatif.outcomes(two_runs[0])
    assert list(table.columns) == ["outcome", "mean", "95% CI", "unit"]
    outcomes = " | ".join(table["outcome"])
    assert "article's estimator" in outcomes and "programme effect on choosers" in outcomes
    assert table["outcome"].iloc[-2:].tolist() == ["total cost", "cost per point gained"]
    assert float(table["mean"].iloc[-2].replace(",", "")) > 100_000  # dollars, not thousands
    for fig in (whatif.network_figure(two_runs[0]), whatif.trajectory_figure(two_runs[0])):
        assert isinstance(fig, Figure)
        assert whatif.png_bytes(fig).startswith(b"\x89PNG")
        assert fig.number not in plt.get_fignums()  # closed: a long-running page keeps none
    legend = whatif.trajectory_figure(two_runs[0]).axes[0].get_legend()
    assert sorted(t.get_text() for t in legend.get_texts()) == ["chosen topics", "other topics"]


def test_the_latest_run_is_compared_with_the_pinned_baseline(two_runs) -> None:
    baseline, latest = two_runs
    comparison = whatif.compared(baseline, latest)
    [sentence] = comparison.sentences
    assert sentence.startswith("experts: ") and "in the chosen topics for" in sentence
    table = whatif.differences(comparison)
    assert list(table.columns) == ["outcome", "baseline", "this run", "difference (95% CI)", "unit"]
    effect = comparison.table.set_index(["scenario", "outcome"]).loc[("experts", "mean_effect")]
    assert table["difference (95% CI)"].iloc[0] == (
        f"{effect['diff']:+,.2f} ({effect['diff_low']:,.2f} to {effect['diff_high']:,.2f})"
    )
    other = whatif.Run("other", replace(latest.config, seed=1), latest.results)
    with pytest.raises(ConfigError, match=r"seed=1 .* differs from the baseline.s"):
        whatif.compared(baseline, other)


# --- components, rendered by solara -------------------------------------------------------------


@pytest.fixture
def page_state():
    """Every reactive value of the page back to what it was before a test."""
    states = (app.design, app.values, app.files, app.upload_errors, app.problem, app.baseline)
    saved = [s.value for s in states]
    app.runs.value = 0
    yield
    for state, value in zip(states, saved, strict=True):
        state.value = value


def wait_for(condition, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_a_pages_upload_folder_is_removed_when_the_page_closes(page_state) -> None:
    before = set(Path(tempfile.gettempdir()).glob("tpn-sim-app-*"))
    _, rc = solara.render(app.Controls(), handle_error=False)
    [folder] = set(Path(tempfile.gettempdir()).glob("tpn-sim-app-*")) - before
    (folder / "institutions.csv").write_text("id\n")
    rc.close()
    assert not folder.exists()


def test_sliders_offer_each_control_within_its_bounds(page_state) -> None:
    _, rc = solara.render(app.Controls(), handle_error=False)
    sliders = rc.find(v.Slider).widgets
    assert [(s.min, s.max) for s in sliders] == [(c.low, c.high) for c in CONTROLS]
    sliders[-1].v_model = 25  # replications
    assert app.values.value["replications"] == 25
    assert rc.find(v.Slider, label="Replications: 25").widgets


def test_run_shows_a_result_and_pinning_compares_the_next(page_state) -> None:
    _, buttons = solara.render(app.RunButtons(), handle_error=False)
    _, main = solara.render(app.Main(), handle_error=False)
    app.values.value = app.values.value | {"replications": 5}
    buttons.find(v.Btn, children=["Run"]).widget.click()
    wait_for(lambda: main.find(HTML, tag="h3").widgets)
    assert main.find(HTML, tag="h3").widgets[0].unsafe_innerHTML == "run 1: tpn (5 replications)"
    assert len(main.find(ipywidgets.Image).widgets) == 2  # the network and the trajectories
    main.find(v.Btn, children=["Pin as baseline"]).widget.click()
    app.design.value = "pairwise"
    buttons.find(v.Btn, children=["Run"]).widget.click()
    wait_for(lambda: main.find(v.Alert, class_="comparison").widgets)
    sentence = main.find(v.Alert, class_="comparison").widgets[0].children[0]
    assert sentence.startswith("run 2: pairwise: ")


def test_bad_settings_show_one_line_and_run_nothing(page_state) -> None:
    _, buttons = solara.render(app.RunButtons(), handle_error=False)
    _, main = solara.render(app.Main(), handle_error=False)
    app.values.value = app.values.value | {"replications": 10**6}
    buttons.find(v.Btn, children=["Run"]).widget.click()
    assert app.problem.value.startswith("replications=1000000 is invalid")
    assert main.find(v.Alert, class_="problem").widgets
    assert app.runs.value == 0


def test_an_upload_is_checked_at_once_and_kept_out_when_bad(page_state, tmp_path) -> None:
    bad = with_cell(DATA / "institutions.csv", 4, "leadership", "1.7")
    app.received("institutions", tmp_path, bad)
    message = app.upload_errors.value["institutions"]
    assert message.startswith("institutions.csv, line 4, column 'leadership': value 1.7 is")
    assert str(tmp_path) not in message  # the server's folder is not shown
    assert "institutions" not in app.files.value
    _, controls = solara.render(app.Controls(), handle_error=False)
    assert controls.find(v.Alert, class_="upload-error").widgets
    app.received("institutions", tmp_path, None)
    assert not app.upload_errors.value
    app.received("pairs", tmp_path, (DATA / "pairs.csv").read_bytes())
    assert app.files.value == {"pairs": tmp_path / "pairs.csv"}
    assert app.design.value == whatif.OWN_PAIRS
