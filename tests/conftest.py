"""Shared fixtures: the real Docker engine, throwaway containers and a real Toxiproxy server.

Everything a test creates carries ``chaoskit.test=1`` and this session's id, so
the session fixture can sweep it even when a test fails; at start it also
sweeps what a crashed earlier session (its pid no longer alive) left behind.
Sessions running side by side never touch each other's containers.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import docker.errors
import psutil
import pytest
import requests
import toxiproxy as toxiproxy_python

from chaoskit.adapters.docker_engine import DockerEngine
from chaoskit.adapters.toxiproxy import ToxiproxyClient
from tests.support import wait_until

SESSION = uuid.uuid4().hex[:12]
TEST_LABELS = {"chaoskit.test": "1", "chaoskit.test.session": SESSION, "chaoskit.test.pid": str(os.getpid())}
TOXIPROXY_IMAGE = "chaoskit/toxiproxy:2.12.0"
# Proxy listen ports inside the Toxiproxy container, published to random 127.0.0.1 ports.
TOXIPROXY_LISTEN_PORTS = tuple(range(20000, 20005))


def _sweep(client: docker.DockerClient, keep: Callable[[dict[str, str]], bool]) -> None:
    """Remove labelled leftovers; other sessions create and remove theirs meanwhile, so gone is fine."""
    api = client.api
    for summary in api.containers(all=True, filters={"label": "chaoskit.test=1"}):
        if not keep(summary.get("Labels") or {}):
            _ignore_gone(api.remove_container, summary["Id"], force=True, v=True)
    for network in api.networks(filters={"label": "chaoskit.test=1"}):
        if not keep(network.get("Labels") or {}):
            _ignore_gone(api.remove_network, network["Id"])
    for volume in api.volumes(filters={"label": "chaoskit.test=1"}).get("Volumes") or []:
        if not keep(volume.get("Labels") or {}):
            _ignore_gone(api.remove_volume, volume["Name"], force=True)


def _ignore_gone(remove: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    try:
        remove(*args, **kwargs)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as exc:
        if "already in progress" not in str(exc):
            raise


def _owner_alive(labels: dict[str, str]) -> bool:
    """Keep what a living test session owns, and what no session claims (a benchmark's, say)."""
    pid = labels.get("chaoskit.test.pid", "")
    return not pid.isdigit() or psutil.pid_exists(int(pid))


@pytest.fixture(scope="session")
def engine() -> Iterator[DockerEngine]:
    """The real Docker engine; sweeps this session's leftovers (and dead sessions') around the run."""
    engine = DockerEngine.connect()
    _sweep(engine.client, keep=_owner_alive)
    yield engine
    _sweep(engine.client, keep=lambda labels: labels.get("chaoskit.test.session") != SESSION)


@pytest.fixture
def test_labels() -> dict[str, str]:
    return dict(TEST_LABELS)


@pytest.fixture
def network(engine: DockerEngine) -> Iterator[str]:
    """A fresh bridge network for one test; containers still on it at teardown are removed with it."""
    net = engine.client.networks.create(f"chaoskit-test-{uuid.uuid4().hex[:8]}", labels=TEST_LABELS)
    yield net.name
    net.reload()
    for container in net.containers:
        _remove_quietly(container, force=True, v=True)
    _remove_quietly(net)


@pytest.fixture
def run_container(engine: DockerEngine) -> Iterator[Callable[..., Any]]:
    """Start labelled containers (detached); each is force-removed at teardown."""
    started: list[Any] = []

    def start(image: str, command: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("name", f"chaoskit-test-{uuid.uuid4().hex[:8]}")
        labels = {**TEST_LABELS, **kwargs.pop("labels", {})}
        container = engine.client.containers.run(image, command, detach=True, labels=labels, **kwargs)
        started.append(container)
        container.reload()
        return container

    yield start
    for container in started:
        _remove_quietly(container, force=True, v=True)


@dataclass
class ToxiproxyServer:
    """A real Toxiproxy server in a container, reachable from the host and on ``network``."""

    container: Any
    network: str
    api_url: str
    client: ToxiproxyClient

    def toxics_seen_independently(self, proxy: str) -> set[str]:
        """Toxic names on ``proxy`` as toxiproxy-python (not chaoskit's adapter) reads them."""
        server = toxiproxy_python.Toxiproxy()
        server.update_api_consumer("127.0.0.1", self.host_port(8474))
        return set(server.get_proxy(proxy).toxics())

    def host_port(self, listen_port: int) -> int:
        """The 127.0.0.1 port on the host that reaches ``listen_port`` inside the container."""
        return int(self.container.ports[f"{listen_port}/tcp"][0]["HostPort"])


@pytest.fixture
def toxiproxy(run_container: Callable[..., Any], network: str) -> ToxiproxyServer:
    ports = {"8474/tcp": ("127.0.0.1", None), **{f"{p}/tcp": ("127.0.0.1", None) for p in TOXIPROXY_LISTEN_PORTS}}
    container = run_container(TOXIPROXY_IMAGE, network=network, ports=ports)
    url = f"http://127.0.0.1:{container.ports['8474/tcp'][0]['HostPort']}"
    client = ToxiproxyClient(url)
    wait_until(lambda: client.version() is not None, what=f"Toxiproxy at {url}")
    return ToxiproxyServer(container, network, url, client)


@dataclass
class ProxiedWeb:
    """nginx behind the Toxiproxy proxy named 'web'."""

    port: int  # the proxy's port on 127.0.0.1
    toxiproxy: ToxiproxyServer

    @property
    def vars(self) -> list[str]:
        """--var arguments that point an experiment's ${web} and ${toxiproxy} here."""
        return ["--var", f"web=http://127.0.0.1:{self.port}", "--var", f"toxiproxy={self.toxiproxy.api_url}"]


@pytest.fixture
def web(toxiproxy: ToxiproxyServer, run_container: Callable[..., Any]) -> ProxiedWeb:
    name = f"web-{toxiproxy.network}"
    run_container("chaoskit/nginx", network=toxiproxy.network, name=name)
    toxiproxy.client.create_proxy("web", "0.0.0.0:20000", f"{name}:80")
    port = toxiproxy.host_port(20000)
    wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/", timeout=2).ok, what="nginx through the proxy")
    return ProxiedWeb(port, toxiproxy)


def _remove_quietly(obj: Any, **kwargs: Any) -> None:
    _ignore_gone(obj.remove, **kwargs)
