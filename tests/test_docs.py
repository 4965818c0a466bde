"""docs/ODD.md's parameter tables are the ones the declarations (sim/config.py, sim/core/designs/)
generate (`python -m sim.interfaces.odd`), and list every field of every configuration section with
its default; it defines every declared outcome measure."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import ClassVar

import pytest

from sim.analysis.sensitivity import JobConfig
from sim.config import Validated
from sim.core.metrics import OUTCOMES, TOPIC_OUTCOMES
from sim.core.scenario import ScenarioConfig
from sim.interfaces import odd

ODD = Path(__file__).resolve().parents[1] / "docs" / "ODD.md"


def test_the_odd_tables_are_the_ones_the_declarations_generate():
    text = ODD.read_text(encoding="utf-8")
    expected = odd.rewritten(text)
    diff = difflib.unified_diff(
        text.splitlines(),
        expected.splitlines(),
        "docs/ODD.md",
        "python -m sim.interfaces.odd",
        n=0,
        lineterm="",
    )
    assert expected == text, (
        "docs/ODD.md's parameter tables differ from the declarations: run "
        "`python -m sim.interfaces.odd` to rewrite them\n" + "\n".join(list(diff)[:12])
    )


def test_a_hand_edited_table_is_written_back():
    text = ODD.read_text(encoding="utf-8")
    row = "| `learning.spillover` | 0.1 |"
    assert row in text
    assert odd.rewritten(text.replace(row, "| `learning.spillover` | 0.2 |")) == text


def sections(config: ScenarioConfig) -> list[Validated]:
    return [config, *(v for v in vars(config).values() if isinstance(v, Validated))]


def test_every_field_of_every_section_has_a_row_and_every_parameter_its_default():
    text = ODD.read_text(encoding="utf-8")
    config = JobConfig()  # all tpn-sim fills: the scenario's fields and sections, and a study's
    owners = [(s, s.section) for s in sections(config)] + [
        (spec(), prefix) for spec, prefix in odd.PREFIXES.items()
    ]
    tabled = set(odd.sections()) - {ScenarioConfig} | {JobConfig}  # the top-level table
    assert {type(owner) for owner, _ in owners} == tabled
    for owner, prefix in owners:
        for f in fields(owner):
            if isinstance(getattr(owner, f.name), Validated):
                continue  # a section: its own table
            key = f"{prefix}.{f.name}" if prefix else f.name
            assert f"| `{key}` |" in text, f"{key} has no row in docs/ODD.md"
            if "range" in f.metadata:
                assert f"| `{key}` | {getattr(owner, f.name)} |" in text, key


def test_a_section_without_a_table_is_an_error():
    text = ODD.read_text(encoding="utf-8")
    untabled = text.replace("writes this table: KickoffConfig", "writes this table: calibrated")
    with pytest.raises(ValueError, match=r"no parameter table of \['KickoffConfig'\]"):
        odd.rewritten(untabled)


def test_an_undocumented_field_is_an_error():
    @dataclass
    class Extra(Validated):
        section: ClassVar[str] = "extra"
        mode: str = "fast"

    with pytest.raises(ValueError, match=r"extra\.mode is undocumented"):
        odd.fields_table([Extra])


def test_every_declared_outcome_is_defined_in_odd():
    """A measure declared in sim.core.metrics has its definition in ODD 7.16 (per headline topic
    `k`: `k_<suffix>`), so a reader can look up what a summary column means."""
    section = ODD.read_text(encoding="utf-8").split("### 7.16")[1].split("### 7.17")[0]
    undefined = [f"k_{s}" for s in TOPIC_OUTCOMES if f"k_{s}" not in section]
    undefined += [c for c in OUTCOMES if f"`{c}`" not in section]
    assert undefined == []
