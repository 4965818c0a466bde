"""Property-based tests (Hypothesis): what must hold for every valid scenario, not for chosen ones.

Configurations are drawn inside the ranges their fields declare (`param`), narrower only where a
large value would make a run slow (members, months, experts, visits) or a budget for all costs
exceed its own range, with one to three small provinces, so an example runs in milliseconds.
Examples are derandomized and no example database is kept, so every run (CI included) tests the
same examples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import sim
from sim import ScenarioConfig, TwinningModel
from sim.config import (
    CostConfig,
    EventKind,
    EventSpec,
    KickoffConfig,
    LearningConfig,
    Mode,
    PopulationConfig,
    ProvinceSpec,
)
from sim.core.designs.base import DESIGNS
from sim.core.population import configured_layout
from sim.core.scenario import NetworkConfig
from sim.interfaces.export import export

Configure = Callable[..., ScenarioConfig]
Quiet = Callable[[], AbstractContextManager[None]]

# `make_config` is function-scoped but returns a pure function (conftest.configure), so one
# instance serves every example of a test: the health check against such fixtures does not apply.
PROPERTY = settings(  # per design: each test runs for every design (pytest parametrize)
    max_examples=5,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# an example of the input-file tests reads and validates six files (pandera): fewer examples
FILES_PROPERTY = settings(PROPERTY, max_examples=3)
ALL = sorted(DESIGNS)
PROGRAMMES = [d for d in ALL if DESIGNS[d].programme]  # all but `none`
TABLES = ("summary", "panel", "events", "ties", "model_vars", "agent_vars")
VISITS = ["exchange_visit", "expert_visit"]  # the elastic part of a programme's cost (7.4)
AGENT_TRAITS = {trait: trait for trait in ("resource", "time", "motivation", "leadership")}
INTEREST = {  # topic interest has no agent property: its range over applying cells, monthly
    "interest_low": lambda m: float(m.interest[m.pop.applies].min()),
    "interest_high": lambda m: float(m.interest[m.pop.applies].max()),
}
DEFAULT_TYPES = PopulationConfig().types
TOPICS = PopulationConfig().topic_names()


# --- strategies -------------------------------------------------------------------------------


def params(
    section: type, narrow: dict[str, tuple[float, float]] | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """Overrides of a random subset of a section's `param` fields, each drawn in its declared
    range, or in the narrower one given."""
    narrow = narrow or {}
    drawn = {}
    for f in fields(section):
        if "range" in f.metadata:
            low, high = narrow.get(f.name, f.metadata["range"])
            integer = isinstance(f.default, int)
            drawn[f.name] = st.integers(int(low), int(high)) if integer else st.floats(low, high)
    return st.fixed_dictionaries({}, optional=drawn)


@st.composite
def provinces(draw: st.DrawFn) -> list[ProvinceSpec]:
    """One to three provinces of one to three districts, each in its own or a shared event group,
    with at most two hospitals, one district team and one health centre per district."""
    specs = []
    for p in range(draw(st.integers(1, 3))):
        districts = [f"District {p}{d}" for d in range(draw(st.integers(1, 3)))]
        group = draw(st.sampled_from(["Shared", f"Group {p}"]))
        counts = {
            "hospital": draw(st.integers(0, 2)),
            "district": draw(st.integers(0, 1)),
            "health_centre": draw(st.integers(0, 1)),
        }
        specs.append(ProvinceSpec(f"Province {p}", districts, group, counts))
    assume(any(count for p in specs for count in p.counts.values()))
    return specs


@st.composite
def calendars(draw: st.DrawFn, months: int, groups: list[str]) -> list[EventSpec]:
    """Up to six events, several possibly in one month, for every member or one group."""
    event = st.builds(
        EventSpec,
        st.sampled_from(list(EventKind)),
        st.integers(1, months),
        st.sampled_from(list(Mode)),
        st.sampled_from(["", *groups]),
    )
    return draw(st.lists(event, max_size=6))


@st.composite
def pairs_lines(draw: st.DrawFn, population: PopulationConfig) -> pd.DataFrame:
    """One to six lines of a pairs file over the population's members: a learner, a teacher of
    its type (or none), a topic of its type or '*', both ways or not, an intensity."""
    layout = configured_layout(population)
    kinds = list(population.types)
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        learner = draw(st.integers(0, len(layout.ids) - 1))
        kind = layout.kind[learner]
        peers = [layout.ids[i] for i in np.flatnonzero(layout.kind == kind) if i != learner]
        topics = list(population.types[kinds[kind]].topics)
        lines.append(
            {
                "learner": layout.ids[learner],
                "teacher": draw(st.sampled_from(["", *peers])),
                "topic": draw(st.sampled_from(["*", *topics])),
                "both_ways": draw(st.booleans()),
                "intensity": draw(st.floats(0, 10)),
            }
        )
    return pd.DataFrame(lines)


@dataclass
class Drawn:
    """A drawn scenario of any design: `configure` keyword arguments, and the lines of a pairs
    file for design `from_file` (written by `build`)."""

    arguments: dict[str, Any]
    pairs: pd.DataFrame


@st.composite
def scenarios(draw: st.DrawFn) -> Drawn:
    """A valid small scenario; `build` sets its design."""
    types = DEFAULT_TYPES
    if draw(st.booleans()):  # hospitals may mentor health centres in their shared topics
        types = types | {"hospital": replace(types["hospital"], mentors=["health_centre"])}
    population = {"provinces": draw(provinces()), "types": types}
    population |= draw(params(PopulationConfig))
    groups = list(dict.fromkeys(p.event_group for p in population["provinces"]))
    months = draw(st.integers(1, 12))
    schedule = {
        "programme_months": months,
        "followup_months": draw(st.integers(0, 6)),
        "exchange_visit_every": draw(st.integers(0, 4)),
        "events": draw(calendars(months, groups)),
    }
    network = draw(params(NetworkConfig, {"n_experts": (1, 4), "expert_visits_per_month": (0, 6)}))
    network |= {"expert_followup": draw(st.booleans())}
    network |= {"experts_at_workshops": draw(st.booleans())}
    kickoff = draw(params(KickoffConfig, {"goals_per_institution": (1, 4), "max_mentees": (1, 6)}))
    # costs up to 1e5 (declared: 1e7), so that a budget for all of them stays below its 1e10;
    # or a free programme, whose cost per point is undefined
    prices = {f.name: (0, 1e5) for f in fields(CostConfig)}
    free = {f.name: 0.0 for f in fields(CostConfig)}
    costs = draw(st.one_of(params(CostConfig, prices), st.just(free)))
    arguments = {
        "replications": draw(st.integers(1, 3)),
        "seed": draw(st.integers(0, 2**63 - 1)),
        "population": population,
        "schedule": schedule,
        "network": network,
        "kickoff": kickoff,
        "learning": draw(params(LearningConfig)),
        "costs": costs | {"budget": 0.0},
        "calibration": {"sample": draw(st.sampled_from(["point", "posterior"]))},
        "headline_topics": draw(
            st.lists(st.sampled_from(TOPICS), min_size=1, max_size=3, unique=True)
        ),
    }
    return Drawn(arguments, draw(pairs_lines(PopulationConfig(**population))))


# --- helpers ----------------------------------------------------------------------------------


def build(make_config: Configure, drawn: Drawn, design: str, folder: Path) -> ScenarioConfig:
    """The drawn scenario under `design`; for `from_file` its pairs are written to `folder`."""
    arguments = dict(drawn.arguments)
    if design == "from_file":
        drawn.pairs.to_csv(folder / "pairs.csv", index=False)
        arguments["network"] = arguments["network"] | {"path": str(folder / "pairs.csv")}
    return make_config(design=design, **arguments)


def run(config: ScenarioConfig, quiet_log: Quiet, **reporters: Any) -> sim.Results:
    with quiet_log():  # unmatched goals and unspent budgets are warned of, and allowed
        return sim.run_scenario(config, **reporters)


def tables(results: sim.Results) -> Iterator[tuple[str, pd.DataFrame]]:
    for name in TABLES:
        yield name, getattr(results, name)


def assert_same_results(a: sim.Results, b: sim.Results) -> None:
    """Every table equal to the bit (NaN equal to NaN), column types and row order included."""
    for name, table in tables(a):
        pd.testing.assert_frame_equal(table, getattr(b, name), check_exact=True, obj=name)


def assert_within(name: str, values: Any, low: float, high: float) -> None:
    values = np.asarray(values, dtype=float)
    outside = ~((values >= low) & (values <= high))  # NaN is outside too
    assert not outside.any(), f"{name}: {values[outside][:5]} outside [{low}, {high}]"


def missing(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells that are NaN, None or infinite."""
    bad = frame.isna()
    numbers = frame.select_dtypes("number")
    bad[numbers.columns] |= np.isinf(numbers)
    return bad


def unit_prices(costs: CostConfig) -> dict[tuple[str, str], float]:
    """Price of one participant (one visit, one expert-month) of each logged activity and mode
    (docs/ODD.md 7.14)."""
    prices = {
        ("codesign", "in_person"): costs.codesign_workshop,
        ("kickoff", "in_person"): costs.kickoff_participant,
        ("coaching", "in_person"): costs.coaching_in_person,
        ("coaching", "virtual"): costs.coaching_virtual,
        ("expert_visit", "in_person"): costs.expert_visit,
        ("expert_followup", "virtual"): costs.expert_followup,
    }
    for mode in Mode:
        prices[("exchange_visit", mode.value)] = costs.exchange_visit  # a visit, either way
        for workshop in ("network_workshop", "provincial_workshop"):
            price = costs.workshop_virtual if mode is Mode.virtual else costs.workshop_in_person
            prices[(workshop, mode.value)] = price
    return prices


def planned_costs(results: sim.Results) -> tuple[float, float]:
    """Fixed cost and visits' cost of the first replication, as scheduled (no budget)."""
    events = results.events[results.events["run"] == 0]
    visit = events["event"].isin(VISITS)
    return float(events["cost"][~visit].sum()), float(events["cost"][visit].sum())


def reading_files(make_config: Configure, config: ScenarioConfig, folder: Path) -> ScenarioConfig:
    """`config` with its members, pairs and calendar read from the files in `folder`."""
    return make_config(
        config,
        design="from_file",
        population={"path": str(folder / "institutions.csv")},
        network={"path": str(folder / "pairs.csv")},
        schedule={"path": str(folder / "calendar.csv"), "exchange_visit_every": 0},
    )


def with_budget(make_config: Configure, config: ScenarioConfig, budget: float) -> ScenarioConfig:
    return make_config(config, costs={"budget": budget})


# --- 1. scales --------------------------------------------------------------------------------


@pytest.mark.parametrize("design", ALL)
@PROPERTY
@given(drawn=scenarios())
def test_kpis_stay_in_0_100_and_traits_in_0_1(
    design: str,
    drawn: Drawn,
    make_config: Configure,
    tmp_path_factory: pytest.TempPathFactory,
    quiet_log: Quiet,
) -> None:
    """Capacities and observed KPIs are points on a 0-100 scale, and leadership, motivation,
    time, resource and interest are 0-1 indices (docs/ODD.md 2), in every month, whatever the
    parameters: learning, drift and measurement error are clipped, never the tables."""
    config = build(make_config, drawn, design, tmp_path_factory.mktemp("scales"))
    r = run(config, quiet_log, agent_reporters=AGENT_TRAITS, model_reporters=INTEREST)
    for column in ("capacity", "kpi"):
        assert_within(f"panel.{column}", r.panel[column], 0, 100)
    assert_within("model_vars.capacity", r.model_vars["capacity"], 0, 100)
    for column in ("learner_kpi", "teacher_kpi"):  # a teacher's: a member's, or expert_level
        assert_within(f"ties.{column}", r.ties[column].dropna(), 0, 100)
    for column in ("motivation", "leadership"):
        assert_within(f"panel.{column}", r.panel[column], 0, 1)
    for column in AGENT_TRAITS:
        assert_within(f"agent_vars.{column}", r.agent_vars[column], 0, 1)
    for column in ("motivation", *INTEREST):
        assert_within(f"model_vars.{column}", r.model_vars[column], 0, 1)
    assert_within("ties.context_fit", r.ties["context_fit"].dropna(), 0, 1)


# --- 2. no NaN or infinity but the documented undefined estimators --------------------------


def undefined(results: sim.Results, topics: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Summary cells that must be NaN, and those that may be (docs/ODD.md 7.16).

    Must: a topic's estimator when all or none of the members that have it chose it, its true
    effect when none did, cost per point unless cost and effect are both positive, and the goal
    means when there are no goals. May: the bottom quartile's means when some member has no goal
    (users' pairs set the goals, and may leave the bottom quartile without one)."""
    summary, panel = results.summary, results.panel
    baseline = panel[panel["month"] == 0]
    members = baseline.groupby(["run", "topic"], observed=True).size()
    goalless = (
        (~baseline.groupby(["run", "institution"], observed=True)["goal"].any())
        .groupby(level="run")
        .any()
    )
    must = pd.DataFrame(False, summary.index, summary.columns)
    for topic in topics:
        having = summary["run"].map(lambda run, t=topic: members.get((run, t), 0))
        choosers = summary[f"{topic}_choosers"]
        must[f"{topic}_estimate"] = (choosers == 0) | (choosers == having)
        must[f"{topic}_true_effect"] = choosers == 0
    for column in ("mean_gain", "mean_effect", "sustained_gain", "sustained_effect"):
        must[column] = summary["goals"] == 0
    must["cost_per_point"] = ~((summary["total_cost"] > 0) & (summary["mean_effect"] > 0))
    may = must.copy()
    for column in ("bottom_quartile_gain", "bottom_quartile_effect"):
        may[column] = summary["run"].map(goalless)
    return must, may


@pytest.mark.parametrize("design", ALL)
@PROPERTY
@given(drawn=scenarios())
def test_no_nan_or_infinity_outside_the_undefined_estimators(
    design: str,
    drawn: Drawn,
    make_config: Configure,
    tmp_path_factory: pytest.TempPathFactory,
    quiet_log: Quiet,
) -> None:
    """Every table is finite and complete, except the summary's estimators where docs/ODD.md
    7.16 leaves them undefined (`undefined`: NaN exactly there) and a goal's missing teacher in
    the ties table (status 'unmatched': no teacher, teacher KPI or context fit)."""
    config = build(make_config, drawn, design, tmp_path_factory.mktemp("nan"))
    r = run(config, quiet_log, agent_reporters=AGENT_TRAITS)
    must, may = undefined(r, config.headline_topics)
    optional = may & ~must  # NaN allowed there, not required: not checked
    pd.testing.assert_frame_equal(missing(r.summary) & ~optional, must, obj="summary: NaN")
    unmatched = r.ties["status"] == "unmatched"
    expected = pd.DataFrame(False, r.ties.index, r.ties.columns)
    for column in ("teacher", "teacher_kind", "teacher_kpi", "context_fit"):
        expected[column] = unmatched
    pd.testing.assert_frame_equal(missing(r.ties), expected, obj="ties: NaN")
    for name, table in tables(r):
        if name not in ("summary", "ties"):
            assert not missing(table).any().any(), f"{name} has NaN, None or infinity"


# --- 3. costs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("design", ALL)
@PROPERTY
@given(drawn=scenarios())
def test_costs_are_non_negative_priced_and_add_up_to_the_summary(
    design: str,
    drawn: Drawn,
    make_config: Configure,
    tmp_path_factory: pytest.TempPathFactory,
    quiet_log: Quiet,
) -> None:
    """Each logged activity costs its participants (or visits) times its configured unit price,
    never less than 0, and a replication's `total_cost` (and its monthly `cost` reporter at the
    end) is the sum of its rows of the events table, to the bit: the summary is the event log's."""
    config = build(make_config, drawn, design, tmp_path_factory.mktemp("costs"))
    r = run(config, quiet_log)
    events, summary = r.events, r.summary
    negative = events[(events["participants"] < 0) | (events["cost"] < 0)]
    assert negative.empty, negative
    prices = unit_prices(config.costs)
    unit = [prices[key] for key in zip(events["event"], events["mode"], strict=True)]
    np.testing.assert_array_equal(events["cost"], events["participants"] * np.array(unit))
    last = r.model_vars.groupby("run")["cost"].last()
    for run_index, total in zip(summary["run"], summary["total_cost"], strict=True):
        assert total == sum(events["cost"][events["run"] == run_index].tolist()), run_index
        assert total == last[run_index], run_index


# --- 4. budget --------------------------------------------------------------------------------


@pytest.mark.parametrize("design", ALL)
@PROPERTY
@given(drawn=scenarios(), share=st.floats(0, 2))
def test_total_cost_stays_within_the_budget(
    design: str,
    drawn: Drawn,
    share: float,
    make_config: Configure,
    tmp_path_factory: pytest.TempPathFactory,
    quiet_log: Quiet,
) -> None:
    """With `costs.budget` set, every replication spends at most the budget: visits are scaled
    to what is left after the fixed activities (docs/ODD.md 7.4). The budget pays the fixed part
    plus `share` of the scheduled visits (more than all of them for `share` > 1)."""
    config = build(make_config, drawn, design, tmp_path_factory.mktemp("budget"))
    fixed, visits = planned_costs(run(config, quiet_log))
    budget = fixed + 1.0 + share * visits  # 1 USD over the fixed part: never refused
    summary = run(with_budget(make_config, config, budget), quiet_log).summary
    over = summary["total_cost"] > budget
    assert not over.any(), f"budget {budget}: spent {summary['total_cost'][over].tolist()}"


# --- 5. no programme, no effect ---------------------------------------------------------------


@pytest.mark.parametrize("design", PROGRAMMES)
@PROPERTY
@given(drawn=scenarios())
def test_no_programme_has_exactly_zero_effect_and_is_every_designs_twin(
    design: str,
    drawn: Drawn,
    make_config: Configure,
    tmp_path_factory: pytest.TempPathFactory,
    quiet_log: Quiet,
) -> None:
    """The `none` design's effects are exactly 0 (NaN only where no member chose a topic), at no
    cost; and the counterfactual every design is measured against (`C - Ccf`, docs/ODD.md 7.16)
    is exactly the `none` run with the same seed, month by month."""
    config = build(make_config, drawn, design, tmp_path_factory.mktemp("none"))
    nothing = make_config(config, design="none")
    summary = run(nothing, quiet_log).summary
    for column in ("mean_effect", "bottom_quartile_effect", "sustained_effect"):
        assert (summary[column] == 0).all(), (column, summary[column].tolist())
    for topic in config.headline_topics:
        effect, chose = summary[f"{topic}_true_effect"], summary[f"{topic}_choosers"] > 0
        assert (effect[chose] == 0).all() and effect[~chose].isna().all(), topic
    assert (summary["total_cost"] == 0).all() and (summary["unmatched_goals"] == 0).all()
    programme = TwinningModel(config).run().history
    twin = TwinningModel(nothing).run().history
    np.testing.assert_array_equal(programme.counterfactual, twin.capacity)
    np.testing.assert_array_equal(twin.counterfactual, twin.capacity)


# --- 6. reproducibility -----------------------------------------------------------------------


@pytest.mark.parametrize("design", ALL)
@PROPERTY
@given(drawn=scenarios(), other=scenarios(), other_design=st.sampled_from(ALL))
def test_the_same_seed_gives_bit_identical_results(
    design: str,
    drawn: Drawn,
    other: Drawn,
    other_design: str,
    make_config: Configure,
    tmp_path_factory: pytest.TempPathFactory,
    quiet_log: Quiet,
) -> None:
    """Running a scenario again gives the same tables to the bit, even with another scenario run
    in between: nothing but the seed (no clock, no state left in the process) decides a run."""
    config = build(make_config, drawn, design, tmp_path_factory.mktemp("seed"))
    first = run(config, quiet_log, agent_reporters=AGENT_TRAITS)
    run(build(make_config, other, other_design, tmp_path_factory.mktemp("other")), quiet_log)
    assert_same_results(first, run(config, quiet_log, agent_reporters=AGENT_TRAITS))


# --- 7. order of lines in input files -----------------------------------------------------------

SMALL = Path(__file__).resolve().parent.parent / "configs" / "data" / "small"
FILES = ("institutions.csv", "pairs.csv", "calendar.csv")
SMALL_CALENDAR = pd.DataFrame(  # several activities a month, in the small network's two groups
    [
        (1, "exchange_visit", "", ""),
        (1, "coaching", "virtual", ""),
        (1, "network_workshop", "in_person", ""),
        (2, "provincial_workshop", "virtual", "South"),
        (2, "exchange_visit", "", ""),
        (2, "provincial_workshop", "", "North"),
        (3, "coaching", "in_person", ""),
        (3, "exchange_visit", "", ""),
    ],
    columns=["month", "kind", "mode", "group"],
)


def shuffled(folder: Path, data: st.DataObject, out: Path) -> Path:
    """The files of `folder` with their lines in an order Hypothesis draws, written to `out`."""
    for name in FILES:
        frame = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        order = data.draw(st.permutations(range(len(frame))), label=name)
        frame.iloc[list(order)].to_csv(out / name, index=False)
    return out


def assert_order_free(
    make_config: Configure,
    config: ScenarioConfig,
    folder: Path,
    data: st.DataObject,
    out: Path,
    quiet_log: Quiet,
) -> None:
    """The same results from the files in `folder` and from their lines shuffled, with no budget
    or with one that buys only part of the visits (which ties get them then depends on the order
    of the ties)."""
    in_order = reading_files(make_config, config, folder)
    fixed, visits = planned_costs(run(in_order, quiet_log))
    share = data.draw(st.one_of(st.none(), st.floats(0.05, 0.95)), label="budget share")
    budget = 0.0 if share is None else fixed + 1.0 + share * visits
    in_order = with_budget(make_config, in_order, budget)
    reordered = reading_files(make_config, in_order, shuffled(folder, data, out))
    assert_same_results(run(in_order, quiet_log), run(reordered, quiet_log))


@pytest.mark.parametrize("design", PROGRAMMES)
@FILES_PROPERTY
@given(drawn=scenarios(), data=st.data())
def test_results_do_not_depend_on_the_order_of_lines_in_input_files(
    design: str,
    drawn: Drawn,
    data: st.DataObject,
    make_config: Configure,
    tmp_path_factory: pytest.TempPathFactory,
    quiet_log: Quiet,
) -> None:
    """A drawn scenario exported as files (tpn-sim-export: members, the design's pairs, the
    calendar as held), with drawn `both_ways` flags and intensities, gives the same results
    whatever the order of the files' lines.

    Regression: the pairs' ties used to follow the order of lines, and a budget's visits go
    round the ties in order, so the lines decided which ties were visited; and a month's events
    were held in the order of lines, which moved the event log's rows and floating-point sums.
    A pair listed twice keeps its first line's intensity (docs/ODD.md 6.2), so lines that may
    become one tie get one intensity here: a pair of members has one."""
    config = build(make_config, drawn, design, tmp_path_factory.mktemp("source"))
    folder = tmp_path_factory.mktemp("files")
    export(TwinningModel(config), folder)
    calendar = pd.read_csv(folder / "calendar.csv", dtype=str, keep_default_na=False)
    assume(len(calendar))  # a programme with no activity has no calendar file to read
    kind = pd.read_csv(folder / "institutions.csv", dtype=str).set_index("id")["type"]
    pairs = pd.read_csv(folder / "pairs.csv", dtype=str, keep_default_na=False)
    members = [frozenset(p) for p in zip(pairs["learner"], pairs["teacher"], strict=True)]
    same_type = [
        t != "" and kind[a] == kind[t] for a, t in zip(pairs.learner, pairs.teacher, strict=True)
    ]
    both = data.draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    pairs["both_ways"] = [b and s for b, s in zip(both, same_type, strict=True)]
    weights = {m: data.draw(st.floats(0, 10), label="intensity") for m in dict.fromkeys(members)}
    pairs["intensity"] = [weights[m] for m in members]
    pairs.to_csv(folder / "pairs.csv", index=False)
    assert_order_free(
        make_config, config, folder, data, tmp_path_factory.mktemp("lines"), quiet_log
    )


@settings(FILES_PROPERTY, max_examples=8)  # the one example with '*' and cross-type pairs
@given(data=st.data())
def test_the_small_example_does_not_depend_on_the_order_of_lines(
    data: st.DataObject,
    make_config: Configure,
    tmp_path_factory: pytest.TempPathFactory,
    quiet_log: Quiet,
) -> None:
    """The hand-made example (configs/data/small: both-ways pairs over '*', a pair of higher
    intensity, hospitals mentoring health centres) with a calendar of several activities a
    month, shuffled."""
    folder = tmp_path_factory.mktemp("small")
    for name in ("institutions.csv", "pairs.csv"):
        (folder / name).write_bytes((SMALL / name).read_bytes())
    SMALL_CALENDAR.to_csv(folder / "calendar.csv", index=False)
    types = DEFAULT_TYPES | {
        "hospital": replace(DEFAULT_TYPES["hospital"], mentors=["health_centre"])
    }
    config = make_config(
        replications=data.draw(st.integers(1, 3), label="replications"),
        seed=data.draw(st.integers(0, 2**63 - 1), label="seed"),
        population={"types": types},
        schedule={"programme_months": 3, "followup_months": 2, "events": []},
        headline_topics=["accreditation"],
    )
    assert_order_free(
        make_config, config, folder, data, tmp_path_factory.mktemp("lines"), quiet_log
    )


def test_a_province_without_members_holds_no_event_and_exports_files_that_load_back(
    make_config: Configure, tmp_path: Path
) -> None:
    """Regression, found by the order-of-lines property: a province without members kept its
    event group, so a provincial workshop was held there for nobody (0 participants), and
    tpn-sim-export wrote a calendar naming that group, which the exported institutions file does
    not have: loading the files back failed (InputError). Fixed in
    sim.core.population.configured_layout: event groups are the groups with members."""
    empty = {"hospital": 0, "district": 0, "health_centre": 0}
    provinces = [
        ProvinceSpec("Northern", ["Musanze"], "North"),
        ProvinceSpec("Empty", ["Nowhere"], "Nobody", empty),
    ]
    config = make_config(
        population={"provinces": provinces},
        schedule={"events": [EventSpec(EventKind.provincial_workshop, 2)]},  # in every group
    )
    model = TwinningModel(config).run()
    assert [e[3] for e in model.event_log if e[1] == "provincial_workshop"] == ["North"]
    export(model, tmp_path)
    TwinningModel(reading_files(make_config, config, tmp_path)).run()
