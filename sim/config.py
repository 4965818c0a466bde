"""The typed sections of a scenario's configuration, and how any parameter is declared.

Every tunable number is a dataclass field made with :func:`param`, which records its unit, allowed
range, source and meaning next to its default; every other field carries the same documentation
(:func:`doc`). docs/ODD.md's parameter tables are written from these declarations
(`python -m sim.interfaces.odd`). A calibrated parameter takes its default from the calibration's
representative set (:func:`calibrated`), the one place its value is written. A section checks
itself on construction (:class:`Validated`) so bad input fails before anything runs.

This module knows no network design: each design declares its own parameters with the same
`param` and `doc` (sim.core.designs), and sim.core.scenario joins these sections and the network
section assembled from the designs into the one ScenarioConfig that the Python API, the command line
and Hydra fill.
"""

from __future__ import annotations

import math
import numbers
import re
import string
from collections import Counter
from dataclasses import dataclass, field, fields
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, get_origin, get_type_hints

import yaml

ROOT = Path(__file__).resolve().parent.parent  # the repository: configs/, docs/, results/
REPRESENTATIVE = ROOT / "configs/calibration/representative.yaml"
CALIBRATED = "calibrated: posterior's representative set (Table 9.13)"


class ConfigError(ValueError):
    """A configuration value is outside what the model allows."""


def param(default: Any, low: float, high: float, unit: str, source: str, meaning: str) -> Any:
    """A numeric parameter with its allowed closed range [low, high], unit, source (where its
    value comes from, and why) and meaning."""
    metadata = {"range": (low, high), "unit": unit, "source": source, "meaning": meaning}
    return field(default=default, metadata=metadata)


def doc(form: str, allowed: str, source: str, meaning: str, shown: str = "") -> dict[str, str]:
    """The metadata of a field that is not a number (a name, a path, a list), documented like a
    :func:`param`. Its form (a file path, topic names) stands where a unit would: only numbers
    have units, by which sim.analysis.outcomes labels axes. `shown` is the default as docs/ODD.md
    gives it, when not the value itself."""
    return {"form": form, "allowed": allowed, "source": source, "meaning": meaning, "shown": shown}


def flattened(tree: dict) -> dict[str, Any]:
    """A Hydra tree of calibrated values by dotted key (sim.core.posterior's keys): `section.field`,
    and `topic.<name>.<field>` from under `population.types.<type>.topics`."""
    values = {}
    for section, entries in tree.items():
        for name, value in entries.items():
            if (section, name) == ("population", "types"):
                values |= {
                    f"topic.{topic}.{key}": number
                    for spec in value.values()
                    for topic, topic_fields in spec["topics"].items()
                    for key, number in topic_fields.items()
                }
            elif section != "calibration":
                values[f"{section}.{name}"] = value
    return values


class UniqueKeys(yaml.SafeLoader):
    """`yaml.safe_load`'s loader, refusing a key repeated in a mapping: PyYAML would silently
    keep its last value (OmegaConf, which reads the Hydra configs, refuses it too)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if key is not None and key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: Path) -> Any:
    """A YAML file as data (nothing in it is evaluated); a syntax error or a repeated key is a
    one-line ConfigError naming the file, line and problem."""
    try:
        with path.open(encoding="utf-8") as file:
            return yaml.load(file, Loader=UniqueKeys)
    except yaml.YAMLError as error:
        raise ConfigError(yaml_problem(error)) from None


def yaml_problem(error: yaml.YAMLError) -> str:
    """A YAML error (PyYAML's, or OmegaConf's as Hydra reads a config) as one line naming the
    file, line and column: PyYAML spreads it over four lines."""
    mark = getattr(error, "problem_mark", None)
    where = f"{mark.name}, line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
    problem = getattr(error, "problem", None) or " ".join(str(error).split())
    repeated = re.fullmatch(r"found duplicate key (.*)", problem)
    if repeated:
        return f"{where}: key {repeated[1]!r} is repeated: allowed each key once in a mapping"
    context = getattr(error, "context", None)
    return f"{where}: {problem}{f' ({context})' if context else ''}: allowed plain YAML data"


@cache
def representative(path: Path = REPRESENTATIVE) -> dict[str, float]:
    """The posterior's representative set by dotted key, read once from the file that
    experiments/calibrate.py writes (and `calibration=representative` selects): the calibrated
    parameters' defaults are written there only, so a recalibration changes them in one place."""
    try:
        values = flattened(load_yaml(path))
    except (OSError, AttributeError, KeyError, TypeError) as error:
        reason = " ".join(str(error).split())
        raise ConfigError(
            f"{path}, the calibrated parameters' defaults, is not readable ({reason}): allowed "
            "the representative set python experiments/calibrate.py writes (git restore it)"
        ) from None
    for key, value in values.items():
        if not is_number(value):
            raise ConfigError(f"{path}: {key}={value!r} is invalid: allowed a number")
    return values


def calibrated(key: str) -> float:
    """The default of calibrated parameter `key`: its value in the representative set."""
    values = representative()
    if key not in values:
        raise ConfigError(f"{REPRESENTATIVE} has no {key}: allowed a key it holds {sorted(values)}")
    return values[key]


def is_integer(value: Any) -> bool:
    """Python or numpy integers, but not bools (True is an int to Python, not to a user)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


class Validated:
    """Checks every :func:`param` field against its range when the dataclass is built, and
    stores it as a plain Python int or float (numpy scalars from sweeps are welcome).

    A spec that lives under a dictionary key (an institution type, a topic) is checked by its
    owner, which knows the key to name in an error, so it sets `nested = True`."""

    section: ClassVar[str] = ""
    nested: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if not self.nested:
            self.validate(self.section)

    def validate(self, section: str) -> None:
        check_lists(self, section)
        for f in fields(self):  # type: ignore[arg-type]
            if "range" not in f.metadata:
                continue
            value = getattr(self, f.name)
            low, high = f.metadata["range"]
            integer = isinstance(f.default, int)
            if not (is_integer(value) if integer else is_number(value)) or not low <= value <= high:
                kind = "an integer" if integer else "a number"
                key = f"{section}.{f.name}" if section else f.name
                raise ConfigError(f"{key}={value!r} is invalid: allowed {kind} in [{low}, {high}]")
            setattr(self, f.name, int(value) if integer else float(value))
        self.check(section)

    def check(self, section: str) -> None:
        """Cross-field checks; sections override this. `section` is the dotted key to name."""


@cache
def list_fields(cls: type) -> frozenset[str]:
    """The fields of a dataclass declared as lists."""
    return frozenset(name for name, kind in get_type_hints(cls).items() if get_origin(kind) is list)


def check_lists(spec: object, section: str) -> None:
    """A text where a list is declared would be read letter by letter (districts 'Huye' as
    H, u, y, e; headline topic 'a'): refused, naming the key."""
    for name in list_fields(type(spec)):
        value = getattr(spec, name)
        if isinstance(value, str):
            key = f"{section}.{name}" if section else name
            raise ConfigError(f"{key}={value!r} is invalid: allowed a list, e.g. [{value}]")


def chosen[E: StrEnum](enum: type[E], value: object, key: str) -> E:
    """`value` as a member of `enum` (YAML, CSV and Python give plain strings), or a one-line
    ConfigError naming the key and the names allowed."""
    try:
        return enum(value)
    except ValueError:
        raise ConfigError(
            f"{key}={value!r} is invalid: allowed one of {[m.value for m in enum]}"
        ) from None


def revalidate(config: Validated, section: str = "") -> None:
    """Check a configuration again, section by section: configurations are mutable, and a field
    set after construction (`config.learning.peer_contact_rate = 50`, or NaN) must stop a run
    before it starts, with the same one line as at construction."""
    for f in fields(config):  # type: ignore[arg-type]
        value = getattr(config, f.name)
        if isinstance(value, Validated) and not value.nested:  # nested: checked by its owner
            revalidate(value, value.section)
    config.validate(section)


def check_name(key: str, name: str) -> None:
    """Type and topic names become column names and Hydra keys: lower-case snake_case only."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ConfigError(f"{key}={name!r} is invalid: allowed lower-case snake_case")


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
    """A topic area (a KPI on a 0-100 scale) and its baseline distribution in one type."""

    nested: ClassVar[bool] = True
    baseline_mean: float = param(
        60.0,
        0,
        100,
        "points",
        "assumption: a mid-range KPI",
        "mean baseline capacity across members of the type",
    )
    baseline_sd: float = param(
        12.0,
        0,
        50,
        "points",
        "assumption: capacity varies across similar institutions (the article's premise)",
        "sd of baseline capacity (times `population.capacity_spread`)",
    )
    trend_per_year: float = param(
        1.0,
        -20,
        20,
        "points/year",
        "assumption: slow secular improvement without the programme",
        "secular trend of the own trajectory",
    )


class Layout(StrEnum):
    """What a type's members are counted per: a province (hospitals) or a district (DHMTs)."""

    province = "province"
    district = "district"


NAME_FIELDS = {Layout.province: {"province", "i"}, Layout.district: {"province", "district", "i"}}


@dataclass
class InstitutionType(Validated):
    """A kind of member institution: its topics (KPIs), how many there are, how they are named,
    and which other types it may mentor (its own type always)."""

    nested: ClassVar[bool] = True
    label: str = field(
        default="",
        metadata=doc(
            "text",
            "any",
            "",
            "readable name of the type (not used by the dynamics)",
        ),
    )
    per: Layout = field(
        default=Layout.province,
        metadata=doc(
            "",
            "`province` or `district`",
            "",
            "whether `count` is per province or per district",
        ),
    )
    count: int = param(
        1,
        0,
        1_000_000,
        "members per province or district",
        "assumption",
        "members of the type in each province (or district), unless a province's `counts` "
        "overrides it; 0 leaves the type out of the network",
    )
    name: str = field(
        default="{province} {i}",
        metadata=doc(
            "template",
            "fields `{province}`, `{i}` (and `{district}` when `per` is `district`); `{i}` "
            "required when `count` > 1",
            "",
            "member names; `{i}` counts from 1 within the province or district",
            shown='"{province} {i}"',
        ),
    )
    mentors: list[str] = field(
        default_factory=list,
        metadata=doc(
            "type names",
            "declared types",
            "",
            "other types its members may mentor (its own type always)",
        ),
    )
    topics: dict[str, TopicSpec] = field(
        default_factory=dict,
        metadata=doc(
            "topic names",
            "at least one; names lower-case snake_case",
            "",
            "the type's topic areas, each a `TopicSpec`",
        ),
    )

    def check(self, section: str) -> None:
        self.per = chosen(Layout, self.per, f"{section}.per")
        used = {f for _, f, _, _ in string.Formatter().parse(self.name) if f is not None}
        if not used <= NAME_FIELDS[self.per] or (self.count > 1 and "i" not in used):
            raise ConfigError(
                f"{section}.name={self.name!r} is invalid: allowed a template with "
                f"{sorted('{' + f + '}' for f in NAME_FIELDS[self.per])}, and {{i}} when "
                "count > 1"
            )
        if not self.topics:
            raise ConfigError(f"{section}.topics is empty: allowed at least one topic")
        for name, topic in self.topics.items():
            check_name(f"{section}.topics", name)
            topic.validate(f"{section}.topics.{name}")


def _topics(*specs: tuple[str, float, float, float]) -> dict[str, TopicSpec]:
    return {name: TopicSpec(mean, sd, trend) for name, mean, sd, trend in specs}


def rwanda_types() -> dict[str, InstitutionType]:
    """The member types: hospitals and district health teams (the TPN), and health centres
    (none by default; `population=rwanda_with_health_centres` adds them)."""
    hospital = _topics(
        ("accreditation", 55.0, calibrated("topic.accreditation.baseline_sd"), 1.0),
        ("infection_prevention", 65.0, 12.0, 0.5),
        ("maternal_newborn_care", 62.0, 12.0, 0.5),
        ("data_quality", 68.0, 10.0, 0.5),
        ("financial_management", 60.0, 12.0, 0.5),
    )
    district = _topics(
        ("cbhi_coverage", 78.0, calibrated("topic.cbhi_coverage.baseline_sd"), 0.5),
        ("family_planning", 58.0, 8.0, 0.5),
        ("immunisation", 88.0, 5.0, 0.0),
        ("supervision", 60.0, 12.0, 0.5),
        ("data_use", 55.0, 12.0, 0.5),
    )
    health_centre = _topics(
        ("imci_classification", 56.0, 12.0, 0.5),  # MESH baseline (Magge et al. 2015)
        ("imci_treatment", 78.3, 10.0, 0.5),  # MESH baseline (Magge et al. 2015)
        ("maternal_newborn_care", 52.0, 12.0, 0.5),
        ("infection_prevention", 55.0, 12.0, 0.5),
    )
    return {
        "hospital": InstitutionType(
            "hospital", Layout.province, 2, "{province} hospital {i}", topics=hospital
        ),
        "district": InstitutionType(
            "district health team", Layout.district, 1, "{district} district", topics=district
        ),
        "health_centre": InstitutionType(
            "health centre",
            Layout.district,
            0,
            "{district} health centre {i}",
            topics=health_centre,
        ),
    }


@dataclass
class ProvinceSpec:
    """A province: its districts, its provincial event group, and member counts that differ
    from the types' defaults (type name -> members per province or per district)."""

    name: str
    districts: list[str]
    event_group: str
    counts: dict[str, int] = field(default_factory=dict)


def rwanda_provinces() -> list[ProvinceSpec]:
    """Rwanda's 4 provinces and Kigali City with all 30 districts; Kigali joins the East's event."""
    return [
        ProvinceSpec("Kigali City", ["Gasabo", "Kicukiro", "Nyarugenge"], "East and Kigali"),
        ProvinceSpec(
            "Eastern",
            ["Bugesera", "Gatsibo", "Kayonza", "Kirehe", "Ngoma", "Nyagatare", "Rwamagana"],
            "East and Kigali",
        ),
        ProvinceSpec("Northern", ["Burera", "Gakenke", "Gicumbi", "Musanze", "Rulindo"], "North"),
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
            "South",
        ),
        ProvinceSpec(
            "Western",
            ["Karongi", "Ngororero", "Nyabihu", "Nyamasheke", "Rubavu", "Rusizi", "Rutsiro"],
            "West",
        ),
    ]


@dataclass
class PopulationConfig(Validated):
    """Who is in the network and how their baseline traits are drawn.

    Members are laid out from `provinces` and `types`, or read from the institutions file at
    `path` (sim.data.inputs), in which case the provinces come from the file."""

    section: ClassVar[str] = "population"
    path: str = field(
        default="",
        metadata=doc(
            "file path",
            "an existing institutions CSV (6.1)",
            "user data",
            "members read from a file instead of laid out and drawn (`population=from_file`)",
            shown="'' (none)",
        ),
    )
    provinces: list[ProvinceSpec] = field(
        default_factory=rwanda_provinces,
        metadata=doc(
            "",
            "distinct province and district names",
            "article (30 districts); event groups assumption",
            "provinces: name, districts, event group, `counts` overriding types' counts",
            shown="Rwanda (Table 9.10)",
        ),
    )
    types: dict[str, InstitutionType] = field(
        default_factory=rwanda_types,
        metadata=doc(
            "",
            "at least one type; names lower-case snake_case",
            "districts: article (every district took part); 2 hospitals per province: assumption; "
            "health-centre IMCI baselines: Magge et al. 2015; the rest assumption (Table 9.9)",
            "institution types and their topic areas (Table 9.2)",
            shown="`hospital`, `district`, `health_centre` (Table 9.9)",
        ),
    )
    latent_share: float = param(
        0.5,
        0,
        1,
        "share of variance",
        "assumption: half of between-member variance in a topic is a shared institutional factor, "
        "so strengths correlate moderately across topics",
        "share of a topic's capacity variance due to the member's latent capacity",
    )
    capacity_spread: float = param(
        1.0,
        0,
        5,
        "multiplier of baseline sd",
        'assumption: 1 keeps the topic sds of Table 9.9; the lever for "pre-existing capacity '
        'inside the network" (TPN mechanism 4): a wider spread means more and stronger high '
        "performers to learn from",
        "multiplies every topic's `baseline_sd`",
    )
    resource_latent_correlation: float = param(
        0.6,
        -1,
        1,
        "correlation",
        "assumption: better-resourced institutions tend to perform better, far from perfectly",
        "correlation of the resource draw with latent capacity",
    )
    leadership_mean: float = param(
        0.6,
        0.01,
        0.99,
        "0-1 index",
        "assumption: members joined a voluntary-goal programme, so engagement is above the "
        "midpoint on average",
        "mean of leadership engagement `L` (Beta)",
    )
    motivation_mean: float = param(
        0.6,
        0.01,
        0.99,
        "0-1 index",
        "assumption: as for leadership",
        "mean of baseline motivation `M0` (Beta)",
    )
    time_mean: float = param(
        0.5,
        0.01,
        0.99,
        "0-1 share",
        "assumption: dedicating time is named as a constraint (mechanism 5), so half of what is "
        "possible on average",
        "mean of dedicated time `T` (Beta)",
    )
    trait_concentration: float = param(
        8.0,
        0.5,
        1000,
        "Beta a+b",
        "assumption: sd about 0.16 around the means, so some members are weak in each ingredient "
        "without piling up at 0 or 1",
        "concentration `a + b` of the Beta draws of `L`, `M0`, `T` (and new leaders)",
    )
    interest_sd: float = param(
        1.0,
        0,
        5,
        "logit units",
        "assumption: one logit unit lets interest differ clearly between topics (about 0.36 to "
        "0.80 at ±1 sd for `L = 0.6`)",
        "spread of topic interest around `logit(L)`",
    )

    def check(self, section: str) -> None:
        if not self.types:
            raise ConfigError(f"{section}.types is empty: allowed at least one institution type")
        for name, spec in self.types.items():
            check_name(f"{section}.types", name)
            spec.validate(f"{section}.types.{name}")
            unknown = sorted(set(spec.mentors) - set(self.types))
            if unknown:
                raise ConfigError(
                    f"{section}.types.{name}.mentors names unknown type(s) {unknown}: allowed "
                    f"{sorted(self.types)}"
                )
        if not self.path:
            self.check_layout(section)

    def check_layout(self, section: str) -> None:
        """Provinces give distinct names, known types, and at least one member."""
        for p in self.provinces:
            check_lists(p, f"{section}.provinces[{p.name}]")
            for kind, count in p.counts.items():
                if kind not in self.types:
                    raise ConfigError(
                        f"{section}.provinces[{p.name}].counts.{kind} is invalid: allowed a "
                        f"type of {sorted(self.types)}"
                    )
                if not is_integer(count) or count < 0:
                    raise ConfigError(
                        f"{section}.provinces[{p.name}].counts.{kind}={count!r} is invalid: "
                        "allowed an integer >= 0"
                    )
        if not any(members for *_, members in self.layout()):
            raise ConfigError(
                f"{section}.provinces has no members: allowed at least one member of a type "
                f"with count > 0 ({sorted(self.types)})"
            )
        provinces = [p.name for p in self.provinces]
        districts = [d for p in self.provinces for d in p.districts]
        repeated = sorted(
            n for names in (provinces, districts) for n, k in Counter(names).items() if k > 1
        )
        if repeated:  # institution names are built from them and must be unique
            raise ConfigError(
                f"{section}.provinces repeats the name(s) {repeated}: allowed distinct province "
                "and district names"
            )

    def layout(self) -> list[tuple[ProvinceSpec, str, list[str]]]:
        """(province, type, member names) in member order: province by province, then type by
        type in declared order, then district by district."""
        rows = []
        for p in self.provinces:
            for kind, spec in self.types.items():
                count = p.counts.get(kind, spec.count)
                units = p.districts if spec.per is Layout.district else [""]
                names = [
                    spec.name.format(province=p.name, district=d, i=i + 1)
                    for d in units
                    for i in range(count)
                ]
                rows.append((p, kind, names))
        return rows

    def topic_names(self) -> list[str]:
        """Every topic of every type, in declared order, each once."""
        return list(dict.fromkeys(t for spec in self.types.values() for t in spec.topics))

    def event_groups(self) -> list[str]:
        return list(dict.fromkeys(p.event_group for p in self.provinces))


@dataclass
class KickoffConfig(Validated):
    """The kick-off workshop: gap finding, goal choice and partner matching."""

    section: ClassVar[str] = "kickoff"
    goals_per_institution: int = param(
        2,
        1,
        50,
        "topics",
        'assumption: members worked on "specific areas"; two keeps goals focused and leaves '
        "choosers and non-choosers in every topic",
        "goals each member chooses (at most the number of topics of each type with drawn members; "
        "a member of a file population whose type has fewer takes all its topics)",
    )
    high_performer_quantile: float = param(
        0.7,
        0,
        1,
        "quantile",
        "assumption: top 30% of the type count as high performers (3 of 10 hospitals, 9 of 30 "
        "districts, 18 of 60 health centres)",
        "threshold quantile of `Y(0)` for high-performer status, within each type",
    )
    min_gap: float = param(
        3.0,
        0,
        100,
        "points",
        "assumption: a mentor must be visibly better, beyond measurement noise (sd of a "
        "difference of two measurements about 2.8 at `measurement_sd = 2`)",
        "minimum baseline lead of a mentor over its learner",
    )
    gap_weight: float = param(
        1.0,
        0,
        100,
        "utility per 10 points",
        "assumption: 10 points of gap worth as much as one unit of choice noise",
        "weight of the gap in goal utility",
    )
    interest_weight: float = param(
        2.0,
        0,
        100,
        "utility per unit interest",
        "assumption: leadership interest weighs more than the gap in what members choose "
        "(mechanism 1)",
        "weight of topic interest in goal utility",
    )
    choice_noise: float = param(
        1.0,
        0,
        100,
        "Gumbel scale",
        "assumption: unobserved reasons for a choice are as large as 10 points of gap",
        "scale of the Gumbel noise in goal choice",
    )
    similarity_preference: float = param(
        0.7,
        0,
        1,
        "weight",
        "TPN mechanism 2 (value assumption): partners of similar resources preferred over the "
        "very best performer",
        "weight of resource similarity versus mentor level in `tpn` partner ranking",
    )
    max_mentees: int = param(
        4,
        1,
        10_000,
        "learner ties per mentor",
        "assumption: a mentor can serve a few learners besides its own work",
        "cap on a `tpn` mentor's ties (all topics); attention-sharing scale in other designs",
    )


@dataclass
class LearningConfig(Validated):
    """The learning rule along ties, motivation dynamics, drift and measurement."""

    section: ClassVar[str] = "learning"
    peer_contact_rate: float = param(
        calibrated("learning.peer_contact_rate"),
        0,
        1,
        "gap share/month",
        CALIBRATED,
        "standing monthly intensity of a peer tie",
    )
    expert_contact_rate: float = param(
        0.02,
        0,
        1,
        "gap share/month",
        "assumption: outside experts are less in touch between visits than twins",
        "standing monthly intensity of an expert tie",
    )
    exchange_visit_rate: float = param(
        calibrated("learning.exchange_visit_rate"),
        0,
        1,
        "gap share/visit",
        CALIBRATED,
        "intensity added by an exchange visit",
    )
    expert_visit_rate: float = param(
        calibrated("learning.expert_visit_rate"),
        0,
        1,
        "gap share/visit",
        CALIBRATED,
        "intensity added by an expert visit",
    )
    coaching_rate: float = param(
        calibrated("learning.coaching_rate"),
        0,
        1,
        "gap share/session",
        CALIBRATED,
        "intensity added to every standing tie by a coaching session",
    )
    network_workshop_rate: float = param(
        calibrated("learning.network_workshop_rate"),
        0,
        1,
        "gap share/workshop",
        CALIBRATED,
        "intensity of a network-workshop tie",
    )
    provincial_workshop_rate: float = param(
        0.10,
        0,
        1,
        "gap share/workshop",
        "assumption: smaller, more local events are slightly more useful than network-wide ones",
        "intensity of a provincial-workshop tie",
    )
    virtual_factor: float = param(
        0.5,
        0,
        1,
        "multiplier",
        "assumption: a virtual session is half as effective as one in person",
        "multiplier for virtual events",
    )
    motivation_weight: float = param(
        1.0,
        0,
        5,
        "exponent",
        "TPN mechanism 2 (value assumption): effort proportional to motivation",
        "exponent of motivation in effort",
    )
    leadership_weight: float = param(
        calibrated("learning.leadership_weight"),
        0,
        5,
        "exponent",
        CALIBRATED,
        "exponent of `L * I` in effort",
    )
    time_weight: float = param(
        0.5,
        0,
        5,
        "exponent",
        "TPN mechanism 5 (value assumption): dedicated time matters, with diminishing weight",
        "exponent of time in effort",
    )
    fit_penalty: float = param(
        calibrated("learning.fit_penalty"),
        0,
        20,
        "per unit resource gap",
        CALIBRATED,
        "decay of context fit with resource difference",
    )
    ceiling_exponent: float = param(
        calibrated("learning.ceiling_exponent"),
        0,
        5,
        "exponent",
        CALIBRATED,
        "exponent of the headroom factor",
    )
    mentor_share: float = param(
        0.1,
        0,
        1,
        "share of learner gain",
        "assumption: mentors learn a little by teaching",
        "mentor's gain as a share of its mentees' gains",
    )
    spillover: float = param(
        0.1,
        0,
        1,
        "share of goal gain",
        "assumption: management practice learned in one area helps a little in others",
        "share of mean goal gain added to non-goal topics",
    )
    forgetting_rate: float = param(
        0.01,
        0,
        1,
        "share/month",
        "assumption: learned capacity erodes slowly (half-life about 69 months; about 11% a year)",
        "monthly decay of the learned stock",
    )
    persistence: float = param(
        0.3,
        0,
        1,
        "share of contact",
        "assumption: some informal contact between twins outlasts the programme",
        "share of standing peer contact kept after the programme",
    )
    interest_trend: float = param(
        calibrated("learning.interest_trend"),
        0,
        50,
        "points/year per unit interest",
        CALIBRATED,
        "interest-driven own trend (the self-selection channel)",
    )
    drift_sd: float = param(
        0.5,
        0,
        20,
        "points/month",
        "assumption: random-walk drift of about 2 points sd over 18 months",
        "sd of monthly drift of the own trajectory",
    )
    measurement_sd: float = param(
        calibrated("learning.measurement_sd"),
        0,
        30,
        "points",
        CALIBRATED,
        "sd of measurement error of observed KPIs",
    )
    progress_motivation: float = param(
        calibrated("learning.progress_motivation"),
        0,
        1,
        "share of headroom",
        CALIBRATED,
        "motivation lift from progress in goal topics",
    )
    peer_motivation: float = param(
        0.1,
        0,
        1,
        "share of headroom",
        "TPN mechanism 2 (value assumption): contact with similar peers motivates",
        "motivation lift per unit of fit-weighted contact with better peers (capped at 1)",
    )
    coaching_motivation: float = param(
        0.1,
        0,
        1,
        "share of headroom",
        "assumption: coaching encourages, as much as a unit of peer contact",
        "motivation lift per in-person coaching session",
    )
    motivation_decay: float = param(
        0.05,
        0,
        1,
        "share/month",
        "assumption: extra motivation fades with a half-life of about 13.5 months",
        "monthly relaxation of motivation to its baseline",
    )
    turnover_rate: float = param(
        0.01,
        0,
        1,
        "probability/month",
        "assumption: about an 11% chance a year that a member's leadership changes",
        "monthly probability of leadership turnover",
    )
    turnover_motivation_loss: float = param(
        0.3,
        0,
        1,
        "share",
        "assumption: a change of leader disrupts ongoing work",
        "share of motivation lost at turnover",
    )
    # Mechanisms beyond teaching (docs/ODD.md 7.17); 0 switches one off for ablation
    goal_work_rate: float = param(
        calibrated("learning.goal_work_rate"),
        0,
        1,
        "share of gap to feasible level/month",
        CALIBRATED,
        "members' own monthly work on their goals, 7.17",
    )
    goal_support: float = param(
        calibrated("learning.goal_support"),
        0,
        50,
        "multiplier per unit tie intensity x fit",
        CALIBRATED,
        "how much this month's ties add to goal work, 7.17",
    )
    feasible_sd: float = param(
        calibrated("learning.feasible_sd"),
        0,
        10,
        "baseline sds above the resource-predicted level",
        f"{CALIBRATED}; what similar members show is possible (positive deviance, TPN "
        "mechanisms 2 and 5)",
        "`F_ik = mu_k + sd_k * (Phi^-1(R_i) + feasible_sd)`, 7.17",
    )
    reciprocity: float = param(
        calibrated("learning.reciprocity"),
        0,
        1,
        "share of the pair's contact",
        CALIBRATED,
        "mentors learn back from learners, 7.17",
    )
    turnover_knowledge_loss: float = param(
        calibrated("learning.turnover_knowledge_loss"),
        0,
        1,
        "share of learned capacity",
        CALIBRATED,
        "share of the learned stock `S_i.` lost at turnover, 7.17",
    )
    turnover_tie_loss: float = param(
        calibrated("learning.turnover_tie_loss"),
        0,
        1,
        "share of tie strength",
        CALIBRATED,
        "share of a tie's strength lost when either partner's leader leaves, 7.17",
    )


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
    start: str = field(
        default="2021-08",
        metadata=doc(
            "YYYY-MM",
            "a month from 1900-01",
            "article: Aug 2021 - Feb 2023",
            "calendar month of month 0",
        ),
    )
    programme_months: int = param(
        18,
        1,
        600,
        "months",
        "article: Aug 2021 - Feb 2023",
        "length of the programme; the estimator's end month",
    )
    followup_months: int = param(
        12,
        0,
        600,
        "months",
        "issue: sustainability at +12 (a project choice, not from the article)",
        "months simulated after the programme",
    )
    exchange_visit_every: int = param(
        3,
        0,
        600,
        "months (0 = never)",
        "assumption: the article gives no count; a quarterly round of visits between twins",
        "interval between exchange-visit rounds",
    )
    events: list[EventSpec] = field(
        default_factory=tpn_events,
        metadata=doc(
            "",
            "months in [1, `programme_months`]",
            "article counts; months assumption",
            "scheduled coaching and workshops",
            shown="Table 1 placed in months (7.13, Table 9.11)",
        ),
    )
    path: str = field(
        default="",
        metadata=doc(
            "file path",
            "an existing calendar CSV or YAML (6.3)",
            "user data",
            "a calendar file whose events replace `schedule.events` (`schedule=from_file`, which "
            "also sets `exchange_visit_every: 0`)",
            shown="'' (none)",
        ),
    )

    def check(self, section: str) -> None:
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", self.start) or self.start < "1900":
            raise ConfigError(
                f"schedule.start={self.start!r} is invalid: allowed 'YYYY-MM' from 1900-01"
            )
        for i, e in enumerate(self.events):
            check_event(e, f"schedule.events[{i}]", self.programme_months)


def check_event(event: EventSpec, key: str, programme_months: int) -> None:
    """Kind and mode are known (YAML and CSV give plain strings) and the month is in the
    programme."""
    event.kind = chosen(EventKind, event.kind, f"{key}.kind")
    event.mode = chosen(Mode, event.mode, f"{key}.mode")
    if not is_integer(event.month) or not 1 <= event.month <= programme_months:
        raise ConfigError(
            f"{key}.month={event.month!r} is invalid: allowed an integer in "
            f"[1, {programme_months}] (schedule.programme_months)"
        )


@dataclass
class CostConfig(Validated):
    """Unit costs of programme activities, and an optional total budget, in US dollars.

    With a budget, the visits of every design are scaled to spend it (sim.core.budget)."""

    section: ClassVar[str] = "costs"
    codesign_workshop: float = param(
        3000.0,
        0,
        1e7,
        "USD/workshop",
        "assumption: placeholder",
        "cost of one co-design workshop",
    )
    kickoff_participant: float = param(
        200.0,
        0,
        1e7,
        "USD/institution",
        "assumption: placeholder",
        "kick-off cost per member",
    )
    exchange_visit: float = param(
        400.0,
        0,
        1e7,
        "USD/visit",
        "assumption: placeholder, travel within Rwanda",
        "cost of one exchange visit",
    )
    coaching_in_person: float = param(
        250.0,
        0,
        1e7,
        "USD/session",
        "assumption: placeholder",
        "in-person coaching, per member per session",
    )
    coaching_virtual: float = param(
        40.0,
        0,
        1e7,
        "USD/session",
        "assumption: placeholder, far below in person",
        "virtual coaching, per member per session",
    )
    workshop_in_person: float = param(
        150.0,
        0,
        1e7,
        "USD/participant",
        "assumption: placeholder",
        "in-person workshop, per participant",
    )
    workshop_virtual: float = param(
        30.0,
        0,
        1e7,
        "USD/participant",
        "assumption: placeholder",
        "virtual workshop, per participant",
    )
    expert_visit: float = param(
        1500.0,
        0,
        1e7,
        "USD/visit",
        "assumption: placeholder, outside experts cost more than peers",
        "cost of one expert visit",
    )
    expert_followup: float = param(
        300.0,
        0,
        1e7,
        "USD/expert/month",
        "assumption: about a day of an expert's remote time a month",
        "retainer for remote follow-up, when `network.expert_followup` (a fixed cost, 7.14)",
    )
    budget: float = param(
        0.0,
        0,
        1e10,
        "USD (0 = no cap)",
        "user choice: 0 keeps the schedule as planned; the `designs`, `design_ranking` and "
        "`expert_strength` studies use 220,000, about the TPN's own cost as planned (USD 221,192, "
        "mean of 100 replications)",
        "total programme budget; the visits are sized to spend it (7.4)",
    )


class Collect(StrEnum):
    """What a run keeps: every table, or one summary row per replication (very large runs and
    sweeps, which need no panel)."""

    all = "all"
    summary = "summary"


class Sample(StrEnum):
    point = "point"
    posterior = "posterior"


@dataclass
class CalibrationConfig(Validated):
    """Where the calibrated parameters come from: a set drawn from the posterior for each
    replication (the default), so that intervals include parameter uncertainty, or the values
    configured (`point`: the posterior's representative set unless set otherwise);
    docs/calibration.md."""

    section: ClassVar[str] = "calibration"
    sample: Sample = field(
        default=Sample.posterior,
        metadata=doc(
            "",
            "`point` or `posterior`",
            "7.18",
            "`posterior`: each replication draws a set from the posterior by its seed; `point`: "
            "the configured values (by default the posterior's representative set)",
        ),
    )
    posterior: str = field(
        default="",
        metadata=doc(
            "file path",
            "a CSV of parameter sets with a `weight` column",
            "7.18",
            "the posterior to draw from",
            shown="'' (the shipped `configs/calibration/posterior.csv`)",
        ),
    )
    fixed: list[str] = field(
        default_factory=list,
        metadata=doc(
            "dotted keys",
            "calibrated keys",
            "7.18",
            "calibrated parameters kept at their configured value when drawing (keys set on the "
            "command line or in an option file are added)",
        ),
    )

    def check(self, section: str) -> None:
        self.sample = chosen(Sample, self.sample, f"{section}.sample")
