"""The world a fault acts on: a target backend and a Toxiproxy server, connected on first use.

Lazy so that a Toxiproxy-only experiment does not need Docker and the other
way round; each connection failure is chaoskit's own one-line error. Faults
reach their targets only through :attr:`Backends.targets` (the
:class:`~chaoskit.adapters.target_backend.TargetBackend` seam): a Kubernetes
cluster when ``kubernetes`` settings are given (namespace, kubeconfig,
context, agent_namespace), the Docker engine at ``docker_host`` otherwise,
or any backend given in ``targets`` (a fake in tests).

:meth:`Backends.record` is what a ledger record keeps beside a fault, and
:meth:`Backends.from_record` rebuilds the same world from it in another
process (``chaoskit rollback``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported on first use: the Docker SDK and requests cost 100 ms that validate does not need
    from chaoskit.adapters.docker_engine import DockerEngine
    from chaoskit.adapters.target_backend import TargetBackend
    from chaoskit.adapters.toxiproxy import ToxiproxyClient

__all__ = ["DEFAULT_TOXIPROXY_URL", "Backends"]

DEFAULT_TOXIPROXY_URL = "http://127.0.0.1:8474"


class Backends:
    def __init__(self, docker_host: str | None = None, toxiproxy_url: str = DEFAULT_TOXIPROXY_URL,
                 targets: TargetBackend | None = None, kubernetes: Mapping[str, str | None] | None = None):
        self.docker_host = docker_host
        self.toxiproxy_url = toxiproxy_url
        self.kubernetes = {k: v for k, v in (kubernetes or {}).items() if v is not None} if kubernetes else None
        if targets is not None:
            self.__dict__["targets"] = targets

    @cached_property
    def targets(self) -> TargetBackend:
        """Where the targets run: the cluster or the Docker engine, unless another backend was given."""
        if self.kubernetes is not None:
            from chaoskit.adapters.kubernetes import KubernetesBackend
            from chaoskit.adapters.kubernetes.api import KubeApi

            settings = self.kubernetes
            api = KubeApi.connect(settings.get("kubeconfig"), settings.get("context"))
            return KubernetesBackend(api, settings.get("namespace") or "default",
                                     settings.get("agent_namespace") or "chaoskit-system")
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

    def record(self) -> dict[str, Any]:
        """Where the targets are, for a ledger record: enough for :meth:`from_record` in another process."""
        return {"docker_host": self.docker_host, "toxiproxy_url": self.toxiproxy_url,
                **({"kubernetes": dict(self.kubernetes)} if self.kubernetes is not None else {})}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Backends:
        return cls(record.get("docker_host"), record.get("toxiproxy_url") or DEFAULT_TOXIPROXY_URL,
                   kubernetes=record.get("kubernetes"))
