"""The real single-node cluster (compose/kubernetes/cluster.sh) and the sample stack deployed on it.

The session uses a cluster that is already up (``./setup.sh test`` brings one up) or
brings one up itself and takes it down again at the end, so the host is left as found.
The stack is deployed once per session and removed at the end.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client, config

ROOT = Path(__file__).resolve().parents[3]
CLUSTER_SH = ROOT / "compose" / "kubernetes" / "cluster.sh"
STATE = Path(os.environ.get("CHAOSKIT_K8S_DIR", "/var/lib/chaoskit/kubernetes"))
NAMESPACE = "timeline"
API_PORT = int(os.environ.get("CHAOSKIT_K8S_API_PORT", "30080"))
TOXIPROXY_PORT = int(os.environ.get("CHAOSKIT_K8S_TOXIPROXY_PORT", "30474"))
BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl")


def cluster_sh(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run cluster.sh; a failure fails the test with its output."""
    done = subprocess.run([str(CLUSTER_SH), *args], capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        pytest.fail(f"cluster.sh {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def cluster_is_up() -> bool:
    return subprocess.run([str(CLUSTER_SH), "status"], capture_output=True, check=False).returncode == 0


@dataclass(frozen=True)
class Cluster:
    core: client.CoreV1Api
    apps: client.AppsV1Api
    kubeconfig: Path


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    started_here = not cluster_is_up()
    if started_here:
        # Building takes about 10 minutes, beyond a test's time limit: setup.sh does it first.
        missing = [name for name in BINARIES if not (STATE / "bin" / name).exists()]
        if missing:
            pytest.fail(f"Kubernetes is not built in {STATE}/bin (missing {missing}): run ./setup.sh cluster-up")
        cluster_sh("up")
    kubeconfig = STATE / "conf" / "admin.kubeconfig"
    api = config.new_client_from_config(str(kubeconfig))
    yield Cluster(client.CoreV1Api(api), client.AppsV1Api(api), kubeconfig)
    api.close()
    if started_here:
        cluster_sh("down", "--purge")


@pytest.fixture(scope="session")
def stack(cluster: Cluster) -> Iterator[Cluster]:
    cluster_sh("deploy", timeout=600)
    yield cluster
    if cluster_is_up():
        cluster_sh("undeploy")
