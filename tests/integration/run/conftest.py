"""Fixtures for end-to-end runs: nginx behind a real Toxiproxy proxy."""

from __future__ import annotations

import pytest
import requests

from tests.support import wait_until


@pytest.fixture
def web(toxiproxy, run_container):
    """nginx behind proxy 'web'; returns the --var arguments that point an experiment at it."""
    name = f"web-{toxiproxy.network}"
    run_container("chaoskit/nginx", network=toxiproxy.network, name=name)
    toxiproxy.client.create_proxy("web", "0.0.0.0:20000", f"{name}:80")
    port = toxiproxy.host_port(20000)
    wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/", timeout=2).ok, what="web through the proxy")
    return ["--var", f"web=http://127.0.0.1:{port}", "--var", f"toxiproxy={toxiproxy.api_url}"]
