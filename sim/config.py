"""One typed configuration object for a scenario.

Every tunable number is a dataclass field made with :func:`param`, which records its unit, allowed
range and source next to its default. The same object is filled by the Python API, the command line
and (later) Hydra, and it checks itself on construction so bad input fails before anything runs.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, ClassVar


class ConfigError(ValueError):
    """A configuration value is outside what the model allows."""


def param(default: Any, low: float, high: float, unit: str, source: str) -> Any:
    """A numeric parameter with its allowed closed range [low, high], unit and source."""
    return field(default=default, metadata={"range": (low, high), "unit": unit, "source": source})


def is_integer(value: Any) -> bool:
    """Python or numpy integers, but not bools (True is an int to Python, not to a user)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


class Validated:
    """Checks every :func:`param` field against its range when the dataclass is built, and
    stores it as a plain Python int or float (numpy scalars from sweeps are welcome)."""

    section: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            if "range" not in f.metadata:
                continue
            value = getattr(self, f.name)
            low, high = f.metadata["range"]
            integer = isinstance(f.default, int)
            if not (is_integer(value) if integer else is_number(value)) or not low <= value <= high:
                kind = "an integer" if integer else "a number"
                key = f"{self.section}.{f.name}" if self.section else f.name
                raise ConfigError(f"{key}={value!r} is invalid: allowed {kind} in [{low}, {high}]")
            setattr(self, f.name, int(value) if integer else float(value))
        self.check()

    def check(self) -> None:
        """Cross-field checks; sections override this."""


class EventKind(StrEnum):
    """Programme activities of the article's Table 1 that the schedule can hold."""

    coaching = "coaching"
    network_workshop = "network_workshop"
    provincial_workshop = "provincial_workshop"
    exchange_visit = "exchange_visit"


class Mode(StrEnum):
    in_person = "in_person"
    virtual = "virtual"


@dataclass
class TopicSpec(Validated):
    """A topic area (a KPI on a 0-100 scale) and its baseline distribution across institutions."""

    section: ClassVar[str] = "population.topics"
    name: str = "accreditation"
    baseline_mean: float = param(60.0, 0, 100, "points", "assumption")
    baseline_sd: float = param(12.0, 0, 50, "points", "assumption")
    trend_per_year: float = param(1.0, -20, 20, "points/year", "assumption")

    def check(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name):
            raise ConfigError(
                f"{self.section}.name={self.name!r} is invalid: allowed lower-case snake_case"
            )


@dataclass
class ProvinceSpec:
    """A province: its districts, its number of member hospitals, its provincial event group."""

    name: str
    districts: list[str]
    hospitals: int
    event_group: str


def _topic(name: str, mean: float, sd: float, trend: float) -> TopicSpec:
    return TopicSpec(name=name, baseline_mean=mean, baseline_sd=sd, trend_per_year=trend)


def rwanda_provinces() -> list[ProvinceSpec]:
    """Rwanda's 4 provinces and Kigali City with all 30 districts; Kigali joins the East's event."""
    return [
        ProvinceSpec("Kigali City", ["Gasabo", "Kicukiro", "Nyarugenge"], 2, "East and Kigali"),
        ProvinceSpec(
            "Eastern",
            ["Bugesera", "Gatsibo", "Kayonza", "Kirehe", "Ngoma", "Nyagatare", "Rwamagana"],
            2,
            "East and Kigali",
        ),
        ProvinceSpec(
            "Northern", ["Burera", "Gakenke", "Gicumbi", "Musanze", "Rulindo"], 2, "North"
        ),
        ProvinceSpec(
            "Southern",
            [
                "Gisagara",
                "Huye",
                "Kamonyi",
                "Muhanga",
                "Nyamagabe",
                "Nyanza",
                "Nyaruguru",
                "Ruhango",
            ],
            2,
            "South",
        ),
        ProvinceSpec(
            "Western",
            ["Karongi", "Ngororero", "Nyabihu", "Nyamasheke", "Rubavu", "Rusizi", "Rutsiro"],
            2,
            "West",
        ),
    ]


def hospital_topics() -> list[TopicSpec]:
    return [
        _topic("accreditation", 55.0, 8.274, 1.0),  # sd calibrated
        _topic("infection_prevention", 65.0, 12.0, 0.5),
        _topic("maternal_newborn_care", 62.0, 12.0, 0.5),
        _topic("data_quality", 68.0, 10.0, 0.5),
        _topic("financial_management", 60.0, 12.0, 0.5),
    ]


def district_topics() -> list[TopicSpec]:
    return [
        _topic("cbhi_coverage", 78.0, 6.1847, 0.5),  # sd calibrated
        _topic("family_planning", 58.0, 8.0, 0.5),
        _topic("immunisation", 88.0, 5.0, 0.0),
        _topic("supervision", 60.0, 12.0, 0.5),
        _topic("data_use", 55.0, 12.0, 0.5),
    ]


@dataclass
class PopulationConfig(Validated):
    """Who is in the network and how their baseline traits are drawn."""

    section: ClassVar[str] = "population"
    provinces: list[ProvinceSpec] = field(default_factory=rwanda_provinces)
    hospital_topics: list[TopicSpec] = field(default_factory=hospital_topics)
    district_topics: list[TopicSpec] = field(default_factory=district_topics)
    latent_share: float = param(0.5, 0, 1, "share of variance", "assumption")
    capacity_spread: float = param(1.0, 0, 5, "multiplier of baseline sd", "assumption")
    resource_latent_correlation: float = param(0.6, -1, 1, "correlation", "assumption")
    leadership_mean: float = param(0.6, 0.01, 0.99, "0-1 index", "assumption")
    motivation_mean: float = param(0.6, 0.01, 0.99, "0-1 index", "assumption")
    time_mean: float = param(0.5, 0.01, 0.99, "0-1 share", "assumption")
    trait_concentration: float = param(8.0, 0.5, 1000, "Beta a+b", "assumption")
    interest_sd: float = param(1.0, 0, 5, "logit units", "assumption")

    def check(self) -> None:
        if sum(len(p.districts) + p.hospitals for p in self.provinces) == 0:
            raise ConfigError(
                "population.provinces has no members: allowed at least one hospital or district"
            )
        provinces = [p.name for p in self.provinces]
        districts = [d for p in self.provinces for d in p.districts]
        repeated = sorted(
            {n for names in (provinces, districts) for n in names if names.count(n) > 1}
        )
        if repeated:  # institution names are built from them and must be unique
            raise ConfigError(
                f"population.provinces repeats the name(s) {repeated}: allowed distinct province "
                "and district names"
            )
        for p in self.provinces:
            if not is_integer(p.hospitals) or p.hospitals < 0:
                raise ConfigError(
                    f"population.provinces[{p.name}].hospitals={p.hospitals} is invalid: "
                    "allowed an integer >= 0"
                )
        for label, topics in (
            ("hospital", self.hospital_topics),
            ("district", self.district_topics),
        ):
            names = [t.name for t in topics]
            if not names or len(set(names)) != len(names):
                raise ConfigError(
                    f"population.{label}_topics={names} is invalid: allowed a non-empty list of "
                    "distinct topic names"
                )
        shared = {t.name for t in self.hospital_topics} & {t.name for t in self.district_topics}
        if shared:
            raise ConfigError(
                f"population topics {sorted(shared)} are listed for both hospitals and districts: "
                "allowed each topic for one type only"
            )

    def topics(self, kind: str) -> list[TopicSpec]:
        return self.hospital_topics if kind == "hospital" else self.district_topics

    def event_groups(self) -> list[str]:
        return list(dict.fromkeys(p.event_group for p in self.provinces))


@dataclass
class KickoffConfig(Validated):
    """The kick-off workshop: gap finding, goal choice and partner matching."""

    section: ClassVar[str] = "kickoff"
    goals_per_institution: int = param(2, 1, 50, "topics", "assumption")
    high_performer_quantile: float = param(0.7, 0, 1, "quantile", "assumption")
    min_gap: float = param(3.0, 0, 100, "points", "assumption")
    gap_weight: float = param(1.0, 0, 100, "utility per 10 points", "assumption")
    interest_weight: float = param(2.0, 0, 100, "utility per unit interest", "assumption")
    choice_noise: float = param(1.0, 0, 100, "Gumbel scale", "assumption")
    similarity_preference: float = param(0.7, 0, 1, "weight", "TPN mechanism 2")
    max_mentees: int = param(4, 1, 10_000, "learner ties per mentor", "assumption")


@dataclass
class NetworkConfig(Validated):
    """Which network design wires learners to teachers, and the outside experts' traits."""

    section: ClassVar[str] = "network"
    design: str = "tpn"
    n_experts: int = param(4, 1, 10_000, "experts", "assumption")
    expert_level: float = param(90.0, 0, 100, "points", "assumption")
    expert_fit: float = param(0.8478, 0, 1, "context fit", "calibrated: docs/calibration.md")
    expert_visits_per_month: int = param(4, 0, 1_000, "visits/expert/month", "assumption")

    def check(self) -> None:
        from sim.designs import DESIGNS  # late import: designs import this module

        if self.design not in DESIGNS:
            raise ConfigError(
                f"network.design={self.design!r} is invalid: allowed one of {sorted(DESIGNS)}"
            )


@dataclass
class LearningConfig(Validated):
    """The learning rule along ties, motivation dynamics, drift and measurement."""

    section: ClassVar[str] = "learning"
    peer_contact_rate: float = param(
        0.1983, 0, 1, "gap share/month", "calibrated: docs/calibration.md"
    )
    expert_contact_rate: float = param(0.02, 0, 1, "gap share/month", "assumption")
    exchange_visit_rate: float = param(
        0.158, 0, 1, "gap share/visit", "calibrated: docs/calibration.md"
    )
    expert_visit_rate: float = param(
        0.9516, 0, 1, "gap share/visit", "calibrated: docs/calibration.md"
    )
    coaching_rate: float = param(
        0.0058, 0, 1, "gap share/session", "calibrated: docs/calibration.md"
    )
    network_workshop_rate: float = param(
        0.2625, 0, 1, "gap share/workshop", "calibrated: docs/calibration.md"
    )
    provincial_workshop_rate: float = param(0.10, 0, 1, "gap share/workshop", "assumption")
    virtual_factor: float = param(0.5, 0, 1, "multiplier", "assumption")
    motivation_weight: float = param(1.0, 0, 5, "exponent", "TPN mechanism 2")
    leadership_weight: float = param(1.304, 0, 5, "exponent", "calibrated: docs/calibration.md")
    time_weight: float = param(0.5, 0, 5, "exponent", "TPN mechanism 5")
    fit_penalty: float = param(
        0.458, 0, 20, "per unit resource gap", "calibrated: docs/calibration.md"
    )
    ceiling_exponent: float = param(0.1015, 0, 5, "exponent", "calibrated: docs/calibration.md")
    mentor_share: float = param(0.1, 0, 1, "share of learner gain", "assumption")
    spillover: float = param(0.1, 0, 1, "share of goal gain", "assumption")
    forgetting_rate: float = param(0.01, 0, 1, "share/month", "assumption")
    persistence: float = param(0.3, 0, 1, "share of contact", "assumption")
    interest_trend: float = param(
        5.9545, 0, 50, "points/year per unit interest", "calibrated: docs/calibration.md"
    )
    drift_sd: float = param(0.5, 0, 20, "points/month", "assumption")
    measurement_sd: float = param(3.9437, 0, 30, "points", "calibrated: docs/calibration.md")
    progress_motivation: float = param(
        0.4846, 0, 1, "share of headroom", "calibrated: docs/calibration.md"
    )
    peer_motivation: float = param(0.1, 0, 1, "share of headroom", "TPN mechanism 2")
    coaching_motivation: float = param(0.1, 0, 1, "share of headroom", "assumption")
    motivation_decay: float = param(0.05, 0, 1, "share/month", "assumption")
    turnover_rate: float = param(0.01, 0, 1, "probability/month", "assumption")
    turnover_motivation_loss: float = param(0.3, 0, 1, "share", "assumption")


@dataclass
class EventSpec:
    """One scheduled programme activity; `group` names a provincial event group, '' for all."""

    kind: EventKind
    month: int
    mode: Mode = Mode.in_person
    group: str = ""


def tpn_events() -> list[EventSpec]:
    """Table 1 of the article, placed in months by assumption (the article gives counts only)."""
    ws, pw, co = EventKind.network_workshop, EventKind.provincial_workshop, EventKind.coaching
    return [
        EventSpec(co, 3, Mode.virtual),
        EventSpec(co, 8),
        EventSpec(co, 14),
        *(EventSpec(ws, m, Mode.virtual) for m in (4, 8, 12, 16)),
        EventSpec(pw, 6, group="East and Kigali"),
        EventSpec(pw, 9, group="North"),
        EventSpec(pw, 12, group="South"),
        EventSpec(pw, 15, group="West"),
    ]


@dataclass
class ScheduleConfig(Validated):
    """Calendar of the programme; events are data so users can move, add or drop them."""

    section: ClassVar[str] = "schedule"
    start: str = "2021-08"
    programme_months: int = param(18, 1, 600, "months", "article: Aug 2021 - Feb 2023")
    followup_months: int = param(12, 0, 600, "months", "issue: sustainability at +12")
    exchange_visit_every: int = param(3, 0, 600, "months (0 = never)", "assumption")
    events: list[EventSpec] = field(default_factory=tpn_events)

    def check(self) -> None:
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", self.start):
            raise ConfigError(f"schedule.start={self.start!r} is invalid: allowed 'YYYY-MM'")
        for i, e in enumerate(self.events):
            for name, enum in (("kind", EventKind), ("mode", Mode)):
                try:  # YAML and Hydra give plain strings
                    setattr(e, name, enum(getattr(e, name)))
                except ValueError:
                    raise ConfigError(
                        f"schedule.events[{i}].{name}={getattr(e, name)!r} is invalid: allowed one "
                        f"of {[m.value for m in enum]}"
                    ) from None
            if not is_integer(e.month) or not 1 <= e.month <= self.programme_months:
                raise ConfigError(
                    f"schedule.events[{i}].month={e.month!r} is invalid: allowed an integer in "
                    f"[1, {self.programme_months}] (schedule.programme_months)"
                )


@dataclass
class CostConfig(Validated):
    """Unit costs of programme activities, and an optional total budget, in US dollars.

    With a budget, the visits of every design are scaled to spend it (sim.budget)."""

    section: ClassVar[str] = "costs"
    codesign_workshop: float = param(3000.0, 0, 1e7, "USD/workshop", "assumption")
    kickoff_participant: float = param(200.0, 0, 1e7, "USD/institution", "assumption")
    exchange_visit: float = param(400.0, 0, 1e7, "USD/visit", "assumption")
    coaching_in_person: float = param(250.0, 0, 1e7, "USD/session", "assumption")
    coaching_virtual: float = param(40.0, 0, 1e7, "USD/session", "assumption")
    workshop_in_person: float = param(150.0, 0, 1e7, "USD/participant", "assumption")
    workshop_virtual: float = param(30.0, 0, 1e7, "USD/participant", "assumption")
    expert_visit: float = param(1500.0, 0, 1e7, "USD/visit", "assumption")
    budget: float = param(0.0, 0, 1e10, "USD (0 = no cap)", "user choice")


@dataclass
class ScenarioConfig(Validated):
    """A whole scenario: population, kick-off, design, learning, schedule, costs, replications."""

    population: PopulationConfig = field(default_factory=PopulationConfig)
    kickoff: KickoffConfig = field(default_factory=KickoffConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    learning: LearningConfig = field(default_factory=LearningConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    costs: CostConfig = field(default_factory=CostConfig)
    headline_topics: list[str] = field(default_factory=lambda: ["accreditation", "cbhi_coverage"])
    seed: int = param(20210801, 0, 2**63 - 1, "integer", "any; fixes every random draw")
    replications: int = param(100, 1, 10_000_000, "runs", "assumption: enough for 95% intervals")

    def check(self) -> None:
        pop = self.population
        for kind in ("hospital", "district"):
            n_topics = len(pop.topics(kind))
            if self.kickoff.goals_per_institution > n_topics:
                raise ConfigError(
                    f"kickoff.goals_per_institution={self.kickoff.goals_per_institution} is "
                    f"invalid: allowed at most {n_topics}, the number of {kind} topics"
                )
        known = {t.name for t in pop.hospital_topics + pop.district_topics}
        for topic in self.headline_topics:
            if topic not in known:
                raise ConfigError(
                    f"headline_topics contains {topic!r}, not a topic of any type: allowed "
                    f"{sorted(known)}"
                )
        groups = pop.event_groups()
        for i, e in enumerate(self.schedule.events):
            if e.group and e.group not in groups:
                raise ConfigError(
                    f"schedule.events[{i}].group={e.group!r} is invalid: allowed '' or one of "
                    f"{groups}"
                )
