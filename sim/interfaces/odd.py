"""docs/ODD.md's parameter tables, written from what the code declares so that they cannot drift
from it: every field of every configuration section with its default, unit, range, source and
meaning (`param` and `doc`, in sim/config.py and in the designs' modules of sim/core/designs/), and
the calibrated parameters' priors (sim.analysis.calibration), posterior summary
(configs/calibration/posterior.json) and defaults.

    python -m sim.interfaces.odd    rewrites every table between its markers in docs/ODD.md

A marker names the configuration classes whose fields its table lists, or `calibrated`:
`<!-- python -m sim.interfaces.odd writes this table: KickoffConfig -->`, the table, `<!-- end of
table -->`. The `NetworkConfig` table lists every registered design's parameters, each with its
design, so a new design's parameters are documented by running this again.
"""

from __future__ import annotations

import json
import re
from dataclasses import Field, fields

from sim import config
from sim.analysis.calibration import PRIORS
from sim.analysis.sensitivity import SensitivityConfig
from sim.config import ROOT, InstitutionType, TopicSpec, Validated, is_integer, representative
from sim.core.designs.base import DESIGNS
from sim.core.scenario import NetworkConfig, ScenarioConfig

ODD = ROOT / "docs/ODD.md"
POSTERIOR = ROOT / "configs/calibration/posterior.json"
MARKER = re.compile(
    r"(?P<start><!-- python -m sim\.interfaces\.odd writes this table: "
    r"(?P<names>\w+(?: \w+)*) -->\n)"
    r".*?(?=<!-- end of table -->)",
    re.DOTALL,
)
PREFIXES = {  # specs keyed by name have no section of their own
    InstitutionType: "population.types.<type>",
    TopicSpec: "population.types.<type>.topics.<topic>",
}
FIELDS_HEADER = ["key", "default", "unit", "range", "source / assumption", "meaning"]
CALIBRATED_HEADER = [
    "key",
    "prior",
    "why this range",
    "posterior median",
    "posterior 90%",
    "default (representative set)",
]


def sections() -> list[type[Validated]]:
    """Every configuration class: each needs a table (the designs' parameters are in
    NetworkConfig's)."""
    classes = [c for c in vars(config).values() if isinstance(c, type)]
    own = [c for c in classes if issubclass(c, Validated) and c is not Validated]
    return [*own, NetworkConfig, SensitivityConfig, ScenarioConfig]


def declared_by() -> dict[str, str]:
    """The dotted key of every design's parameter -> the designs that declare it."""
    designs: dict[str, list[str]] = {}
    for design in DESIGNS.values():
        if design.parameters is not None:
            for f in fields(design.parameters):
                designs.setdefault(f"network.{f.name}", []).append(f"`{design.name}`")
    return {key: ", ".join(names) for key, names in designs.items()}


def line(cells: list[str]) -> str:
    return f"| {' | '.join(cells)} |\n"


def table(header: list[str], rows: list[list[str]]) -> str:
    return line(header) + "|---" * len(header) + "|\n" + "".join(line(r) for r in rows)


def number(value: float) -> str:
    """A range bound as a reader writes it: 1e7, not 10000000.0."""
    return str(value) if is_integer(value) else f"{value:g}".replace("e+0", "e").replace("e+", "e")


def shown(f: Field) -> str:
    """A field's default as the table gives it."""
    if f.metadata.get("shown"):
        return f.metadata["shown"]
    value = f.default_factory() if callable(f.default_factory) else f.default
    if isinstance(value, bool):
        return str(value).lower()
    return str(value) if value != "" else "''"


def row(cls: type[Validated], f: Field) -> list[str] | None:
    """A field's table row, None for a section of the scenario (it has a table of its own)."""
    prefix = PREFIXES.get(cls, cls.section)
    key = f"{prefix}.{f.name}" if prefix else f.name
    md = f.metadata
    if "range" in md:
        low, high = md["range"]
        cells = [md["unit"], f"[{number(low)}, {number(high)}]"]
    elif "form" in md:
        cells = [md["form"] or "-", md["allowed"]]
    elif f.default_factory in sections():
        return None
    else:
        raise ValueError(
            f"{key} is undocumented: declare it with param(...) or with doc(...) metadata"
        )
    designs = declared_by().get(key)
    meaning = f"{designs}: {md['meaning']}" if designs else md["meaning"]
    return [f"`{key}`", shown(f), *cells, md["source"] or "-", meaning]


def fields_table(classes: list[type[Validated]]) -> str:
    rows = [row(cls, f) for cls in classes for f in fields(cls)]
    return table(FIELDS_HEADER, [r for r in rows if r is not None])


def calibrated_table() -> str:
    """Each calibrated parameter's prior, posterior median and central 90%, and its default."""
    summary = json.loads(POSTERIOR.read_text(encoding="utf-8"))["summary"]
    rows = []
    for p in PRIORS:
        q = summary[p.key]
        interval = f"[{q['0.05']:.3g}, {q['0.95']:.3g}]"
        default = representative()[p.key]
        rows.append([f"`{p.key}`", p.label(), p.reason, f"{q['0.5']:.3g}", interval, str(default)])
    return table(CALIBRATED_HEADER, rows)


def written(names: str) -> str:
    if names == "calibrated":
        return calibrated_table()
    classes = {c.__name__: c for c in sections()}
    return fields_table([classes[name] for name in names.split()])


def rewritten(text: str) -> str:
    """`text` (docs/ODD.md) with every marked table written anew; every configuration class
    must have a table."""
    tabled = {name for m in MARKER.finditer(text) for name in m["names"].split()}
    missing = [c.__name__ for c in sections() if c.__name__ not in tabled]
    if missing:
        raise ValueError(f"docs/ODD.md has no parameter table of {missing}: add its markers")
    return MARKER.sub(lambda m: f"{m['start']}\n{written(m['names'])}\n", text)


def main() -> None:
    ODD.write_text(rewritten(ODD.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"{ODD.relative_to(ROOT)}: parameter tables written from their declarations")


if __name__ == "__main__":
    main()
