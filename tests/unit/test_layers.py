"""The package's layers, checked from the source: imports go only downward, only adapters touch the world.

One table for the whole package (docs/architecture.md draws the same one).
Every import counts, including those inside functions: a lazy import is still
a dependency, only a cheaper one.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import types
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "chaoskit"

# Lower numbers are lower layers; a module may import its own package and anything in a lower layer.
LAYERS = {
    "__init__": 0, "errors": 0, "log": 0, "verdict": 0, "plugins": 0,
    "model": 1, "targets": 1, "adapters": 1,
    "measure": 2, "faults": 2, "journal": 2,
    "report": 3,
    "run": 4,
    "schedule": 5,
    "cli": 6, "pytest_plugin": 6, "testing": 6, "__main__": 6, "agent": 6,
}
# Within layer 1, the pure parts never reach for the world's side.
FORBIDDEN_SAME_LAYER = {("model", "adapters"), ("targets", "adapters")}
# Libraries that touch the world (HTTP clients included): only adapters/ may import them.
WORLD_LIBRARIES = ("docker", "requests", "urllib3", "urllib.request", "http.client", "psutil", "toxiproxy",
                   "kubernetes", "aiohttp", "httpx")
# Modules that must load without the world or the run loop: pure logic, and renderers that read only journals.
PURE_MODULES = ("chaoskit.model", "chaoskit.model.schema", "chaoskit.targets", "chaoskit.verdict",
                "chaoskit.measure.stats", "chaoskit.measure.intervals", "chaoskit.measure.judge", "chaoskit.journal",
                "chaoskit.schedule.monkey_policy", "chaoskit.schedule.monkey_config", "chaoskit.schedule.monkey_verdict",
                "chaoskit.report.html_report", "chaoskit.report.junit", "chaoskit.report.markdown",
                "chaoskit.cli.report")


def _world(module: str) -> bool:
    return any(module == lib or module.startswith(lib + ".") for lib in WORLD_LIBRARIES)


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        dotted = ".".join(p for p in parts if p != "__init__")
        out.append((f"chaoskit.{dotted}" if dotted else "chaoskit", path))
    return out


def _imports(name: str, path: Path, top_level_only: bool = False) -> set[str]:
    """Every module ``name`` imports, absolute; inside functions too unless ``top_level_only``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _top(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "chaoskit":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


MODULES = _modules()


@pytest.mark.parametrize(("name", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_imports_go_only_downward(name: str, path: Path) -> None:
    """A module imports only its own package and lower layers (lazy imports included)."""
    own = _top(name)
    assert own in LAYERS, f"{name}: no layer assigned in tests/unit/test_layers.py"
    wrong = []
    for imported in _imports(name, path):
        other = _top(imported)
        if other is None or other == own or other not in LAYERS:
            continue
        if LAYERS[other] > LAYERS[own] or (own, other) in FORBIDDEN_SAME_LAYER:
            wrong.append(imported)
    assert not wrong, f"{name} (layer {LAYERS[own]}) imports upward: {sorted(wrong)}"


@pytest.mark.parametrize(("name", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_only_adapters_touch_the_world(name: str, path: Path) -> None:
    """docker, requests, psutil, toxiproxy, kubernetes... are imported only under chaoskit/adapters/."""
    if _top(name) in ("adapters", "agent"):
        return
    world = sorted(m for m in _imports(name, path) if _world(m))
    assert not world, f"{name} imports {world}: route it through chaoskit/adapters/"


def test_no_import_circle_at_import_time() -> None:
    """The module-level import graph has no cycle (lazy imports inside functions cannot form one)."""
    names = {m for m, _ in MODULES}
    graph = {name: _imports(name, path, top_level_only=True) & names for name, path in MODULES}
    seen: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        seen[node] = 1
        for nxt in graph.get(node, ()):
            if nxt == node or nxt.startswith(node + "."):
                continue  # a package importing its own submodules
            if seen.get(nxt) == 1:
                raise AssertionError("import circle: " + " -> ".join(stack[stack.index(nxt):] + [nxt]))
            if nxt not in seen:
                visit(nxt, stack + [nxt])
        seen[node] = 2

    for name in sorted(graph):
        if name not in seen:
            visit(name, [name])


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_modules_load_no_world_library(module: str) -> None:
    """Importing pure logic or a renderer loads no world library, no adapter and not the run loop."""
    code = (f"import sys, {module};"
            f"world = {WORLD_LIBRARIES!r};"
            "bad = sorted(m for m in sys.modules if any(m == w or m.startswith(w + '.') for w in world)"
            " or m.startswith(('chaoskit.adapters', 'chaoskit.run.')));"
            "print(','.join(bad)); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


PUBLIC_PACKAGES = ["chaoskit.model", "chaoskit.targets", "chaoskit.measure", "chaoskit.journal", "chaoskit.testing",
                   "chaoskit.errors", "chaoskit.verdict"]


@pytest.mark.parametrize("name", PUBLIC_PACKAGES)
def test_public_names_match_all(name: str) -> None:
    """Each public module's __all__ lists exactly the names it defines or re-exports for users."""
    module = importlib.import_module(name)
    def ours(value: object) -> bool:  # classes and functions imported from libraries are not re-exports
        if isinstance(value, (type, types.FunctionType)):
            return value.__module__.startswith("chaoskit")
        return not isinstance(value, types.ModuleType)

    public = {n for n, v in vars(module).items() if not n.startswith("_") and n != "annotations" and ours(v)}
    assert public == set(module.__all__), (sorted(public - set(module.__all__)), sorted(set(module.__all__) - public))
