"""Users' own institutions, pairs and calendar: validation, round trip, what-ifs, both ways."""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.config import ConfigError
from sim.core.model import TwinningModel
from sim.core.posterior import Draws
from sim.core.run import replication_seeds, run_replication
from sim.core.scenario import ScenarioConfig
from sim.data.inputs import InputError
from sim.interfaces.export import export
from sim.interfaces.export import main as export_main
from sim.interfaces.hydra_config import compose_scenario

DATA = Path(__file__).resolve().parent.parent / "configs" / "data"
RWANDA = DATA / "rwanda"
SMALL = DATA / "small"


def from_files(
    config: ScenarioConfig | None = None,
    institutions: Path | None = None,
    pairs: Path | None = None,
    calendar: Path | None = None,
) -> ScenarioConfig:
    """`config` reading the given files (institutions, pairs, calendar)."""
    config = config or ScenarioConfig()
    if institutions:
        config = replace(config, population=replace(config.population, path=str(institutions)))
    if pairs:
        network = replace(config.network, design="from_file", path=str(pairs))
        config = replace(config, network=network)
    if calendar:
        schedule = replace(config.schedule, path=str(calendar), exchange_visit_every=0)
        config = replace(config, schedule=schedule)
    return config


def small_config() -> ScenarioConfig:
    config = from_files(institutions=SMALL / "institutions.csv", pairs=SMALL / "pairs.csv")
    types = config.population.types
    hospital = replace(types["hospital"], mentors=["health_centre"])
    population = replace(config.population, types=types | {"hospital": hospital})
    return replace(config, population=population, headline_topics=["accreditation"])


def summary(config: ScenarioConfig, seed: int) -> dict:
    return run_replication(Draws(config), 0, seed)[1]


def same(a: dict, b: dict) -> bool:
    """Equal rows, NaN equal to NaN, the design name aside."""
    keys = set(a) - {"design"}
    return all(a[k] == b[k] or (a[k] != a[k] and b[k] != b[k]) for k in keys)


# --- the default Rwanda scenario did not move --------------------------------------------------


def test_types_as_data_keep_the_default_scenario_numbers() -> None:
    """Mean programme effect of 8 replications of each design, recorded when the defaults moved
    to the posterior (issue 9; first recorded before institution types became data, commit
    8512fcb): the same seeds give the same numbers."""
    recorded = {"tpn": 5.346094892601624, "pairwise": 2.953456156911721, "hub": 1.6130831389258062}
    for design, value in recorded.items():
        config = ScenarioConfig(replications=8)
        config = replace(config, network=replace(config.network, design=design))
        effect = sim.run_scenario(config).summary["mean_effect"].mean()
        assert effect == pytest.approx(value, rel=1e-12, abs=0), design


# --- round trip: export what the model drew, load it back ---------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, int]:
    folder = tmp_path_factory.mktemp("export")
    seed = replication_seeds(ScenarioConfig().seed, 1)[0]
    export(TwinningModel(ScenarioConfig(), seed), folder)
    return folder, seed


def test_exported_population_and_calendar_load_back_to_identical_results(exported) -> None:
    folder, seed = exported
    loaded = from_files(institutions=folder / "institutions.csv", calendar=folder / "calendar.csv")
    assert same(summary(ScenarioConfig(), seed), summary(loaded, seed))


def test_exported_pairs_load_back_to_identical_results(exported) -> None:
    folder, seed = exported
    original = summary(ScenarioConfig(), seed)
    assert original["unmatched_goals"] > 0  # written as lines without a teacher
    loaded = from_files(
        institutions=folder / "institutions.csv",
        pairs=folder / "pairs.csv",
        calendar=folder / "calendar.csv",
    )
    assert same(original, summary(loaded, seed))


@pytest.mark.parametrize(
    ("folder", "overrides"),
    [("rwanda", []), ("rwanda_with_health_centres", ["population=rwanda_with_health_centres"])],
)
def test_the_shipped_examples_are_what_the_exporter_writes(tmp_path, folder, overrides) -> None:
    assert export_main(["--out", str(tmp_path), *overrides]) == 0
    for name in ("institutions.csv", "pairs.csv", "calendar.csv"):
        shipped = pd.read_csv(DATA / folder / name, dtype=str, keep_default_na=False)
        written = pd.read_csv(tmp_path / name, dtype=str, keep_default_na=False)
        pd.testing.assert_frame_equal(shipped, written)


def test_results_do_not_depend_on_the_order_of_lines(exported, tmp_path) -> None:
    folder, seed = exported
    for name in ("institutions.csv", "pairs.csv"):
        frame = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        frame.sample(frac=1, random_state=3).to_csv(tmp_path / name, index=False)
    in_order = from_files(institutions=folder / "institutions.csv")
    shuffled = from_files(institutions=tmp_path / "institutions.csv")
    assert same(summary(in_order, seed), summary(shuffled, seed))


def test_left_out_values_are_drawn_and_the_run_says_which(tmp_path, caplog) -> None:
    frame = pd.read_csv(RWANDA / "institutions.csv", dtype=str, keep_default_na=False)
    frame = frame[["id", "name", "type", "province", "kpi.accreditation"]]
    frame.loc[0, "kpi.accreditation"] = ""
    frame.to_csv(tmp_path / "few.csv", index=False)
    with caplog.at_level(logging.WARNING, logger="sim.data.inputs"):
        m = TwinningModel(from_files(institutions=tmp_path / "few.csv"), 1)
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "resource, leadership, motivation, time" in said
    assert "kpi.accreditation (1 rows)" in said and "kpi.cbhi_coverage" in said
    k = m.pop.topics.index("accreditation")
    given = frame["kpi.accreditation"].replace("", np.nan).astype(float).to_numpy()
    hospitals = np.flatnonzero(m.pop.applies[:, k])
    np.testing.assert_array_equal(m.pop.capacity[hospitals[1:], k], given[hospitals[1:]])
    assert 0 <= m.pop.capacity[hospitals[0], k] <= 100


def test_a_file_is_read_and_reported_once_whatever_the_posterior_draws(tmp_path, caplog) -> None:
    """Drawing from the posterior changes topics' baselines in every replication; the file's
    validation does not depend on them, so it is read, and its drawn values reported, once."""
    frame = pd.read_csv(RWANDA / "institutions.csv", dtype=str, keep_default_na=False)
    frame[["id", "name", "type", "province"]].to_csv(tmp_path / "bare.csv", index=False)
    config = from_files(institutions=tmp_path / "bare.csv")
    config = replace(config, calibration=replace(config.calibration, sample="posterior"))
    with caplog.at_level(logging.WARNING, logger="sim.data.inputs"):
        particles = {TwinningModel(config, seed).particle for seed in range(6)}
    assert len(particles) > 1  # different draws, so different baselines
    drawn = [r for r in caplog.records if "drawn from the documented" in r.getMessage()]
    assert len(drawn) == 1


# --- institution types and the health-centre what-if --------------------------------------------


def test_health_centres_join_and_learn_from_hospitals_in_shared_topics() -> None:
    config = compose_scenario(["population=rwanda_with_health_centres"])
    m = TwinningModel(config, 4)
    kinds = pd.Series([m.pop.kinds[k] for k in m.pop.kind]).value_counts().to_dict()
    assert kinds == {"health_centre": 60, "district": 30, "hospital": 10}
    centre = np.array([m.pop.kinds[k] == "health_centre" for k in m.pop.kind])
    mentor_is_hospital = np.array([m.pop.kinds[m.pop.kind[t]] == "hospital" for t in m.ties.mentor])
    from_hospitals = centre[m.ties.learner] & mentor_is_hospital
    assert from_hospitals.any(), "hospitals may mentor health centres"
    shared = {"maternal_newborn_care", "infection_prevention"}
    assert {m.pop.topics[t] for t in m.ties.topic[from_hospitals]} <= shared
    district = np.array([m.pop.kinds[k] == "district" for k in m.pop.kind])
    assert not (district[m.ties.learner] & ~district[m.ties.mentor]).any()


# --- own pairs ----------------------------------------------------------------------------------


def test_both_ways_pairs_teach_where_each_partner_is_stronger() -> None:
    m = TwinningModel(small_config(), 2)
    ids, topics, obs = m.pop.ids, m.pop.topics, m.kickoff.observed
    h1, h2 = ids.index("H1"), ids.index("H2")
    shared = [t for t in range(len(topics)) if m.pop.applies[h1, t] and m.pop.applies[h2, t]]
    ties = {
        (int(a), int(b), int(t))
        for a, b, t in zip(m.ties.learner, m.ties.mentor, m.ties.topic, strict=False)
    }
    directions = set()
    for t in shared:
        learner, teacher = (h1, h2) if obs[h2, t] >= obs[h1, t] else (h2, h1)
        assert (learner, teacher, t) in ties
        assert (teacher, learner, t) not in ties
        directions.add(learner)
    assert directions == {h1, h2}, "each partner teaches somewhere (kick-off seed 2)"


def test_goals_come_from_the_pairs_and_intensity_scales_the_tie() -> None:
    m = TwinningModel(small_config(), 2)
    goals = {(int(a), int(t)) for a, t in zip(*np.nonzero(m.kickoff.goals), strict=False)}
    assert goals == {(int(a), int(t)) for a, t in zip(m.ties.learner, m.ties.topic, strict=False)}
    c1 = m.pop.ids.index("C1")
    imci = m.pop.topics.index("imci_classification")
    tie = np.flatnonzero((m.ties.learner == c1) & (m.ties.topic == imci))
    assert m.ties.weight[tie].tolist() == [1.5]


def test_pairs_of_intensity_zero_leave_only_the_workshops(tmp_path) -> None:
    pairs = pd.read_csv(SMALL / "pairs.csv", dtype=str)
    pairs["intensity"] = "0"
    pairs.to_csv(tmp_path / "pairs.csv", index=False)
    config = small_config()
    idle = replace(config, network=replace(config.network, path=str(tmp_path / "pairs.csv")))
    for seed in range(3):
        effect = summary(idle, seed)["mean_effect"]
        assert 0 < effect < summary(config, seed)["mean_effect"]


# --- bad files: one line naming file, line, column, value and what is allowed -------------------


def institutions_with(tmp_path: Path, edit) -> Path:
    frame = pd.read_csv(RWANDA / "institutions.csv", dtype=str, keep_default_na=False)
    frame = edit(frame)
    path = tmp_path / "institutions.csv"
    frame.to_csv(path, index=False)
    return path


def pairs_with(tmp_path: Path, rows: list[dict]) -> Path:
    path = tmp_path / "pairs.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def set_cell(line: int, column: str, value: str):
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[line - 2, column] = value
        return frame

    return edit


BAD_INSTITUTIONS = [
    pytest.param(
        lambda f: f.drop(columns="province"),
        ["line 1", "missing column 'province'"],
        id="missing-column",
    ),
    pytest.param(
        lambda f: f.assign(colour="red"), ["line 1", "unknown column 'colour'"], id="unknown-column"
    ),
    pytest.param(
        set_cell(5, "id", "01"),
        ["lines 2, 5 repeat it", "column 'id'", "'01'", "no other line"],
        id="duplicate-id",
    ),
    pytest.param(
        set_cell(3, "type", "clinic"),
        ["line 3", "column 'type'", "'clinic'", "one of ['hospital', 'district', 'health_centre']"],
        id="unknown-type",
    ),
    pytest.param(
        set_cell(4, "province", "Nothern"),
        ["line 4", "column 'province'", "'Nothern'", "'Northern'"],
        id="unknown-province",
    ),
    pytest.param(
        set_cell(2, "kpi.accreditation", "120"),
        ["line 2", "'kpi.accreditation'", "120", "a number in [0, 100]"],
        id="kpi-above-100",
    ),
    pytest.param(
        set_cell(2, "kpi.accreditation", "-3"), ["line 2", "-3", "[0, 100]"], id="kpi-below-0"
    ),
    pytest.param(
        set_cell(6, "leadership", "1.4"),
        ["line 6", "'leadership'", "1.4", "a number in [0, 1]"],
        id="trait-above-1",
    ),
    pytest.param(
        set_cell(7, "motivation", "high"),
        ["line 7", "'motivation'", "'high'", "a number in [0, 1]"],
        id="non-numeric",
    ),
    pytest.param(
        set_cell(2, "kpi.cbhi_coverage", "50"),
        ["line 2", "'kpi.cbhi_coverage'", "only for types ['district']"],
        id="kpi-of-another-type",
    ),
    pytest.param(
        set_cell(8, "name", ""), ["line 8", "column 'name'", "a non-empty value"], id="empty-name"
    ),
]


@pytest.mark.parametrize(("edit", "fragments"), BAD_INSTITUTIONS)
def test_bad_institution_files_are_refused_in_one_line(tmp_path, edit, fragments) -> None:
    path = institutions_with(tmp_path, edit)
    with pytest.raises(InputError) as error:
        TwinningModel(from_files(institutions=path), 0)
    message = str(error.value)
    assert "\n" not in message and message.startswith(str(path))
    for fragment in fragments:
        assert fragment in message, (fragment, message)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param(b"", "the file is empty", id="empty-file"),
        pytest.param(b"id,name,type,province\n", "no rows", id="header-only"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "not a readable CSV", id="binary"),
        pytest.param(b'a,"b\n1,2\n', "not a readable CSV", id="broken-quotes"),
    ],
)
def test_unreadable_files_are_refused_in_one_line(tmp_path, content, fragment) -> None:
    path = tmp_path / "institutions.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=fragment) as error:
        TwinningModel(from_files(institutions=path), 0)
    assert "\n" not in str(error.value)


def test_a_missing_file_is_refused() -> None:
    with pytest.raises(InputError, match="no such file"):
        TwinningModel(from_files(institutions=Path("nowhere.csv")), 0)


GOOD_PAIR = {"learner": "01", "teacher": "02", "topic": "accreditation"}
BAD_PAIRS = [
    pytest.param(
        {"learner": "99"},
        ["column 'learner'", "'99'", "the id of an institution"],
        id="unknown-learner",
    ),
    pytest.param({"teacher": "01"}, ["column 'teacher'", "other than the learner"], id="self-pair"),
    pytest.param(
        {"topic": "cbhi_coverage"},
        ["column 'topic'", "a topic of the learner's type"],
        id="topic-of-another-type",
    ),
    pytest.param(
        {"topic": "malaria"}, ["column 'topic'", "'malaria'", "one of ['*'"], id="unknown-topic"
    ),
    pytest.param(
        {"teacher": "03"},
        ["column 'topic'", "a topic of the teacher's type"],
        id="teacher-lacks-topic",
    ),
    pytest.param(
        {"both_ways": "maybe"},
        ["column 'both_ways'", "'maybe'", "'true'"],
        id="both-ways-not-boolean",
    ),
    pytest.param({"intensity": "11"}, ["column 'intensity'", "[0, 10]"], id="intensity-too-high"),
]


@pytest.mark.parametrize(("change", "fragments"), BAD_PAIRS)
def test_bad_pairs_are_refused_in_one_line(tmp_path, change, fragments) -> None:
    path = pairs_with(tmp_path, [GOOD_PAIR, GOOD_PAIR | change])
    with pytest.raises(InputError) as error:
        TwinningModel(from_files(pairs=path), 0)
    message = str(error.value)
    assert "\n" not in message and "line 3" in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_a_type_that_may_not_mentor_another_is_refused(tmp_path) -> None:
    path = SMALL / "pairs.csv"
    config = small_config()
    types = config.population.types
    no_mentors = replace(types["hospital"], mentors=[])
    config = replace(
        config, population=replace(config.population, types=types | {"hospital": no_mentors})
    )
    with pytest.raises(InputError, match=r"line 5, column 'teacher'.*types.<type>.mentors"):
        TwinningModel(config, 0)
    assert path.exists()


@pytest.mark.parametrize(
    ("rows", "fragments"),
    [
        pytest.param(
            [{"month": 19, "kind": "coaching"}],
            ["line 2", "'month'", "[1, 18]"],
            id="month-beyond-programme",
        ),
        pytest.param(
            [{"month": 3, "kind": "party"}], ["'kind'", "'party'", "'coaching'"], id="unknown-kind"
        ),
        pytest.param(
            [{"month": 3, "kind": "coaching", "group": "Mars"}],
            ["'group'", "'Mars'", "'North'"],
            id="unknown-group",
        ),
        pytest.param(
            [{"month": 3, "kind": "coaching", "mode": "radio"}],
            ["'mode'", "'radio'"],
            id="unknown-mode",
        ),
    ],
)
def test_bad_calendars_are_refused_in_one_line(tmp_path, rows, fragments) -> None:
    path = tmp_path / "calendar.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    with pytest.raises(InputError) as error:
        TwinningModel(from_files(calendar=path), 0)
    for fragment in fragments:
        assert fragment in str(error.value), (fragment, str(error.value))


def test_a_yaml_calendar_is_read_as_data(tmp_path) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text(
        "events:\n"
        "  - {month: 2, kind: coaching, mode: virtual}\n"
        "  - {month: 5, kind: provincial_workshop, group: North}\n"
        "  - {month: 7, kind: exchange_visit}\n"
    )
    m = TwinningModel(from_files(calendar=path), 0).run()
    held = [(month, kind, group) for month, kind, _, group, *_ in m.event_log]
    assert (2, "coaching", "") in held and (5, "provincial_workshop", "North") in held
    assert (7, "exchange_visit", "") in held
    path.write_text("!!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ConfigError, match=r"calendar\.yaml, line 1, column 1: could not determine"):
        TwinningModel(from_files(calendar=path), 1)


def test_a_yaml_calendar_repeating_a_key_is_refused(tmp_path) -> None:
    """PyYAML alone would keep the last `month` and run another calendar than the file says."""
    path = tmp_path / "calendar.yaml"
    path.write_text("events:\n  - kind: coaching\n    month: 2\n    month: 5\n")
    with pytest.raises(ConfigError) as error:
        TwinningModel(from_files(calendar=path), 0)
    assert str(error.value) == (
        f"{path}, line 4, column 5: key 'month' is repeated: allowed each key once in a mapping"
    )


def test_a_config_error_is_an_input_error_base() -> None:
    assert issubclass(InputError, ConfigError)


# --- the command line: exit 2, one line, no output folder ---------------------------------------


def bad_files(folder: Path) -> dict[str, list[str]]:
    """Override lists that each name one bad file written into `folder`."""
    institutions_with(folder, set_cell(4, "kpi.accreditation", "120"))
    pairs_with(folder, [GOOD_PAIR | {"teacher": "01"}])
    pd.DataFrame([{"month": 19, "kind": "coaching"}]).to_csv(folder / "cal.csv", index=False)
    (folder / "photo.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe\x00")
    return {
        "institutions": ["population=from_file", f"population.path={folder / 'institutions.csv'}"],
        "pairs": ["network=from_file", f"network.path={folder / 'pairs.csv'}"],
        "calendar": ["schedule=from_file", f"schedule.path={folder / 'cal.csv'}"],
        "not-csv": ["population=from_file", f"population.path={folder / 'photo.csv'}"],
        "no-path": ["network=from_file"],
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    ("case", "fragments"),
    [
        ("institutions", ["institutions.csv, line 4, column 'kpi.accreditation'", "[0, 100]"]),
        ("pairs", ["pairs.csv, line 2, column 'teacher'", "other than the learner"]),
        ("calendar", ["cal.csv, line 2, column 'month'", "[1, 18]"]),
        ("not-csv", ["photo.csv: not a readable CSV"]),
        ("no-path", ["network.path is not set", "e.g. network.path=configs/data/rwanda"]),
    ],
)
def test_the_command_line_refuses_bad_files(tmp_path, tpn_sim, case, fragments) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    done = tpn_sim(*bad_files(inputs)[case], "replications=2", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tpn-sim: error: "), done.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_an_edited_input_file_is_a_new_run(tmp_path, tpn_sim) -> None:
    """The store keys a run by its files' content too: editing a file never reuses results."""
    path = tmp_path / "institutions.csv"
    path.write_bytes((RWANDA / "institutions.csv").read_bytes())
    args = ["population=from_file", f"population.path={path}", "replications=2"]
    first = tpn_sim(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = tpn_sim(*args, cwd=tmp_path)
    assert "skipped" in again.stdout
    institutions_with(tmp_path, set_cell(2, "kpi.accreditation", "99"))
    edited = tpn_sim(*args, cwd=tmp_path)
    assert edited.returncode == 0 and "skipped" not in edited.stdout
    assert list((tmp_path / "results" / "runs" / ".superseded").iterdir())


@pytest.mark.parametrize(
    "args",
    [["learning.peer_contact_rate=-1"], ["network=tpn,hub"], ["--run", "100000"]],
    ids=["bad-value", "sweep", "bad-run"],
)
def test_export_refuses_bad_input_in_one_line_and_writes_nothing(tmp_path, capsys, args) -> None:
    out = tmp_path / "out"
    with pytest.raises(SystemExit) if args[0] == "--run" else nullcontext():
        assert export_main(["--out", str(out), *args]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 or "usage:" in lines[0], lines
    assert "error" in lines[-1] and not out.exists()


def test_lines_are_counted_as_in_the_file_blank_lines_included(tmp_path) -> None:
    path = tmp_path / "institutions.csv"
    lines = (RWANDA / "institutions.csv").read_text().splitlines()
    lines[2] = lines[2].replace(",hospital,", ",clinic,")  # the second member
    path.write_text("\n".join([lines[0], "", *lines[1:]]) + "\n")  # after a blank line 2: line 4
    with pytest.raises(InputError, match=r"line 4, column 'type': value 'clinic'"):
        TwinningModel(from_files(institutions=path), 0)


@pytest.mark.slow
def test_a_count_for_one_province_is_a_new_entry_and_the_error_says_how(tmp_path, tpn_sim) -> None:
    done = tpn_sim("population.provinces.0.counts.hospital=6", "replications=1", cwd=tmp_path)
    assert done.returncode == 2
    assert "allowed as a new entry with a leading '+': +population.provinces.0.counts" in (
        done.stderr
    )
    added = tpn_sim("+population.provinces.0.counts.hospital=6", "replications=1", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    summary = pd.read_csv(next((tmp_path / "results" / "runs").glob("*counts*")) / "summary.csv")
    assert summary["goals"].tolist() == [88]  # (10 + 4 hospitals + 30 districts) x 2 goals
