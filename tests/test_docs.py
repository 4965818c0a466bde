"""docs/ODD.md documents every parameter (a table row with its dotted key and its default) and
defines every declared outcome measure."""

from __future__ import annotations

import re
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from sim import config as config_module
from sim.metrics import OUTCOMES, TOPIC_OUTCOMES

ODD = Path(__file__).resolve().parents[1] / "docs" / "ODD.md"


def documented_keys() -> dict[str, object]:
    """Dotted key -> default for every `param(...)` field (metadata has "range").

    The prefix is the class's `section` ClassVar; ScenarioConfig's own fields have none.
    Institution types and their topics are keyed by name (`nested`), so they are skipped here
    and documented per type.
    """
    keys: dict[str, object] = {}
    for obj in vars(config_module).values():
        if not (isinstance(obj, type) and issubclass(obj, config_module.Validated)):
            continue
        if obj is config_module.Validated or obj.nested:
            continue
        for f in fields(obj):
            if "range" not in f.metadata:
                continue
            assert f.default is not MISSING
            keys[f"{obj.section}.{f.name}" if obj.section else f.name] = f.default
    return keys


def table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("|")]


def mentions(row: str, token: str) -> bool:
    """`token` appears in the row as a whole word (not inside a longer key or number)."""
    return re.search(rf"(?<![\w.]){re.escape(token)}(?![\w]|\.\d)", row) is not None


def missing_from(text: str) -> list[str]:
    rows = table_rows(text)
    missing = []
    for key, default in documented_keys().items():
        values = {repr(default), str(default)}
        if not any(mentions(row, key) and any(mentions(row, v) for v in values) for row in rows):
            missing.append(f"{key} (default {default!r})")
    return missing


def test_the_key_list_covers_every_section():
    keys = documented_keys()
    assert keys["learning.spillover"] == 0.1
    assert keys["seed"] == 20210801 and keys["replications"] == 100
    assert keys["kickoff.max_mentees"] == 4
    sections = {k.split(".")[0] for k in keys if "." in k}
    assert sections == {"population", "kickoff", "network", "learning", "schedule", "costs"}
    assert not any(k.startswith("population.topics") for k in keys)
    assert len(keys) == sum(
        1
        for cls in (
            config_module.PopulationConfig,
            config_module.KickoffConfig,
            config_module.NetworkConfig,
            config_module.LearningConfig,
            config_module.ScheduleConfig,
            config_module.CostConfig,
            config_module.ScenarioConfig,
        )
        for f in fields(cls)
        if "range" in f.metadata
    )


def test_row_matching_is_strict():
    rows = "| `learning.peer_contact_rate` | 0.05 | gap share/month |\n| x | y |"
    assert mentions(rows, "learning.peer_contact_rate") and mentions(rows, "0.05")
    assert not mentions("| learning.peer_contact_rate_x | 0.055 |", "learning.peer_contact_rate")
    assert not mentions("| learning.peer_contact_rate | 0.055 |", "0.05")
    assert not mentions("| costs.exchange_visit | 400.05 |", "400.0")
    assert missing_from("| `seed` | 20210801 | any |") == [
        f"{k} (default {v!r})" for k, v in documented_keys().items() if k != "seed"
    ]


def test_every_parameter_is_documented_in_odd_with_its_default():
    if not ODD.exists():
        pytest.fail(f"{ODD.relative_to(ODD.parents[1])} does not exist yet")
    missing = missing_from(ODD.read_text(encoding="utf-8"))
    assert not missing, (
        f"{len(missing)} parameter(s) lack a docs/ODD.md table row with key and default: "
        + ", ".join(missing)
    )


def test_every_declared_outcome_is_defined_in_odd():
    """A measure declared in sim.metrics has its definition in ODD 7.16 (per headline topic `k`:
    `k_<suffix>`), so a reader can look up what a summary column means."""
    section = ODD.read_text(encoding="utf-8").split("### 7.16")[1].split("### 7.17")[0]
    undefined = [f"k_{s}" for s in TOPIC_OUTCOMES if f"k_{s}" not in section]
    undefined += [c for c in OUTCOMES if f"`{c}`" not in section]
    assert undefined == []
