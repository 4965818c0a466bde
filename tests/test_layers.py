"""sim/ is layered (sim/__init__.py): a module imports from its own layer and the layers below,
never above, so that each layer can be read, tested and reused without those above it."""

import ast
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parent.parent / "sim"
# rank of each layer; data and results share a rank but neither imports the other
LAYERS = {"config": 0, "data": 1, "results": 1, "core": 2, "analysis": 3, "interfaces": 4}
FACADE = {"__init__", "__main__"}  # the package's public face: may import any layer


def layer(path: Path) -> str:
    """A module's layer: its top-level package under sim/, or its own name (sim/config.py)."""
    return path.relative_to(SIM).parts[0].removesuffix(".py")


def sim_imports(path: Path) -> set[str]:
    """The layers a module imports from (type-checking imports included: they are dependencies)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = [a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names]
    names += [
        node.module if node.module != "sim" else f"sim.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
        for alias in node.names
    ]
    return {name.split(".")[1] for name in names if name.startswith("sim.")}


MODULES = sorted(p for p in SIM.rglob("*.py") if layer(p) not in FACADE)


def test_every_module_is_in_a_layer() -> None:
    """A new top-level module or package is placed in a layer on purpose."""
    assert {layer(p) for p in MODULES} == set(LAYERS)


def upward(own: str, imported: set[str]) -> set[str]:
    """The imported layers that are not below `own` (nor `own` itself)."""
    return {o for o in imported if o != own and (o not in LAYERS or LAYERS[o] >= LAYERS[own])}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SIM)))
def test_imports_run_downwards(path: Path) -> None:
    wrong = upward(layer(path), sim_imports(path))
    assert not wrong, f"{path.relative_to(SIM)} ({layer(path)}) imports from {sorted(wrong)}"


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The rule itself: an interface imported by the core, or results by data, is caught; the
    layers below are not."""
    source = tmp_path / "example.py"
    source.write_text(
        "from sim.interfaces.cli import main\nfrom sim import config\nimport sim.data\n"
    )
    assert sim_imports(source) == {"interfaces", "config", "data"}
    assert upward("core", sim_imports(source)) == {"interfaces"}
    assert upward("data", {"results", "config"}) == {"results"}
