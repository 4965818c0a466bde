"""ScenarioConfig: validated on construction, one-line ConfigError naming key, value and range."""

from __future__ import annotations

import math
import re
from dataclasses import fields, replace

import numpy as np
import pytest

import sim
from sim import ConfigError, ScenarioConfig
from sim.config import (
    CostConfig,
    EventKind,
    EventSpec,
    InstitutionType,
    KickoffConfig,
    LearningConfig,
    Mode,
    PopulationConfig,
    ProvinceSpec,
    ScheduleConfig,
    TopicSpec,
    calibrated,
    representative,
    tpn_events,
)
from sim.core.scenario import NetworkConfig

# Every validated class, built from a base that passes its own cross-field checks.
SECTIONS = {
    "ScenarioConfig": ScenarioConfig,
    "PopulationConfig": PopulationConfig,
    "KickoffConfig": KickoffConfig,
    "NetworkConfig": NetworkConfig,
    "LearningConfig": LearningConfig,
    "ScheduleConfig": lambda: ScheduleConfig(events=[]),  # no events: any programme length
    "CostConfig": CostConfig,
}


def with_type(config: ScenarioConfig, kind: str, **changes) -> dict:
    """The population's types with one type's fields changed."""
    types = config.population.types
    return types | {kind: replace(types[kind], **changes)}


def nested_fields() -> list:
    """(spec class, field, low, high, dotted key) of the specs a population checks by key."""
    keys = {
        InstitutionType: "population.types.hospital",
        TopicSpec: "population.types.hospital.topics.accreditation",
    }
    return [
        pytest.param(cls, f, *f.metadata["range"], f"{key}.{f.name}", id=f"{key}.{f.name}")
        for cls, key in keys.items()
        for f in fields(cls)
        if "range" in f.metadata
    ]


def population_with(cls: type, **changes) -> PopulationConfig:
    """A population whose hospital type (or its accreditation topic) has `changes`."""
    pop = PopulationConfig()
    hospital = pop.types["hospital"]
    if cls is TopicSpec:
        topic = replace(hospital.topics["accreditation"], **changes)
        hospital = replace(hospital, topics=hospital.topics | {"accreditation": topic})
    else:
        hospital = replace(hospital, **changes)
    return replace(pop, types=pop.types | {"hospital": hospital})


@pytest.mark.parametrize(("cls", "f", "low", "high", "key"), nested_fields())
def test_nested_specs_are_checked_by_their_population_with_the_full_key(cls, f, low, high, key):
    assert population_with(cls, **{f.name: high})  # its bound is allowed
    for bad in (low - 1, high + 1, float("nan")):
        with pytest.raises(ConfigError) as error:
            population_with(cls, **{f.name: bad})
        assert_one_line_naming(error, f"{key}=", f"[{low}, {high}]")


def ranged_fields() -> list:
    """(class name, field, low, high, dotted key) for every `param(...)` field."""
    out = []
    for name, build in SECTIONS.items():
        obj = build()
        for f in fields(obj):
            if "range" in f.metadata:
                low, high = f.metadata["range"]
                key = f"{obj.section}.{f.name}" if obj.section else f.name
                out.append(pytest.param(name, f, low, high, key, id=key))
    return out


def rebuild(section: str, **changes):
    return replace(SECTIONS[section](), **changes)


def assert_one_line_naming(error: pytest.ExceptionInfo, *fragments: str) -> None:
    message = str(error.value)
    assert "\n" not in message, message
    assert "allowed" in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


# --- the default and the error type -----------------------------------------------------------


def test_default_config_is_valid_and_describes_rwanda(default_config):
    pop = default_config.population
    members = {kind: len(names) for _, kind, names in pop.layout() if names}
    counts: dict[str, int] = {}
    for _, kind, names in pop.layout():
        counts[kind] = counts.get(kind, 0) + len(names)
    assert counts == {"hospital": 10, "district": 30, "health_centre": 0}
    assert set(members) == {"hospital", "district"}
    assert len(pop.event_groups()) == 4  # one provincial event per province, Kigali with East
    assert default_config.network.design == "tpn"
    assert default_config.schedule.programme_months == 18  # Aug 2021 - Feb 2023


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)
    assert sim.ConfigError is ConfigError


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param(None, "No such file", id="missing"),
        pytest.param("learning: [0.1,\n  oops: 2\n", "while parsing", id="not-yaml"),
        pytest.param(
            "learning:\n  coaching_rate: 0.1\n  coaching_rate: 0.2\n",
            "line 3, column 3: key 'coaching_rate' is repeated",
            id="repeated-key",
        ),
        pytest.param("learning: 0.1\n", "has no attribute 'items'", id="not-a-mapping"),
        pytest.param(
            "learning:\n  coaching_rate: fast\n", "coaching_rate='fast'", id="not-a-number"
        ),
    ],
)
def test_an_unreadable_representative_set_is_a_one_line_error(tmp_path, text, fragment):
    path = tmp_path / "representative.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError) as error:
        representative(path)
    assert_one_line_naming(error, str(path), fragment)


def test_a_calibrated_key_missing_from_the_representative_set_is_named():
    with pytest.raises(ConfigError) as error:
        calibrated("learning.spillover")
    assert_one_line_naming(error, "has no learning.spillover", "learning.coaching_rate")


# --- each class of bad input named in the issue -----------------------------------------------


def bad_inputs():
    c = ScenarioConfig()
    return [
        pytest.param(
            lambda: replace(c, learning=replace(c.learning, peer_contact_rate=-1)),
            ["learning.peer_contact_rate=-1", "[0, 1]"],
            id="negative-rate",
        ),
        pytest.param(
            lambda: replace(c.learning, turnover_rate=1.5),
            ["learning.turnover_rate=1.5", "[0, 1]"],
            id="probability-above-1",
        ),
        pytest.param(
            lambda: replace(c.kickoff, high_performer_quantile=-0.1),
            ["kickoff.high_performer_quantile=-0.1", "[0, 1]"],
            id="probability-below-0",
        ),
        pytest.param(
            lambda: replace(
                c.population, provinces=[ProvinceSpec("Empty", [], "E", {"hospital": 0})]
            ),
            ["population.provinces", "at least one member"],
            id="empty-population",
        ),
        pytest.param(
            lambda: replace(c.population, provinces=[]),
            ["population.provinces", "at least one member"],
            id="no-provinces",
        ),
        pytest.param(
            lambda: replace(c, headline_topics=["accreditation", "malaria"]),
            ["headline_topics", "'malaria'", "'accreditation'", "'cbhi_coverage'"],
            id="unknown-headline-topic",
        ),
        pytest.param(
            lambda: replace(c, kickoff=replace(c.kickoff, goals_per_institution=6)),
            ["kickoff.goals_per_institution=6", "at most 5"],
            id="more-goals-than-topics",
        ),
        pytest.param(
            lambda: replace(c, network=replace(c.network, design="ring")),
            ["network.design='ring'", "'tpn'", "'none'", "'external_expert'"],
            id="unknown-design",
        ),
        pytest.param(
            lambda: ScheduleConfig(events=[EventSpec(EventKind.coaching, 19)]),
            ["schedule.events[0].month=19", "[1, 18]"],
            id="event-after-programme",
        ),
        pytest.param(
            lambda: ScheduleConfig(events=[*tpn_events(), EventSpec(EventKind.coaching, 0)]),
            [f"schedule.events[{len(tpn_events())}].month=0", "[1, 18]"],
            id="event-at-kickoff",
        ),
        pytest.param(
            lambda: replace(c.schedule, programme_months=12),  # default events reach month 16
            ["schedule.events[", "[1, 12]", "schedule.programme_months"],
            id="programme-shortened-below-events",
        ),
        pytest.param(
            lambda: replace(c.learning, drift_sd=True),
            ["learning.drift_sd=True", "a number in [0, 20]"],
            id="bool-for-number",
        ),
        pytest.param(
            lambda: replace(c.learning, drift_sd="0.5"),
            ["learning.drift_sd='0.5'", "a number in [0, 20]"],
            id="string-for-number",
        ),
        pytest.param(
            lambda: replace(c.kickoff, max_mentees=2.5),
            ["kickoff.max_mentees=2.5", "an integer in [1, 10000]"],
            id="float-for-integer",
        ),
        pytest.param(
            lambda: replace(c, replications=True),
            ["replications=True", "an integer in [1, 10000000]"],
            id="bool-for-integer",
        ),
        pytest.param(
            lambda: replace(c.learning, measurement_sd=float("nan")),
            ["learning.measurement_sd=nan", "[0, 30]"],
            id="nan",
        ),
        pytest.param(
            lambda: replace(c.costs, expert_visit=float("inf")),
            ["costs.expert_visit=inf", "[0, 10000000.0]"],
            id="infinity",
        ),
        pytest.param(
            lambda: replace(c, seed=-1),
            ["seed=-1", "an integer in [0, 9223372036854775807]"],
            id="negative-seed",
        ),
        pytest.param(
            lambda: replace(c.schedule, start="2021-13"),
            ["schedule.start='2021-13'", "'YYYY-MM'"],
            id="bad-start-month",
        ),
        pytest.param(
            lambda: replace(c.population, types=with_type(c, "hospital", topics={})),
            ["population.types.hospital.topics is empty", "at least one topic"],
            id="no-hospital-topics",
        ),
        pytest.param(
            lambda: replace(
                c.population,
                types=with_type(c, "district", topics={"Data Quality": TopicSpec()}),
            ),
            ["population.types.district.topics='Data Quality'", "snake_case"],
            id="bad-topic-name",
        ),
        pytest.param(
            lambda: replace(
                c.population,
                types=with_type(c, "hospital", topics={"accreditation": TopicSpec(baseline_sd=-1)}),
            ),
            ["population.types.hospital.topics.accreditation.baseline_sd=-1", "[0, 50]"],
            id="bad-topic-sd",
        ),
        pytest.param(
            lambda: replace(c.population, types=with_type(c, "hospital", count=-2)),
            ["population.types.hospital.count=-2", "[0, 1000000]"],
            id="negative-count",
        ),
        pytest.param(
            lambda: replace(c.population, types=with_type(c, "hospital", mentors=["clinic"])),
            ["population.types.hospital.mentors", "['clinic']", "allowed ['district'"],
            id="unknown-mentored-type",
        ),
        pytest.param(
            lambda: replace(c.population, types=with_type(c, "hospital", name="{province}")),
            ["population.types.hospital.name='{province}'", "{i}"],
            id="names-not-unique",
        ),
        pytest.param(
            lambda: replace(
                c.population, provinces=[ProvinceSpec("P", ["D", "E"], "g", {"hospital": -1})]
            ),
            ["population.provinces[P].counts.hospital=-1", ">= 0"],
            id="negative-province-count",
        ),
        pytest.param(
            lambda: replace(c.population, provinces=[ProvinceSpec("P", "Huye", "g")]),
            ["population.provinces[P].districts='Huye'", "allowed a list, e.g. [Huye]"],
            id="districts-as-a-string",
        ),
        pytest.param(  # not 'a', 'c', 'c', ... read letter by letter
            lambda: replace(c, headline_topics="accreditation"),
            ["headline_topics='accreditation' is invalid", "a list, e.g. [accreditation]"],
            id="headline-topics-as-a-string",
        ),
        pytest.param(
            lambda: replace(c.population, types=with_type(c, "hospital", mentors="district")),
            ["population.types.hospital.mentors='district' is invalid", "a list"],
            id="mentors-as-a-string",
        ),
        pytest.param(
            lambda: replace(c.calibration, fixed="learning.peer_contact_rate"),
            ["calibration.fixed='learning.peer_contact_rate' is invalid", "a list"],
            id="fixed-as-a-string",
        ),
        pytest.param(
            lambda: replace(c.population, types=with_type(c, "hospital", per="county")),
            ["population.types.hospital.per='county' is invalid", "['province', 'district']"],
            id="unknown-layout",
        ),
        pytest.param(
            lambda: ScheduleConfig(events=[EventSpec("party", 3)]),
            ["schedule.events[0].kind='party' is invalid", "'coaching'", "'exchange_visit'"],
            id="unknown-event-kind",
        ),
        pytest.param(
            lambda: ScheduleConfig(events=[EventSpec(EventKind.coaching, 3, "zoom")]),
            ["schedule.events[0].mode='zoom' is invalid", "['in_person', 'virtual']"],
            id="unknown-event-mode",
        ),
        pytest.param(
            lambda: replace(c, collect="everything"),
            ["collect='everything' is invalid", "['all', 'summary']"],
            id="unknown-collect",
        ),
        pytest.param(
            lambda: replace(c.calibration, sample="maybe"),
            ["calibration.sample='maybe' is invalid", "['point', 'posterior']"],
            id="unknown-sample",
        ),
    ]


@pytest.mark.parametrize(("build", "fragments"), bad_inputs())
def test_bad_input_is_rejected_with_one_line_naming_key_and_range(build, fragments):
    with pytest.raises(ConfigError) as error:
        build()
    assert_one_line_naming(error, *fragments)


# --- every ranged parameter, generically ------------------------------------------------------


@pytest.mark.parametrize(("section", "f", "low", "high", "key"), ranged_fields())
def test_every_param_accepts_its_bounds_and_default(section, f, low, high, key):
    is_int = isinstance(f.default, int)
    for value in (f.default, low, high):
        value = int(value) if is_int else float(value)
        built = rebuild(section, **{f.name: value})
        assert getattr(built, f.name) == value


@pytest.mark.parametrize(("section", "f", "low", "high", "key"), ranged_fields())
def test_every_param_rejects_values_outside_its_range(section, f, low, high, key):
    is_int = isinstance(f.default, int)
    for value in (low - 1, high + 1):
        value = int(value) if is_int else float(value)
        with pytest.raises(ConfigError) as error:
            rebuild(section, **{f.name: value})
        assert_one_line_naming(error, f"{key}={value!r}", f"[{low}, {high}]")


@pytest.mark.parametrize(("section", "f", "low", "high", "key"), ranged_fields())
def test_every_param_rejects_wrong_types_and_non_finite(section, f, low, high, key):
    wrong = [True, False, str(f.default), None, [f.default], math.nan, math.inf, -math.inf]
    if isinstance(f.default, int):
        wrong.append(float(f.default))  # 2.0 is not an integer count
    for value in wrong:
        with pytest.raises(ConfigError) as error:
            rebuild(section, **{f.name: value})
        assert_one_line_naming(error, f"{key}={value!r}", f"[{low}, {high}]")


def test_int_given_for_float_param_is_accepted():
    assert LearningConfig(drift_sd=2).drift_sd == 2
    assert LearningConfig(drift_sd=np.float64(2.5)).drift_sd == 2.5


def test_nested_replace_validates_like_direct_construction(default_config):
    with pytest.raises(ConfigError, match=r"^network\.n_experts=0 "):
        replace(default_config, network=replace(default_config.network, n_experts=0))
    with pytest.raises(ConfigError, match=r"^network\.n_experts=0 "):
        NetworkConfig(n_experts=0)


# --- valid cross-field combinations are accepted ----------------------------------------------


def test_goals_may_equal_the_number_of_topics(default_config):
    c = replace(default_config, kickoff=replace(default_config.kickoff, goals_per_institution=5))
    assert c.kickoff.goals_per_institution == 5


def test_event_in_last_programme_month_and_groupless_events_are_accepted():
    s = ScheduleConfig(
        programme_months=6,
        events=[
            EventSpec(EventKind.coaching, 6, Mode.virtual),
            EventSpec(EventKind.provincial_workshop, 1),  # '' = held in every group
        ],
    )
    assert len(s.events) == 2


def test_custom_topics_can_be_headline_topics(default_config):
    topics = {"malaria": TopicSpec(50.0, 10.0, 0.0), "hiv": TopicSpec(70.0, 5.0, 0.0)}
    pop = replace(
        default_config.population, types=with_type(default_config, "district", topics=topics)
    )
    c = replace(
        default_config,
        population=pop,
        headline_topics=["malaria"],
        kickoff=replace(default_config.kickoff, goals_per_institution=2),
    )
    assert c.headline_topics == ["malaria"]
    with pytest.raises(ConfigError, match=r"goals_per_institution=3 .* at most 2.*'district'"):
        replace(c, kickoff=replace(c.kickoff, goals_per_institution=3))


def test_a_population_of_districts_only_is_valid(default_config):
    provinces = [replace(p, counts={"hospital": 0}) for p in default_config.population.provinces]
    c = replace(default_config, population=replace(default_config.population, provinces=provinces))
    assert {kind for _, kind, names in c.population.layout() if names} == {"district"}


# --- bugs found while writing the suite (see the final report) --------------------------------


def test_numpy_integer_is_accepted_for_integer_params():
    assert KickoffConfig(goals_per_institution=np.int64(2)).goals_per_institution == 2


@pytest.mark.parametrize("month", [3.5, True, "3"], ids=["float", "bool", "str"])
def test_non_integer_event_month_is_a_config_error(month):
    with pytest.raises(ConfigError, match=r"schedule\.events\[0\]\.month"):
        ScheduleConfig(events=[EventSpec(EventKind.coaching, month)])


def test_duplicate_institution_names_are_a_config_error(default_config):
    provinces = [*default_config.population.provinces]
    provinces[1] = replace(provinces[1], districts=[*provinces[1].districts, "Gasabo"])
    with pytest.raises(ConfigError, match=r"population\.provinces"):
        c = replace(
            default_config,
            population=replace(default_config.population, provinces=provinces),
            replications=1,
        )
        sim.run_scenario(c)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: setattr(c.learning, "peer_contact_rate", 50), "learning.peer_contact_rate=50"),
        (lambda c: setattr(c.learning, "drift_sd", float("nan")), "learning.drift_sd=nan"),
        (lambda c: setattr(c, "replications", 0), "replications=0"),
        (
            lambda c: setattr(
                c.population.types["hospital"].topics["accreditation"], "baseline_mean", 500
            ),
            "population.types.hospital.topics.accreditation.baseline_mean=500",
        ),
    ],
)
def test_a_config_changed_after_it_was_built_is_checked_before_a_run(change, message) -> None:
    """Configurations are mutable: a run checks them again, with the same one line."""
    config = ScenarioConfig(replications=2)
    change(config)
    with pytest.raises(ConfigError, match=rf"^{re.escape(message)} is invalid: allowed"):
        sim.run_scenario(config)
