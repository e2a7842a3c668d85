"""The real cluster (compose/kubernetes/cluster.sh up), the node agent deployed on it, and a namespace per module."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaoskit.adapters.backends import Backends

from .workload import KUBECONFIG, cache_namespace

AGENT = Path(__file__).resolve().parents[3] / "compose" / "kubernetes" / "agent" / "deploy.sh"


@pytest.fixture(scope="session")
def agent() -> None:
    """The chaoskit node agent, (re)deployed once per session from this checkout."""
    deployed = subprocess.run([str(AGENT)], capture_output=True, text=True, timeout=300,
                              env={**os.environ, "KUBECONFIG": KUBECONFIG})
    if deployed.returncode:
        pytest.fail(f"deploying the chaoskit node agent failed (is the cluster up? compose/kubernetes/cluster.sh up):"
                    f"\n{deployed.stderr[-2000:]}")


@pytest.fixture(scope="module")
def namespace(agent: None) -> Iterator[str]:
    with cache_namespace(3) as name:
        yield name


@pytest.fixture
def backends(namespace: str) -> Backends:
    return Backends(kubernetes={"kubeconfig": KUBECONFIG, "namespace": namespace})
