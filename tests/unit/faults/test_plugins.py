"""Fault plugins: discovery from entry points, refusals that cost only the broken plugin, and first-class use."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chaoskit.adapters.backends import Backends
from chaoskit.errors import ChaoskitError
from chaoskit.faults import catalogue as catalogue_module
from chaoskit.faults.base import Fault
from chaoskit.faults.catalogue import BUILTIN, BUILTINS, assemble, build, from_record, signatures
from chaoskit.faults.container import ContainerKill
from chaoskit.model import parse_experiment
from chaoskit.model.params import FaultSignature, ParamSpec
from chaoskit.plugins import FAULT_GROUP, discover
from chaoskit.targets.container import Container
from chaoskit.testing import FakeTargetBackend

ROOT = Path(__file__).resolve().parents[3]


class Touch(Fault):
    """A plugin's fault: runs ``touch`` in the target, ``rm`` on revert."""

    kind = "acme.touch"
    signature = FaultSignature(params=(ParamSpec("path", "str", required=True),), doc="touch a file")

    def describe(self) -> str:
        return f"touch {self.params['path']} in {self.target_label}"

    def apply(self, backends: Backends) -> None:
        backends.targets.exec(self._target(), ["touch", self.params["path"]])

    def revert(self, backends: Backends) -> None:
        backends.targets.exec(self._target(), ["rm", "-f", self.params["path"]])


class Unfinished(Fault):
    kind = "acme.unfinished"
    signature = FaultSignature()

    def describe(self) -> str:
        return "nothing"


@dataclass(frozen=True)
class Dist:
    name: str
    version: str = "1.0"


@dataclass(frozen=True)
class EntryPoint:
    """What discover() reads of an importlib.metadata.EntryPoint; load() returns ``loaded`` or raises it."""

    name: str
    loaded: Any
    dist: Dist = Dist("acme-chaos")
    value: str = "acme_chaos:Thing"

    def load(self) -> Any:
        if isinstance(self.loaded, BaseException):
            raise self.loaded
        return self.loaded


def faults_from(*entry_points: EntryPoint) -> catalogue_module.Catalogue:
    return assemble(discover(FAULT_GROUP, catalogue_module._fault_problem, BUILTINS, entry_points))


@pytest.fixture
def with_plugins(monkeypatch):
    """Make the process's catalogue the built-ins plus the given entry points."""

    def install(*entry_points: EntryPoint) -> catalogue_module.Catalogue:
        found = faults_from(*entry_points)
        monkeypatch.setattr(catalogue_module, "catalogue", lambda: found)
        return found

    return install


def test_a_plugin_fault_joins_the_builtins_with_its_origin():
    """An accepted plugin comes after the built-ins, its origin its distribution and version."""
    found = faults_from(EntryPoint("acme.touch", Touch))
    assert list(found.faults)[-1] == "acme.touch" and found.faults["acme.touch"] is Touch
    assert found.origins["acme.touch"] == "acme-chaos 1.0"
    assert found.origins["container.kill"] == BUILTIN and not found.problems


@pytest.mark.parametrize(("entry_point", "why"), [
    (EntryPoint("acme.broken", ModuleNotFoundError("No module named 'acme_chaos'")),
     "cannot be loaded: ModuleNotFoundError: No module named 'acme_chaos'"),
    (EntryPoint("acme.len", len), "acme.len names <built-in function len>, not a subclass of "
                                    "chaoskit.faults.base.Fault"),
    (EntryPoint("acme.unfinished", Unfinished), "Unfinished does not implement apply, revert"),
    (EntryPoint("acme.other", Touch), "Touch.kind is 'acme.touch': it must be the entry point's name"),
    (EntryPoint("container.kill", ContainerKill), "'container.kill' is a built-in name"),
    (EntryPoint("Acme Touch", Touch), "its name is not dotted lower-case words (like example.file_marker)"),
])
def test_a_broken_plugin_is_refused_in_one_line_and_the_builtins_stay(entry_point, why):
    """Each refusal is one line naming the distribution and the entry point; built-ins and good plugins stay."""
    found = faults_from(entry_point, EntryPoint("acme.touch", Touch, Dist("good")))
    (problem,) = found.problems
    assert problem == f"plugin acme-chaos 1.0 (entry point {entry_point.name} = acme_chaos:Thing) refused: {why}"
    assert "\n" not in problem
    assert {k: found.faults[k] for k in BUILTINS} == BUILTINS and found.faults["acme.touch"] is Touch


def test_two_plugins_claiming_one_kind_are_both_refused():
    """Nothing says which of two claimants is meant, so neither is used, and each problem names the other."""
    found = faults_from(EntryPoint("acme.touch", Touch, Dist("acme-chaos")),
                        EntryPoint("acme.touch", Touch, Dist("rival-chaos", "2.0"), "rival:Touch"))
    assert "acme.touch" not in found.faults
    assert [p.split(" refused: ")[1] for p in found.problems] == [
        "'acme.touch' is also claimed by rival-chaos 2.0 (rival:Touch)",
        "'acme.touch' is also claimed by acme-chaos 1.0 (acme_chaos:Thing)"]


def test_plugins_are_discovered_once_per_process(monkeypatch):
    """The catalogue reads the entry points on first use and keeps what it found."""
    calls = []
    monkeypatch.setattr(catalogue_module, "discover",
                        lambda *args, **kwargs: calls.append(args) or discover(*args, entry_points=()))
    catalogue_module.catalogue.cache_clear()
    try:
        assert catalogue_module.catalogue() is catalogue_module.catalogue()
        assert [args[0] for args in calls] == [FAULT_GROUP]
    finally:
        catalogue_module.catalogue.cache_clear()


def test_a_plugin_fault_is_validated_with_file_and_line(with_plugins):
    """The loader checks a plugin fault's parameters against its signature, naming the line."""
    with_plugins(EntryPoint("acme.touch", Touch))
    text = ("title: t\nsteady_state: {title: s, probes: [{name: up, type: container, target: {name: w}}]}\n"
            "method:\n  - fault: acme.touch\n    target: {name: w}\n    params: {pth: /x}\n")
    with pytest.raises(ChaoskitError) as caught:
        parse_experiment(text, fault_params=signatures())
    assert ":6: method[0].params.pth: unknown parameter for acme.touch" in str(caught.value)


def test_a_plugin_fault_is_rebuilt_from_its_record_and_reverted(with_plugins):
    """Built, applied and recorded, then rebuilt from the record in a fresh catalogue and reverted."""
    with_plugins(EntryPoint("acme.touch", Touch))
    backend = FakeTargetBackend([Container("c1", "web-1", state="running")])
    fault = build("acme.touch", {"path": "/tmp/x"}, backend.ref("web-1"))
    fault.apply(Backends(targets=backend))
    record = fault.record()
    with_plugins(EntryPoint("acme.touch", Touch))
    from_record(record).revert(Backends(targets=backend))
    assert [c[2] for c in backend.calls if c[0] == "exec"] == [("touch", "/tmp/x"), ("rm", "-f", "/tmp/x")]


def test_building_a_refused_plugins_kind_says_why(with_plugins):
    """A rollback of a fault whose plugin is now broken gets the plugin's problem, not just 'unknown'."""
    with_plugins(EntryPoint("acme.touch", ImportError("cannot import name 'Touch'")))
    with pytest.raises(ChaoskitError, match=r"unknown fault type 'acme.touch': plugin acme-chaos 1.0 .* refused: "
                                            r"cannot be loaded: ImportError"):
        from_record({"kind": "acme.touch", "params": {"path": "/x"}, "target": None, "token": "t"})
    with pytest.raises(ChaoskitError, match=r"lists them \(a plugin's fault needs its package installed\)"):
        build("acme.missing", {})


def imported_after(code: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in {modules!r} if m in sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_help_and_the_catalogue_import_do_not_discover_plugins():
    """--help and importing the catalogue read no entry points; the pytest plugin imports no fault plugin."""
    help_code = ("import chaoskit.faults.catalogue\nfrom chaoskit.cli import main\n"
                 "try:\n    main(['--help'])\nexcept SystemExit:\n    pass")
    assert imported_after(help_code, ("importlib.metadata", "chaoskit_example_plugin")) == []
    # pytest itself imports importlib.metadata, so only the plugin's own module is telling here.
    assert imported_after("import chaoskit.pytest_plugin", ("chaoskit_example_plugin",)) == []


def test_plugins_page_quotes_the_example_package_verbatim():
    """Every python, toml and yaml block of docs/plugins.md is a piece of the example package as it is."""
    import re

    package = ROOT / "examples" / "chaoskit-example-plugin"
    sources = "\n".join(
        "".join(line for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
                if not (path.suffix == ".yaml" and line.startswith("#")))
        for path in sorted(package.rglob("*")) if path.suffix in {".py", ".toml", ".yaml"})
    blocks = re.findall(r"```(?:python|toml|yaml)\n(.*?)```", (ROOT / "docs" / "plugins.md").read_text(), re.DOTALL)
    assert len(blocks) == 11
    for block in blocks:
        assert block in sources, block
