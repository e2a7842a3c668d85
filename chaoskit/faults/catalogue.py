"""The one catalogue of faults: what ``chaoskit faults`` lists and what experiment files may name.

It holds chaoskit's built-in faults (:data:`BUILTINS`) and the faults other
distributions register under the ``chaoskit.faults`` entry-point group
(:mod:`chaoskit.plugins`; docs/plugins.md shows how to write one). Plugins are
discovered the first time the catalogue is needed, not at import, so
``chaoskit --help`` and the pytest plugin never pay for them; a plugin that
cannot be used is left out with a one-line ``plugin.refused`` warning, and the
rest of the catalogue works. Everything that looks a fault up goes through
:func:`catalogue` (validation, ``build``, ``from_record``), so a plugin's fault
is validated, recorded, planned and rolled back like a built-in one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from chaoskit.errors import ChaoskitError
from chaoskit.log import get_logger
from chaoskit.model.params import FaultSignature
from chaoskit.plugins import FAULT_GROUP, Discovery, discover, subclass_check

from .base import Fault, TargetRef
from .container import ContainerDisconnect, ContainerKill, ContainerPause, ContainerRestart, ContainerStop
from .disk import DiskFill
from .network import NETWORK_FAULTS, NetworkDown
from .pod import PodDelete
from .process import ProcessCpuHog, ProcessKill, ProcessMemoryHog

__all__ = ["BUILTIN", "BUILTINS", "Catalogue", "assemble", "build", "catalogue", "from_record", "signatures"]

log = get_logger("chaoskit.faults")

BUILTINS: dict[str, type[Fault]] = {
    cls.kind: cls
    for cls in (ContainerKill, ContainerStop, ContainerRestart, ContainerPause, ContainerDisconnect,
                ProcessKill, ProcessCpuHog, ProcessMemoryHog, DiskFill, *NETWORK_FAULTS, NetworkDown, PodDelete)
}
# The origin of a built-in fault, where a plugin's names its distribution.
BUILTIN = "built-in"


@dataclass(frozen=True)
class Catalogue:
    """Every usable fault type, where each comes from, and why any plugin was refused."""

    faults: Mapping[str, type[Fault]]
    origins: Mapping[str, str]  # kind -> BUILTIN, or "distribution version"
    problems: tuple[str, ...] = ()


def assemble(plugins: Discovery) -> Catalogue:
    """The built-ins, then the plugins' faults in the order they were found."""
    faults = {**BUILTINS, **{kind: plugin.loaded for kind, plugin in plugins.plugins.items()}}
    origins = {**dict.fromkeys(BUILTINS, BUILTIN),
               **{kind: plugin.distribution for kind, plugin in plugins.plugins.items()}}
    return Catalogue(faults, origins, plugins.problems)


@cache
def catalogue() -> Catalogue:
    """The catalogue of this process: plugins discovered on the first call, then kept."""
    found = assemble(discover(FAULT_GROUP, _fault_problem, reserved=BUILTINS))
    for problem in found.problems:
        log.warning("plugin.refused", problem=problem)
    return found


# What keeps an entry point's object from being the fault it names, if anything.
_fault_problem = subclass_check(Fault, "kind", FaultSignature)


def signatures() -> dict[str, FaultSignature]:
    """What the experiment loader validates steps against."""
    return {kind: cls.signature for kind, cls in catalogue().faults.items()}


def build(kind: str, params: Mapping[str, Any], target: TargetRef | None = None) -> Fault:
    """A fault of ``kind``; ``params`` as the loader parsed them, or plain values parsed here."""
    found = catalogue()
    try:
        cls = found.faults[kind]
    except KeyError:
        refused = [p for p in found.problems if f"(entry point {kind} = " in p]
        hint = refused[0] if refused else "`chaoskit faults` lists them (a plugin's fault needs its package installed)"
        raise ChaoskitError(f"unknown fault type {kind!r}: {hint}") from None
    try:
        typed = cls.signature.parse(params)
    except ValueError as exc:
        raise ChaoskitError(f"{kind}: {exc}") from None
    return cls(params=typed, target=target)


def from_record(record: Mapping[str, Any]) -> Fault:
    """Rebuild a fault from its ledger record, in whatever process needs to revert it."""
    target = TargetRef.from_dict(record["target"]) if record.get("target") else None
    fault = build(record["kind"], record.get("params") or {}, target)
    fault.state = dict(record.get("state") or {})
    fault.token = record["token"]
    return fault
