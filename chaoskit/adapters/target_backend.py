"""The seam between faults (and selection) and the platform that runs the targets.

Faults and selection speak to a :class:`TargetBackend`, never to an
orchestrator's client: the Docker engine is one implementation
(:class:`chaoskit.adapters.docker_backend.DockerBackend`), an in-memory fake
another (:class:`chaoskit.testing.FakeTargetBackend`), and a Kubernetes backend
can be a third without touching the faults or their callers.

Every operation names its target by a :class:`TargetRef` (what the ledger
records), so a revert in another process after a crash needs nothing else.
Work that happens *on the target's machine* (signalling processes, filling a
filesystem) is asked for by what it should match, never by host PIDs or host
paths chosen by the caller: on Docker the host does it, on Kubernetes a node
agent would. Failures are chaoskit's errors (``TargetNotFound``,
``BackendError``, ``EngineUnavailable``); an operation a backend cannot do
raises ``BackendError`` saying so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from chaoskit.targets.container import Container, TargetRef

__all__ = ["FilesystemUsage", "NetworkAttachment", "PodBackend", "ProcessMatch", "TargetBackend", "TargetScan",
           "TargetState"]

# running: its processes run; paused: frozen (cgroup freezer); stopped: not running (exited, created, dead).
TargetState = Literal["running", "paused", "stopped"]


@dataclass(frozen=True)
class ProcessMatch:
    """Which processes of a target: by exact name (as ``ps`` shows it), by a marker in the command line, or both.

    ``descendants``: their child processes too (a shell's workers). chaoskit's
    own process never matches.
    """

    name: str | None = None
    cmdline_contains: str | None = None
    descendants: bool = False

    def __post_init__(self) -> None:
        if self.name is None and self.cmdline_contains is None:
            raise ValueError("a ProcessMatch needs a name or a command-line marker")


@dataclass(frozen=True)
class FilesystemUsage:
    total_bytes: int
    free_bytes: int

    @property
    def used_fraction(self) -> float:
        return 1 - self.free_bytes / self.total_bytes if self.total_bytes else 0.0


@dataclass(frozen=True)
class NetworkAttachment:
    """How a target is attached to one network: what a reconnect must give back.

    The addresses are the *configured* ones (a compose ``ipv4_address``); an
    address the network handed out by itself is only ``address``, noted to say
    whether the reconnect got it back (the network may hand out another).
    """

    aliases: tuple[str, ...] = ()
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    link_local_ips: tuple[str, ...] = ()
    # Legacy links on this network, "container:alias" each.
    links: tuple[str, ...] = ()
    address: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NetworkAttachment:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
                      if k in cls.__dataclass_fields__})


@runtime_checkable
class TargetBackend(Protocol):
    """What faults and selection need from the platform that runs their targets."""

    # Which backend this is ("docker"), for messages and records.
    kind: str

    def list_targets(self, project: str | None = None,
                     labels: Mapping[str, str | None] | None = None) -> list[Container]:
        """Every target (stopped ones included) of ``project`` (a compose project) carrying ``labels``.

        A label given as None only has to be present.
        """
        ...

    def state(self, target: TargetRef) -> TargetState: ...

    # -- the target's lifecycle ------------------------------------------------------
    def kill(self, target: TargetRef, signal: str) -> None:
        """Send ``signal`` (``SIGKILL``) to the target's main process."""
        ...

    def stop(self, target: TargetRef, timeout_s: float) -> None:
        """SIGTERM, then SIGKILL after ``timeout_s``."""
        ...

    def start(self, target: TargetRef) -> None: ...

    def restart(self, target: TargetRef, timeout_s: float) -> None: ...

    def pause(self, target: TargetRef) -> None: ...

    def unpause(self, target: TargetRef) -> None: ...

    # -- networks ---------------------------------------------------------------------
    def networks(self, target: TargetRef) -> dict[str, tuple[str, ...]]:
        """The networks the target is on, each with the aliases peers find it by."""
        ...

    def disconnect(self, target: TargetRef, network: str) -> None: ...

    def connect(self, target: TargetRef, network: str, aliases: Sequence[str] = ()) -> None: ...

    def attachment(self, target: TargetRef, network: str) -> NetworkAttachment:
        """How the target is attached to ``network`` now (``TargetNotFound`` when it is not on it)."""
        ...

    def reattach(self, target: TargetRef, network: str, attachment: NetworkAttachment) -> None:
        """Connect the target to ``network`` as ``attachment`` says (aliases, configured addresses, links)."""
        ...

    # -- inside the target --------------------------------------------------------------
    def exec(self, target: TargetRef, argv: Sequence[str], detach: bool = False,
             timeout_s: float | None = None) -> tuple[int | None, str]:
        """Run ``argv`` in the target: (exit code, combined output), or (None, "") when detached.

        ``timeout_s``: a command still running then is killed, with whatever it started, and
        ``CommandTimedOut`` raised; None waits for as long as it takes.
        """
        ...

    def count_processes(self, target: TargetRef, match: ProcessMatch) -> int:
        """How many processes of the target match (0 when it does not run)."""
        ...

    def signal_processes(self, target: TargetRef, match: ProcessMatch, signal: str) -> int:
        """Send ``signal`` to every matching process of the target; how many received it."""
        ...

    # -- the target's files -------------------------------------------------------------
    def file_location(self, target: TargetRef, directory: str, name: str) -> str:
        """Where file ``name`` in ``directory`` (a path inside the target) lives, as this backend reaches it.

        Recorded before a fault writes there, so :meth:`remove_file` works
        from the record alone, even once the target has stopped.
        """
        ...

    def filesystem_usage(self, location: str) -> FilesystemUsage:
        """Size and free space of the filesystem holding ``location``'s directory."""
        ...

    def fill_file(self, location: str, size: int) -> None:
        """Create the file holding ``size`` bytes of real blocks; one already there is left as it is, and a
        filesystem that fills up first is no error."""
        ...

    def remove_file(self, location: str) -> None:
        """Remove the file; one already gone is fine."""
        ...


@runtime_checkable
class PodBackend(Protocol):
    """What a backend whose targets are pods adds (Kubernetes): deleting one, and its owner's replicas."""

    def delete_pod(self, target: TargetRef, grace_s: int | None) -> None:
        """Delete the target's pod (``grace_s`` None: its own grace period); one already gone is fine."""
        ...

    def ready_siblings(self, target: TargetRef) -> list[str]:
        """Names of the Ready pods of the target's owner, the target excluded ([] for a pod without owner)."""
        ...


@runtime_checkable
class TargetScan(Protocol):
    """A cheaper listing than :meth:`TargetBackend.list_targets`, for a scan every second (the monkey's tick).

    Same arguments and targets, with what one list call gives (state and health, no per-target inspect).
    """

    def scan_targets(self, project: str | None = None,
                     labels: Mapping[str, str | None] | None = None) -> list[Container]: ...
