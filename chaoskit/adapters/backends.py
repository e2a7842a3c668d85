"""The world a fault acts on: a target backend and a Toxiproxy server, connected on first use.

Lazy so that a Toxiproxy-only experiment does not need Docker and the other
way round; each connection failure is chaoskit's own one-line error. Faults
reach their targets only through :attr:`Backends.targets` (the
:class:`~chaoskit.adapters.target_backend.TargetBackend` seam); give one in
``targets`` (a fake in tests, another orchestrator) to use it instead of the
Docker engine at ``docker_host``.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported on first use: the Docker SDK and requests cost 100 ms that validate does not need
    from chaoskit.adapters.docker_engine import DockerEngine
    from chaoskit.adapters.target_backend import TargetBackend
    from chaoskit.adapters.toxiproxy import ToxiproxyClient

__all__ = ["Backends"]


class Backends:
    def __init__(self, docker_host: str | None = None, toxiproxy_url: str = "http://127.0.0.1:8474",
                 targets: TargetBackend | None = None):
        self.docker_host = docker_host
        self.toxiproxy_url = toxiproxy_url
        if targets is not None:
            self.__dict__["targets"] = targets

    @cached_property
    def targets(self) -> TargetBackend:
        """Where the targets run: the Docker engine unless another backend was given."""
        from chaoskit.adapters.docker_backend import DockerBackend

        return DockerBackend(self.engine)

    @cached_property
    def engine(self) -> DockerEngine:
        """The Docker engine itself, for what is Docker-only (the monkey's host kill, version reports)."""
        from chaoskit.adapters.docker_engine import DockerEngine

        return DockerEngine.connect(self.docker_host)

    @cached_property
    def toxiproxy(self) -> ToxiproxyClient:
        from chaoskit.adapters.toxiproxy import ToxiproxyClient

        client = ToxiproxyClient(self.toxiproxy_url)
        client.version()  # fail here, with the URL in the message, not mid-fault
        return client
