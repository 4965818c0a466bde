"""Users' own data: institutions, twinning pairs and the programme calendar, read from files.

Files are read as text and validated as data frames with pandera; nothing in them is evaluated,
unpickled or imported (CSV through pandas, YAML through `sim.config.load_yaml`, a safe loader that
also refuses a repeated key). Any problem stops the run before it starts with one line naming the
file, the line, the column, the value and what is allowed. Each file is read and validated once
per process and content (a cache keyed by path, size and modification time), however many
replications use it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrors

from sim.config import ConfigError, EventKind, EventSpec, Mode, PopulationConfig, load_yaml

log = logging.getLogger(__name__)

BOOLEAN = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False, "": False}
_cache: dict[tuple, object] = {}


class InputError(ConfigError):
    """A user's file is unreadable or breaks a rule; the message is one line."""


# --- reading --------------------------------------------------------------------------------


def clear_cache() -> None:
    """Forget every file read so far (benchmarks time a cold read)."""
    _cache.clear()


def cached(setting: str, path: str, key: tuple, read: Callable[[], object]) -> object:
    """`read()` once per file content and `key` (what the validation depends on); `setting`
    names the configuration key that gave the path."""
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{setting}={path!r} is invalid: no such file; allowed an existing file")
    stat = file.stat()
    full = (str(file.resolve()), stat.st_size, stat.st_mtime_ns, *key)
    if full not in _cache:
        _cache[full] = read()
    return _cache[full]


def read_text_table(path: str) -> pd.DataFrame:
    """A CSV file (or a YAML list of mappings) as a frame of stripped strings; '' is empty."""
    file = Path(path)
    try:
        if file.suffix.lower() in (".yaml", ".yml"):
            frame = yaml_frame(path, load_yaml(file))  # a YAML problem: one line, by line
        else:
            frame = pd.read_csv(
                file, dtype=str, keep_default_na=False, encoding="utf-8", skip_blank_lines=False
            )
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty: allowed a header line and rows") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as error:
        reason = str(error).strip().splitlines()[0]
        raise InputError(f"{path}: not a readable CSV/YAML file ({reason})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.apply(lambda column: column.str.strip())
    frame = frame[(frame != "").any(axis=1)]  # blank lines: skipped, but still counted
    if frame.empty:
        raise InputError(f"{path}: the file has a header but no rows: allowed at least one row")
    return frame


def yaml_frame(path: str, data: object) -> pd.DataFrame:
    """A calendar in YAML: a list of mappings, or a mapping with such a list under `events`."""
    if isinstance(data, dict):
        data = data.get("events")
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise InputError(f"{path}: not a list of events: allowed a YAML list of mappings")
    frame = pd.DataFrame(data)
    return frame.astype(object).where(frame.notna(), "").astype(str)


def validate(frame: pd.DataFrame, schema: pa.DataFrameSchema, path: str) -> pd.DataFrame:
    """The frame with typed columns, or InputError naming the first problem by file line."""
    header = header_problem(frame, schema)
    if header:
        raise InputError(f"{path}, line 1 (header): {header}")
    try:
        return schema.validate(frame, lazy=True)
    except SchemaErrors as errors:
        raise InputError(first_failure(errors.failure_cases, schema, path)) from None
    except SchemaError as error:
        raise InputError(f"{path}: {error}".splitlines()[0]) from None


def header_problem(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> str:
    """A missing, unknown or repeated column, said with the columns that are allowed."""
    allowed = list(schema.columns)
    required = [c for c, col in schema.columns.items() if col.required]
    seen = list(frame.columns)  # pandas reads a repeated column 'x' as 'x.1'
    repeated = sorted({c.rpartition(".")[0] for c in seen if c.rpartition(".")[2].isdigit()})
    missing = [c for c in required if c not in seen]
    unknown = [c for c in seen if c not in allowed]
    if repeated:
        return f"column {repeated[0]!r} appears twice: allowed each column once"
    if missing:
        return f"missing column {missing[0]!r}: required {required}"
    if unknown:
        return f"unknown column {unknown[0]!r}: allowed {allowed}"
    return ""


def first_failure(cases: pd.DataFrame, schema: pa.DataFrameSchema, path: str) -> str:
    """The earliest failing line as 'file, line L, column C: value V is invalid: allowed A'."""
    if cases["index"].isna().all():  # not about a line: a check that could not run
        return f"{path}: {cases['check'].iloc[0]}: {cases['failure_case'].iloc[0]}"[:300]
    cases = cases.dropna(subset=["index"]).copy()
    cases["line"] = cases["index"].astype(int) + 2  # 1-based, after the header line
    cases["frame_check"] = cases["schema_context"] == "DataFrameSchema"
    checks = {c.error: c for c in schema.checks}
    # a row-wise check names every column of the row: keep the one the check is about
    keep = ~cases["frame_check"] | np.array(
        [
            getattr(checks.get(check), "name", None) == column
            for check, column in zip(cases["check"], cases["column"], strict=True)
        ]
    )
    cases = cases[keep] if keep.any() else cases
    case = cases.sort_values(["line", "frame_check"]).iloc[0]
    column = case["column"]
    own = {c.error for c in schema.columns[column].checks}
    named = case["frame_check"] or case["check"] in own
    allowed = case["check"] if named else allowed_text(schema.columns[column])
    if case["check"] == "field_uniqueness":
        lines = cases.loc[cases["failure_case"] == case["failure_case"], "line"].tolist()
        allowed += f" (lines {', '.join(map(str, sorted(set(lines))))} repeat it)"
    value = case["failure_case"]
    value = value.item() if isinstance(value, np.generic) else value  # 1.7, not np.float64(1.7)
    where = f"{path}, line {case['line']}, column {column!r}"
    return f"{where}: value {value!r} is invalid: allowed {allowed}"


def allowed_text(column: pa.Column) -> str:
    """What a column accepts when a value fails its type or uniqueness rather than a check:
    the wording of its last check (each carries it as `error`), or that values are unique."""
    if column.unique:
        return "a value no other line repeats"
    return column.checks[-1].error if column.checks else "a value"


def text(
    *checks: pa.Check, column_required: bool = True, empty: bool = False, unique: bool = False
) -> pa.Column:
    """A column of strings; `empty` allows '' (which then means a default or none)."""
    non_empty = [] if empty else [pa.Check(lambda s: s.str.len() > 0, error="a non-empty value")]
    return pa.Column(str, [*non_empty, *checks], required=column_required, unique=unique)


def number(low: float, high: float) -> pa.Column:
    """An optional numeric column; an empty cell means 'not given'."""
    return pa.Column(
        float,
        pa.Check.in_range(low, high, error=f"a number in [{low:g}, {high:g}]"),
        coerce=True,
        nullable=True,
        required=False,
    )


def one_of(values: list[str]) -> pa.Check:
    return pa.Check.isin(values, error=f"one of {values}")


def row_check(column: str, allowed: str, test: Callable[[pd.DataFrame], pd.Series]) -> pa.Check:
    """A rule across columns of one row, reported against `column`."""
    return pa.Check(
        lambda f: pd.Series(test(f), index=f.index, dtype=bool), name=column, error=allowed
    )


def blanks_to_nan(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    present = [c for c in columns if c in frame]
    return frame.assign(**{c: frame[c].replace("", np.nan) for c in present})


# --- institutions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Institutions:
    """Validated members, sorted by id (so results never depend on the order of lines)."""

    frame: pd.DataFrame
    groups: list[str]

    def given(self, prefix: str, topics: list[str] | None, drawn: np.ndarray) -> np.ndarray:
        """`drawn` with the file's values where it gives them: the column `prefix` for a trait,
        or `prefix.<topic>` per topic."""
        columns = [prefix] if topics is None else [f"{prefix}.{t}" for t in topics]
        values = self.frame.reindex(columns=columns).to_numpy(dtype=float)
        values = values[:, 0] if topics is None else values
        return np.where(np.isnan(values), drawn, values)


def institutions_schema(cfg: PopulationConfig, traits: tuple[str, ...]) -> pa.DataFrameSchema:
    """Columns and rules of an institutions file: the members' `traits` (0-1, sim.core.population),
    and per topic a KPI and an interest. Provinces must be those configured, unless
    `population.provinces` is empty (any province, each its own event group)."""
    topics = cfg.topic_names()
    provinces = [p.name for p in cfg.provinces]
    columns = {
        "id": text(unique=True),
        "name": text(unique=True),
        "type": text(one_of(list(cfg.types))),
        "province": text(*([one_of(provinces)] if provinces else [])),
        "group": text(column_required=False, empty=True),
        **{trait: number(0, 1) for trait in traits},
        **{f"kpi.{t}": number(0, 100) for t in topics},
        **{f"interest.{t}": number(0, 1) for t in topics},
    }
    checks = [
        row_check(
            f"{prefix}.{topic}",
            f"empty: {prefix}.{topic} is only for types {owners}",
            lambda f, c=f"{prefix}.{topic}", o=owners: (
                f.reindex(columns=[c])[c].isna() | f["type"].isin(o)
            ),
        )
        for topic in topics
        for owners in [[k for k, spec in cfg.types.items() if topic in spec.topics]]
        for prefix in ("kpi", "interest")
    ]
    return pa.DataFrameSchema(columns, checks=checks, strict=False)


def read_institutions(path: str, cfg: PopulationConfig, traits: tuple[str, ...]) -> Institutions:
    """The institutions file at `path`, validated against the configured types and topics and
    the members' `traits`."""
    read = lambda: load_institutions(path, cfg, traits)  # noqa: E731
    # the validation depends on the types' names and topics and on the provinces, not on the
    # topics' baselines, which a posterior draw changes in every replication
    topics = tuple((kind, tuple(spec.topics)) for kind, spec in cfg.types.items())
    return cached("population.path", path, (topics, repr(cfg.provinces), traits), read)


def load_institutions(path: str, cfg: PopulationConfig, traits: tuple[str, ...]) -> Institutions:
    schema = institutions_schema(cfg, traits)
    raw = read_text_table(path)
    numeric = [c for c, col in schema.columns.items() if "float" in str(col.dtype)]
    frame = validate(blanks_to_nan(raw, numeric), schema, path)
    known = {p.name: p.event_group for p in cfg.provinces}
    default = frame["province"].map(lambda p: known.get(p, p))  # the province's event group
    given = frame.get("group", pd.Series("", frame.index))
    frame["group"] = given.where(given != "", default)
    frame = frame.sort_values("id", kind="stable").reset_index(drop=True)
    groups = list(dict.fromkeys(frame["group"]))
    say_drawn(path, frame, cfg, traits)
    return Institutions(frame, groups)


def say_drawn(
    path: str, frame: pd.DataFrame, cfg: PopulationConfig, traits: tuple[str, ...]
) -> None:
    """Tell the user which values the model draws because the file leaves them out."""
    wanted = list(traits)
    for kind, spec in cfg.types.items():
        if (frame["type"] == kind).any():
            wanted += [f"{prefix}.{t}" for t in spec.topics for prefix in ("kpi", "interest")]
    drawn = []
    for column in dict.fromkeys(wanted):
        owners = frame if column in traits else frame[has_topic(frame, cfg, column)]
        missing = owners[column].isna().sum() if column in frame else len(owners)
        if missing:
            drawn.append(column if missing == len(owners) else f"{column} ({missing} rows)")
    if drawn:
        log.warning(
            "%s: drawn from the documented distributions (docs/ODD.md): %s",
            path,
            ", ".join(drawn),
        )


def has_topic(frame: pd.DataFrame, cfg: PopulationConfig, column: str) -> pd.Series:
    topic = column.partition(".")[2]
    return frame["type"].isin([k for k, spec in cfg.types.items() if topic in spec.topics])


# --- twinning pairs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pairs:
    """Validated pairs as member and topic indices; topic -1 means every shared topic."""

    learner: np.ndarray
    teacher: np.ndarray
    topic: np.ndarray
    both_ways: np.ndarray
    intensity: np.ndarray


def pairs_schema(
    ids: list[str],
    kinds: list[str],
    topics: list[str],
    kind_of: dict[str, str],
    type_topics: dict[str, set[str]],
    may_teach: set[tuple[str, str]],
) -> pa.DataFrameSchema:
    def topics_of(member: str) -> set[str]:  # a missing teacher knows every topic
        return set(topics) if member == "" else type_topics[kind_of.get(member, "")]

    def applies(side: str) -> Callable[[pd.DataFrame], list[bool]]:
        return lambda f: [
            t == "*" or t in topics_of(m) for m, t in zip(f[side], f["topic"], strict=True)
        ]

    def shares_topic(f: pd.DataFrame) -> list[bool]:
        return [
            t != "*" or bool(topics_of(a) & topics_of(b))
            for a, b, t in zip(f["learner"], f["teacher"], f["topic"], strict=True)
        ]

    def allowed(f: pd.DataFrame) -> list[bool]:
        return [
            b == ""
            or (
                (kind_of.get(b), kind_of.get(a)) in may_teach
                and (not BOOLEAN.get(w, False) or (kind_of.get(a), kind_of.get(b)) in may_teach)
            )
            for a, b, w in zip(f["learner"], f["teacher"], f["both_ways"], strict=True)
        ]

    rule = "population.types.<type>.mentors"
    return pa.DataFrameSchema(
        {
            "learner": text(pa.Check.isin(ids, error="the id of an institution")),
            "teacher": text(
                pa.Check.isin(["", *ids], error="the id of an institution, or empty for none"),
                empty=True,
            ),
            "topic": text(one_of(["*", *topics])),
            "both_ways": pa.Column(str, one_of(sorted(BOOLEAN)), required=False),
            "intensity": number(0, 10),
        },
        checks=[
            row_check(
                "teacher",
                "an institution other than the learner",
                lambda f: f["learner"] != f["teacher"],
            ),
            row_check("topic", "a topic of the learner's type", applies("learner")),
            row_check("topic", "a topic of the teacher's type", applies("teacher")),
            row_check("topic", "'*' only where the two types share a topic", shares_topic),
            row_check(
                "teacher",
                f"a type that may mentor the learner's ({rule}, both ways for both_ways pairs)",
                allowed,
            ),
        ],
    )


class Members(Protocol):
    """What a pairs file is checked against: a population's members, types and topics (as
    sim.core.population.Population holds them, which this layer does not import)."""

    ids: list[str]
    kind: np.ndarray  # (N,) index into `kinds`
    kinds: list[str]
    topics: list[str]
    applies: np.ndarray  # (N, K) bool: topic k applies to member n
    may_teach: np.ndarray  # (T, T) bool: type a may mentor type b


def read_pairs(path: str, pop: Members) -> Pairs:
    """The pairs file at `path`, checked against the population's members and types."""
    key = (hash(tuple(pop.ids)), tuple(pop.kinds), tuple(pop.topics), pop.may_teach.tobytes())
    return cached("network.path", path, key, lambda: load_pairs(path, pop))


def load_pairs(path: str, pop: Members) -> Pairs:
    ids, kinds, kind, topics = pop.ids, pop.kinds, pop.kind, pop.topics
    kind_of = dict(zip(ids, (kinds[k] for k in kind), strict=True))
    type_topics = {
        kinds[k]: {topics[t] for t in np.flatnonzero(pop.applies[kind == k].any(axis=0))}
        for k in np.unique(kind)
    } | {"": set()}
    teaches = {(kinds[a], kinds[b]) for a, b in zip(*np.nonzero(pop.may_teach), strict=True)}
    schema = pairs_schema(ids, kinds, topics, kind_of, type_topics, teaches)
    raw = read_text_table(path)
    raw["both_ways"] = raw.get("both_ways", pd.Series("", raw.index)).str.lower()
    frame = validate(blanks_to_nan(raw, ["intensity"]), schema, path)
    index = {m: i for i, m in enumerate(ids)}
    topic_index = {t: k for k, t in enumerate(topics)} | {"*": -1}
    return Pairs(
        frame["learner"].map(index).to_numpy(np.int64),
        frame["teacher"].map(index).fillna(-1).to_numpy(np.int64),
        frame["topic"].map(topic_index).to_numpy(np.int64),
        frame["both_ways"].map(BOOLEAN).to_numpy(bool),
        frame.get("intensity", pd.Series(1.0, frame.index)).fillna(1.0).to_numpy(float),
    )


# --- calendar ---------------------------------------------------------------------------------


def read_calendar(path: str, programme_months: int, groups: list[str]) -> list[EventSpec]:
    """The calendar file at `path` (CSV or YAML with month, kind, mode, group)."""
    key = (programme_months, tuple(groups))
    read = lambda: load_calendar(path, programme_months, groups)  # noqa: E731
    return cached("schedule.path", path, key, read)


def load_calendar(path: str, programme_months: int, groups: list[str]) -> list[EventSpec]:
    """The file's events sorted by month, then kind, mode and group in their declared orders
    (EventKind, Mode, `groups`), so results never depend on the order of lines: a month's events
    add to the same ties one after the other, and floating-point sums depend on that order, as the
    event log's rows do. The declared orders are those of the default plan (coaching, workshops,
    then the exchange-visit round), so its exported calendar loads back to the same plan."""
    schema = pa.DataFrameSchema(
        {
            "month": pa.Column(
                int,
                pa.Check.in_range(
                    1,
                    programme_months,
                    error=f"a whole month in [1, {programme_months}] (schedule.programme_months)",
                ),
                coerce=True,
            ),
            "kind": text(one_of([k.value for k in EventKind])),
            "mode": text(one_of(["", *(m.value for m in Mode)]), column_required=False, empty=True),
            "group": text(one_of(["", *groups]), column_required=False, empty=True),
        }
    )
    frame = validate(read_text_table(path), schema, path)
    modes = frame.get("mode", pd.Series("", frame.index)).replace("", Mode.in_person.value)
    events = [
        EventSpec(EventKind(k), int(m), Mode(mode), g)
        for k, m, mode, g in zip(
            frame["kind"],
            frame["month"],
            modes,
            frame.get("group", [""] * len(frame)),
            strict=True,
        )
    ]
    kinds, modes, places = list(EventKind), list(Mode), ["", *groups]
    return sorted(
        events,
        key=lambda e: (e.month, kinds.index(e.kind), modes.index(e.mode), places.index(e.group)),
    )
