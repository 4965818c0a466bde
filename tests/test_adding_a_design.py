"""Clean layering: sim.config knows no design, designs declare their own parameters, and a new
design is one module in sim/core/designs/ plus its configs/network/<name>.yaml (README, "Adding a
design"), documented by `python -m sim.interfaces.odd`."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest

from sim.config import ConfigError, Validated, param
from sim.core.designs.base import DESIGNS, DesignContext, NetworkDesign, Ties
from sim.core.scenario import NetworkConfig, network_schema

ROOT = Path(__file__).resolve().parent.parent

# A design with a parameter of its own, as a user would write it: the strongest `pool_size`
# members of the learner's type in the goal's topic, one drawn at random per goal.
POOL = '''
"""The strongest few teach: per goal a random one of the learner type's strongest members."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from sim.config import Validated, param
from sim.core.designs.base import DesignContext, NetworkDesign, Ties, register


@dataclass
class Pool(Validated):
    section: ClassVar[str] = "network"
    pool_size: int = param(3, 1, 1000, "members", "assumption", "strongest members who teach")


@register
class StrongestPool(NetworkDesign):
    name = "pool"
    parameters = Pool

    def build(self, ctx: DesignContext) -> Ties:
        learner, topic = ctx.kickoff.goal_cells()
        kind, observed = ctx.pop.kind, ctx.kickoff.observed
        mentor = np.empty_like(learner)
        for g, (i, k) in enumerate(zip(learner.tolist(), topic.tolist(), strict=True)):
            peers = np.flatnonzero(kind == kind[i])
            strongest = peers[np.argsort(-observed[peers, k], kind="stable")]
            mentor[g] = ctx.rng.choice(strongest[: ctx.network.pool_size])
        keep = mentor != learner
        return Ties.from_pairs(learner[keep], mentor[keep], topic[keep])
'''

# What the copy of the project runs: the new design from the command line's keys, its parameter
# checked like any other, and its parameter written into docs/ODD.md.
RUN = """
import sim
from sim.interfaces.hydra_config import compose_scenario

assert sim.__file__.startswith({root!r}), sim.__file__
config = compose_scenario(["network=pool", "network.pool_size=2", "replications=2"])
results = sim.run_scenario(config)
matched = results.ties[results.ties["status"] == "matched"]
assert (results.summary["design"] == "pool").all() and len(matched) > 0
assert (results.summary["mean_effect"] > 0).all()
try:
    compose_scenario(["network=pool", "network.pool_size=0"])
except sim.ConfigError as error:
    print(error)
"""


def imported(path: Path) -> set[str]:
    """The modules a source file imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    return names | {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module is not None
    }


def test_designs_import_nothing_above_them():
    """Designs see the population, kick-off and users' files, never the scenario or the model."""
    above = {
        "sim.core.scenario",
        "sim.core.model",
        "sim.core.budget",
        "sim.core.run",
        "sim.interfaces.hydra_config",
    }
    for module in (ROOT / "sim" / "core" / "designs").glob("*.py"):
        assert not imported(module) & above, module.name


def test_a_new_design_is_one_module_and_its_config_entry(tmp_path):
    """In a copy of the project, a module in sim/core/designs/ and its configs/network/ entry make a
    design that runs from the command line's keys, with its parameter validated and documented;
    no other file is edited."""
    for folder in ("sim", "configs"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("*.pyc"))
    (tmp_path / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "ODD.md", tmp_path / "docs")
    (tmp_path / "sim" / "core" / "designs" / "pool.py").write_text(POOL, encoding="utf-8")
    (tmp_path / "configs" / "network" / "pool.yaml").write_text("design: pool\n")
    run = textwrap.dedent(RUN).format(root=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", run], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "network.pool_size=0 is invalid: allowed an integer in [1, 1000]\n"
    odd = subprocess.run(
        [sys.executable, "-m", "sim.interfaces.odd"], cwd=tmp_path, capture_output=True, text=True
    )
    assert odd.returncode == 0, odd.stderr
    text = (tmp_path / "docs" / "ODD.md").read_text(encoding="utf-8")
    row = "| `network.pool_size` | 3 | members | [1, 1000] | assumption | `pool`: strongest"
    assert row in text
    assert "`none`, `pairwise`, `pool`, `random`" in text  # among network.design's values


@dataclass
class Reach(Validated):
    section: ClassVar[str] = "network"
    reach: int = param(2, 1, 10, "members", "test", "how far a member looks")


class Late(NetworkDesign):
    """A design registered after the network section was assembled (not in sim/core/designs/)."""

    name = "late"
    parameters = Reach

    def build(self, ctx: DesignContext) -> Ties:
        return Ties.from_pairs([], [], [])


def test_a_design_registered_after_the_section_was_assembled_is_refused(monkeypatch):
    monkeypatch.setitem(DESIGNS, Late.name, Late)
    with pytest.raises(ConfigError, match=r"^network\.design='late' is invalid: its parameters"):
        NetworkConfig(design="late")


def test_the_section_assembled_with_it_has_its_parameter(monkeypatch):
    """What sim.core.scenario does with the designs of sim/core/designs/, done with one more."""
    monkeypatch.setitem(DESIGNS, Late.name, Late)
    section = network_schema(list(DESIGNS.values()))
    assert section(design="late", reach=3).reach == 3
    with pytest.raises(ConfigError, match=r"^network\.reach=11 is invalid: allowed an integer"):
        section(design="late", reach=11)
    assert "`late`" in section.__dataclass_fields__["design"].metadata["allowed"]


def test_two_designs_may_not_declare_one_key():
    @dataclass
    class Again(Validated):
        section: ClassVar[str] = "network"
        n_experts: int = param(1, 1, 2, "experts", "test", "a second declaration")

    class Twice(NetworkDesign):
        name = "twice"
        parameters = Again

    with pytest.raises(
        TypeError, match=r"network\.n_experts is declared by OutsideExperts and Again"
    ):
        network_schema([*DESIGNS.values(), Twice])


def test_designs_sharing_their_parameters_declare_them_once():
    class Variant(NetworkDesign):
        name = "variant"
        parameters = DESIGNS["external_expert"].parameters

    shared = network_schema([*DESIGNS.values(), Variant])
    assert list(shared.__dataclass_fields__) == list(NetworkConfig.__dataclass_fields__)
