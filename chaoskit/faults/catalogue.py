"""The one catalogue of faults: what ``chaoskit faults`` lists and what experiment files may name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaoskit.errors import ChaoskitError
from chaoskit.model.params import FaultSignature

from .base import Fault, TargetRef
from .container import ContainerDisconnect, ContainerKill, ContainerPause, ContainerRestart, ContainerStop
from .disk import DiskFill
from .network import NETWORK_FAULTS, NetworkDown
from .pod import PodDelete
from .process import ProcessCpuHog, ProcessKill, ProcessMemoryHog

__all__ = ["CATALOGUE", "build", "from_record", "signatures"]

CATALOGUE: dict[str, type[Fault]] = {
    cls.kind: cls
    for cls in (ContainerKill, ContainerStop, ContainerRestart, ContainerPause, ContainerDisconnect,
                ProcessKill, ProcessCpuHog, ProcessMemoryHog, DiskFill, *NETWORK_FAULTS, NetworkDown, PodDelete)
}


def signatures() -> dict[str, FaultSignature]:
    """What the experiment loader validates steps against."""
    return {kind: cls.signature for kind, cls in CATALOGUE.items()}


def build(kind: str, params: Mapping[str, Any], target: TargetRef | None = None) -> Fault:
    """A fault of ``kind``; ``params`` as the loader parsed them, or plain values parsed here."""
    try:
        cls = CATALOGUE[kind]
    except KeyError:
        raise ChaoskitError(f"unknown fault type {kind!r}; `chaoskit faults` lists them") from None
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
