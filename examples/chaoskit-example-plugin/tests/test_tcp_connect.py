"""example.tcp_connect against a server on 127.0.0.1: a reading per connect, a refusal raised as BackendError."""

from __future__ import annotations

import socket

import pytest

from chaoskit.adapters.probe_plugins import probe_catalogue
from chaoskit.errors import BackendError
from chaoskit_example_plugin import TcpConnect


def probe(port: int) -> TcpConnect:
    return TcpConnect(TcpConnect.signature.parse({"host": "127.0.0.1", "port": port, "timeout": "500ms"}))


def test_chaoskit_finds_the_installed_probe():
    """The entry point makes the probe part of chaoskit's probe catalogue, under its type."""
    found = probe_catalogue()
    assert found.probes["example.tcp_connect"] is TcpConnect
    assert found.origins["example.tcp_connect"].startswith("chaoskit-example-plugin ")


def test_a_reading_is_the_seconds_a_connect_took():
    """A listening socket on 127.0.0.1 (the kernel completes the handshake): a reading well under the timeout."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        reading = probe(server.getsockname()[1]).read()
    assert 0 < reading < 0.5


def test_a_refused_connect_is_no_reading():
    """Nothing listens on the port: BackendError, which the run counts as a violation, naming host and port."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
    with pytest.raises(BackendError, match=rf"connect to 127.0.0.1:{port}: Connection refused"):
        probe(port).read()
