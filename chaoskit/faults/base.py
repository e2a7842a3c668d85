"""The contract every fault honours.

A fault is built from its parameters (parsed once, against its signature,
into :class:`~chaoskit.model.params.Params`) and one concrete target,
captures in :meth:`Fault.prepare` whatever it will need to undo itself, and is
then *recorded* (its :meth:`Fault.record`, fsync'd to the ledger) before
:meth:`Fault.apply` touches anything. :meth:`Fault.revert` must work from the
record alone, in another process after a crash, and both apply and revert are
idempotent: doing either twice is the same as doing it once.

Faults reach their target only through ``backends.targets`` (a
:class:`~chaoskit.adapters.target_backend.TargetBackend`), Toxiproxy through
``backends.toxiproxy``, and the host (faults without a target) through
:mod:`chaoskit.adapters.host`.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from chaoskit.adapters.backends import Backends
from chaoskit.model.params import FaultSignature, Params
from chaoskit.targets.container import TargetRef

__all__ = ["Fault", "TargetRef"]


@dataclass
class Fault(ABC):
    kind: ClassVar[str]
    signature: ClassVar[FaultSignature]

    params: Params
    target: TargetRef | None = None
    # Facts captured by prepare() that revert() needs (network aliases, file locations).
    state: dict[str, Any] = field(default_factory=dict)
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    @property
    def target_label(self) -> str:
        return self.target.name if self.target else "host"

    def _target(self) -> TargetRef:
        assert self.target is not None, f"{self.kind} always has a target"
        return self.target

    @abstractmethod
    def describe(self) -> str:
        """One line for logs and journals: what this instance does to what."""

    def prepare(self, backends: Backends) -> None:
        """Read what revert will need; called before the record is written. Touches nothing."""

    @abstractmethod
    def apply(self, backends: Backends) -> None: ...

    @abstractmethod
    def revert(self, backends: Backends) -> None: ...

    def record(self) -> dict[str, Any]:
        """Everything needed to rebuild this instance and revert it in another process."""
        return {"kind": self.kind, "params": self.params.plain(),
                "target": self.target.to_dict() if self.target else None,
                "state": _plain(self.state), "token": self.token}


def _plain(value: Any) -> Any:
    """JSON-ready copy: tuples become lists."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
