"""The Docker engine as a :class:`~chaoskit.adapters.target_backend.TargetBackend`.

Lifecycle and networks go through the engine's API; processes and files
through the host (:mod:`chaoskit.adapters.host`), since a local engine's
containers are host processes whose files the host can reach, running or not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from chaoskit.adapters import host
from chaoskit.adapters.docker_engine import DockerEngine
from chaoskit.adapters.target_backend import NetworkAttachment, ProcessMatch, TargetState
from chaoskit.errors import TargetNotFound
from chaoskit.targets.container import COMPOSE_PROJECT_LABEL, Container, TargetRef

__all__ = ["DockerBackend"]


class DockerBackend(host.HostFiles):
    """Targets are the containers of one Docker engine; the constructor does no I/O.

    File locations are host paths, so the file operations are the host's.
    """

    kind = "docker"

    def __init__(self, engine: DockerEngine):
        self.engine = engine

    def list_targets(self, project: str | None = None,
                     labels: Mapping[str, str | None] | None = None) -> list[Container]:
        wanted = {**(labels or {}), **({COMPOSE_PROJECT_LABEL: project} if project else {})}
        return [Container.from_inspect(attrs) for attrs in self.engine.list_containers(wanted or None)]

    def scan_targets(self, project: str | None = None,
                     labels: Mapping[str, str | None] | None = None) -> list[Container]:
        """``docker ps`` rows: one API call, no inspect per container."""
        wanted = {**(labels or {}), **({COMPOSE_PROJECT_LABEL: project} if project else {})}
        return [Container.from_summary(s) for s in self.engine.list_summaries(wanted or None)]

    def state(self, target: TargetRef) -> TargetState:
        state = self.engine.inspect(target.id)["State"]
        # A paused container is Running too, as far as the engine says.
        return "paused" if state.get("Paused") else "running" if state.get("Running") else "stopped"

    def kill(self, target: TargetRef, signal: str) -> None:
        self.engine.kill(target.id, signal)

    def stop(self, target: TargetRef, timeout_s: float) -> None:
        self.engine.stop(target.id, int(timeout_s))

    def start(self, target: TargetRef) -> None:
        self.engine.start(target.id)

    def restart(self, target: TargetRef, timeout_s: float) -> None:
        self.engine.restart(target.id, int(timeout_s))

    def pause(self, target: TargetRef) -> None:
        self.engine.pause(target.id)

    def unpause(self, target: TargetRef) -> None:
        self.engine.unpause(target.id)

    def networks(self, target: TargetRef) -> dict[str, tuple[str, ...]]:
        attached = self.engine.inspect(target.id)["NetworkSettings"]["Networks"] or {}
        # The engine adds the short id as an alias of its own; reconnecting adds it again.
        return {name: tuple(a for a in net.get("Aliases") or () if a != target.id[:12])
                for name, net in attached.items()}

    def disconnect(self, target: TargetRef, network: str) -> None:
        self.engine.disconnect(target.id, network)

    def connect(self, target: TargetRef, network: str, aliases: Sequence[str] = ()) -> None:
        self.engine.connect_network(target.id, network, aliases)

    def attachment(self, target: TargetRef, network: str) -> NetworkAttachment:
        attached = self.engine.inspect(target.id)["NetworkSettings"]["Networks"] or {}
        if network not in attached:
            raise TargetNotFound(f"{target.name} is not on network {network!r}")
        settings = attached[network]
        ipam = settings.get("IPAMConfig") or {}
        return NetworkAttachment(
            aliases=self.networks(target)[network],
            ipv4_address=ipam.get("IPv4Address") or None,
            ipv6_address=ipam.get("IPv6Address") or None,
            link_local_ips=tuple(ipam.get("LinkLocalIPs") or ()),
            links=tuple(settings.get("Links") or ()),
            address=settings.get("IPAddress") or None,
        )

    def reattach(self, target: TargetRef, network: str, attachment: NetworkAttachment) -> None:
        self.engine.connect_network(target.id, network, attachment.aliases, ipv4_address=attachment.ipv4_address,
                                    ipv6_address=attachment.ipv6_address, link_local_ips=attachment.link_local_ips,
                                    links=attachment.links)

    def exec(self, target: TargetRef, argv: Sequence[str], detach: bool = False,
             timeout_s: float | None = None) -> tuple[int | None, str]:
        return self.engine.exec(target.id, argv, detach=detach, timeout_s=timeout_s)

    def count_processes(self, target: TargetRef, match: ProcessMatch) -> int:
        return host.count_processes(self._pids(target), match)

    def signal_processes(self, target: TargetRef, match: ProcessMatch, signal: str) -> int:
        return host.signal_processes(self._pids(target), match, signal)

    def _pids(self, target: TargetRef) -> list[int]:
        if self.state(target) == "stopped":
            return []
        return self.engine.pids(target.id)

    def file_location(self, target: TargetRef, directory: str, name: str) -> str:
        return str(host.container_path_on_host(self.engine.inspect(target.id), directory) / name)
