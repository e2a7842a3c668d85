"""A target backend in memory, for tests of faults (and of anything that reaches targets through the seam)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from chaoskit.adapters.target_backend import FilesystemUsage, NetworkAttachment, ProcessMatch, TargetState
from chaoskit.errors import TargetNotFound
from chaoskit.targets.container import COMPOSE_PROJECT_LABEL, Container, TargetRef

__all__ = ["FakeProcess", "FakeTargetBackend"]


@dataclass
class FakeProcess:
    """One process inside a fake target."""

    name: str
    cmdline: str = ""
    # Signals received, in order; a process that got SIGKILL or SIGTERM is gone.
    signals: list[str] = field(default_factory=list)

    @property
    def alive(self) -> bool:
        return not {"SIGKILL", "SIGTERM"} & set(self.signals)


class FakeTargetBackend:
    """An in-memory :class:`~chaoskit.adapters.target_backend.TargetBackend` that records every call.

    Give it :class:`~chaoskit.targets.container.Container` descriptions; it
    keeps each one's state, networks and processes, and a fake filesystem per
    target (``disk_total``/``disk_free`` bytes) where files are sizes by
    location. ``calls`` lists what was asked, as ``(operation, target name,
    *arguments)``, reads included, so tests can assert what a fault did and in
    which order. Use it as ``Backends(targets=FakeTargetBackend(...))``::

        backend = FakeTargetBackend([Container("c1", "api-1")])
        fault = build("container.kill", {}, backend.ref("api-1"))
        fault.apply(Backends(targets=backend))
        assert backend.state_of("api-1") == "stopped"
    """

    kind = "fake"

    def __init__(self, containers: Iterable[Container] = (), disk_total: int = 1 << 30, disk_free: int = 1 << 29):
        self.containers = {c.id: c for c in containers}
        self.states: dict[str, TargetState] = {
            c.id: "paused" if c.state == "paused" else "running" if c.state == "running" else "stopped"
            for c in self.containers.values()}
        self.attached: dict[str, dict[str, tuple[str, ...]]] = {
            c.id: {n: (c.compose_service,) if c.compose_service else () for n in c.networks}
            for c in self.containers.values()}
        self.processes: dict[str, list[FakeProcess]] = {c.id: [] for c in self.containers.values()}
        self.disk_total = disk_total
        self.disk_free = disk_free
        self.files: dict[str, int] = {}
        self.calls: list[tuple[object, ...]] = []

    # -- for tests -------------------------------------------------------------------
    def ref(self, name: str) -> TargetRef:
        return self._by_name(name).ref()

    def state_of(self, name: str) -> TargetState:
        return self.states[self._by_name(name).id]

    def add_process(self, name: str, process: FakeProcess) -> None:
        self.processes[self._by_name(name).id].append(process)

    def operations(self) -> list[object]:
        """The operation names called, in order (``calls`` without targets and arguments)."""
        return [call[0] for call in self.calls]

    def _by_name(self, name: str) -> Container:
        for container in self.containers.values():
            if container.name == name:
                return container
        raise KeyError(name)

    def _known(self, op: str, target: TargetRef, *args: object) -> str:
        self.calls.append((op, target.name, *args))
        if target.id not in self.containers:
            raise TargetNotFound(f"{op} {target.name}: no such target")
        return target.id

    def _set(self, target_id: str, state: TargetState) -> None:
        self.states[target_id] = state
        docker_state = {"running": "running", "paused": "paused", "stopped": "exited"}[state]
        self.containers[target_id] = replace(self.containers[target_id], state=docker_state)

    # -- the TargetBackend protocol ------------------------------------------------------
    def list_targets(self, project: str | None = None,
                     labels: Mapping[str, str | None] | None = None) -> list[Container]:
        self.calls.append(("list_targets", project))
        wanted = {**(labels or {}), **({COMPOSE_PROJECT_LABEL: project} if project else {})}
        return [c for c in self.containers.values()
                if all(k in c.labels and (v is None or c.labels[k] == v) for k, v in wanted.items())]

    def state(self, target: TargetRef) -> TargetState:
        return self.states[self._known("state", target)]

    def kill(self, target: TargetRef, signal: str) -> None:
        self._set(self._known("kill", target, signal), "stopped")

    def stop(self, target: TargetRef, timeout_s: float) -> None:
        self._set(self._known("stop", target, timeout_s), "stopped")

    def start(self, target: TargetRef) -> None:
        self._set(self._known("start", target), "running")

    def restart(self, target: TargetRef, timeout_s: float) -> None:
        self._set(self._known("restart", target, timeout_s), "running")

    def pause(self, target: TargetRef) -> None:
        self._set(self._known("pause", target), "paused")

    def unpause(self, target: TargetRef) -> None:
        self._set(self._known("unpause", target), "running")

    def networks(self, target: TargetRef) -> dict[str, tuple[str, ...]]:
        return dict(self.attached[self._known("networks", target)])

    def disconnect(self, target: TargetRef, network: str) -> None:
        self.attached[self._known("disconnect", target, network)].pop(network, None)

    def connect(self, target: TargetRef, network: str, aliases: Sequence[str] = ()) -> None:
        self.attached[self._known("connect", target, network, tuple(aliases))][network] = tuple(aliases)

    def attachment(self, target: TargetRef, network: str) -> NetworkAttachment:
        attached = self.attached[self._known("attachment", target, network)]
        if network not in attached:
            raise TargetNotFound(f"{target.name} is not on network {network!r}")
        return NetworkAttachment(aliases=attached[network])

    def reattach(self, target: TargetRef, network: str, attachment: NetworkAttachment) -> None:
        self.attached[self._known("reattach", target, network, attachment)][network] = attachment.aliases

    def exec(self, target: TargetRef, argv: Sequence[str], detach: bool = False,
             timeout_s: float | None = None) -> tuple[int | None, str]:
        target_id = self._known("exec", target, tuple(argv), detach)
        self.processes[target_id].append(FakeProcess(argv[0], " ".join(argv)))
        return (None, "") if detach else (0, "")

    def _matching(self, target_id: str, match: ProcessMatch) -> list[FakeProcess]:
        if self.states[target_id] == "stopped":
            return []
        return [p for p in self.processes[target_id] if p.alive
                and (match.name is None or p.name == match.name)
                and (match.cmdline_contains is None or match.cmdline_contains in p.cmdline)]

    def count_processes(self, target: TargetRef, match: ProcessMatch) -> int:
        return len(self._matching(self._known("count_processes", target, match), match))

    def signal_processes(self, target: TargetRef, match: ProcessMatch, signal: str) -> int:
        matching = self._matching(self._known("signal_processes", target, match, signal), match)
        for process in matching:
            process.signals.append(signal)
        return len(matching)

    def file_location(self, target: TargetRef, directory: str, name: str) -> str:
        return f"{self._known('file_location', target, directory, name)}:{directory.rstrip('/')}/{name}"

    def filesystem_usage(self, location: str) -> FilesystemUsage:
        self.calls.append(("filesystem_usage", location))
        return FilesystemUsage(self.disk_total, self.disk_free - sum(self.files.values()))

    def fill_file(self, location: str, size: int) -> None:
        self.calls.append(("fill_file", location, size))
        if location not in self.files:
            self.files[location] = min(size, self.disk_free - sum(self.files.values()))

    def remove_file(self, location: str) -> None:
        self.calls.append(("remove_file", location))
        self.files.pop(location, None)
