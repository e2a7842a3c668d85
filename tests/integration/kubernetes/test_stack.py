"""The sample timeline stack on the real cluster: reached from the host only through 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import time

import psutil
import pytest
import requests
import yaml
from kubernetes import watch
from kubernetes.stream import stream

from tests.integration.kubernetes.conftest import API_PORT, CLUSTER_SH, NAMESPACE, STATE, TOXIPROXY_PORT, Cluster
from tests.support import wait_until

pytestmark = pytest.mark.kubernetes

ENTRY = f"http://127.0.0.1:{API_PORT}"
TOXIPROXY = f"http://127.0.0.1:{TOXIPROXY_PORT}"
EXPECTED_PODS = {"postgres": 1, "redis": 1, "toxiproxy": 1, "api": 2, "worker": 1, "nginx": 1}
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "containerd", "kubelet",
              "kube-proxy")


def is_ready(pod) -> bool:
    return pod.metadata.deletion_timestamp is None and any(
        c.type == "Ready" and c.status == "True" for c in pod.status.conditions or ()
    )


def pods_of(stack: Cluster, app: str) -> list:
    return stack.core.list_namespaced_pod(NAMESPACE, label_selector=f"app={app}").items


def test_every_pod_of_the_stack_is_ready(stack: Cluster) -> None:
    """Each Deployment of the stack runs its replicas, all Ready, from the images chaoskit builds."""
    pods = stack.core.list_namespaced_pod(NAMESPACE).items
    ready: dict[str, int] = {}
    for pod in pods:
        if is_ready(pod):
            ready[pod.metadata.labels["app"]] = ready.get(pod.metadata.labels["app"], 0) + 1
    assert ready == EXPECTED_PODS
    images = {c.image for pod in pods for c in pod.spec.containers}
    assert images == {"chaoskit/postgres:latest", "chaoskit/redis:latest", "chaoskit/toxiproxy:2.12.0",
                      "chaoskit/timeline:latest", "chaoskit/nginx:latest"}


def test_the_entry_point_answers_on_loopback(stack: Cluster) -> None:
    """nginx's NodePort on 127.0.0.1 serves the loaded data set through the api replicas."""
    assert requests.get(f"{ENTRY}/healthz", timeout=5).json()["status"] == "alive"
    # Ready once its first connections through Toxiproxy are made (the first can miss readyz's 250 ms).
    wait_until(lambda: requests.get(f"{ENTRY}/readyz", timeout=5).status_code == 200, "api ready", 15)
    ready = requests.get(f"{ENTRY}/readyz", timeout=5).json()
    assert (ready["postgres"], ready["redis"]) == ("ok", "ok")
    timeline = requests.get(f"{ENTRY}/timeline/1", timeout=5)
    assert timeline.status_code == 200, timeline.text


def test_toxiproxy_sits_in_front_of_postgres(stack: Cluster) -> None:
    """Disabling the postgres proxy through Toxiproxy's API on 127.0.0.1 cuts the api off from Postgres."""
    proxies = requests.get(f"{TOXIPROXY}/proxies", timeout=5).json()
    assert {p["upstream"] for p in proxies.values()} == {"postgres:5432", "redis:6379"}
    try:
        requests.post(f"{TOXIPROXY}/proxies/postgres", json={"enabled": False}, timeout=30).raise_for_status()
        cut = requests.get(f"{ENTRY}/readyz", timeout=5)
        assert cut.status_code == 503 and cut.json()["postgres"].startswith("error")
    finally:
        requests.post(f"{TOXIPROXY}/proxies/postgres", json={"enabled": True}, timeout=30).raise_for_status()
    wait_until(lambda: requests.get(f"{ENTRY}/readyz", timeout=5).status_code == 200, "api ready again", 15)


def test_a_deleted_pod_is_replaced(stack: Cluster) -> None:
    """Deleting an api pod: its ReplicaSet starts a replacement that becomes Ready."""
    before = {p.metadata.name for p in pods_of(stack, "api")}
    victim = sorted(before)[0]
    stack.core.delete_namespaced_pod(victim, NAMESPACE, grace_period_seconds=0)
    started = time.monotonic()
    replacement = None
    for event in watch.Watch().stream(stack.core.list_namespaced_pod, NAMESPACE, label_selector="app=api",
                                      timeout_seconds=60):
        pod = event["object"]
        if pod.metadata.name not in before and is_ready(pod):
            replacement = pod.metadata.name
            break
    assert replacement is not None, "no Ready replacement within 60 s"
    print(f"replacement {replacement} Ready {time.monotonic() - started:.2f} s after the delete")
    wait_until(lambda: sum(is_ready(p) for p in pods_of(stack, "api")) == 2, "two api replicas", 60)


def test_exec_runs_in_the_pod_and_names_resolve(stack: Cluster) -> None:
    """Exec over the websocket runs in the pod's container; the stack's names map to the Services' ClusterIPs."""
    pod = next(p for p in pods_of(stack, "api") if is_ready(p))
    out = stream(stack.core.connect_get_namespaced_pod_exec, pod.metadata.name, NAMESPACE,
                 command=["python3", "-c", "import socket; print(socket.gethostname(), "
                          "socket.gethostbyname('toxiproxy'), socket.gethostbyname('postgres'))"],
                 stderr=True, stdin=False, stdout=True, tty=False)
    toxiproxy_ip = stack.core.read_namespaced_service("toxiproxy", NAMESPACE).spec.cluster_ip
    postgres_ip = stack.core.read_namespaced_service("postgres", NAMESPACE).spec.cluster_ip
    assert out.split() == [pod.metadata.name, toxiproxy_ip, postgres_ip]


def test_knobs_reach_the_pods(stack: Cluster) -> None:
    """A TIMELINE_* knob in the deploying shell rolls the api; the default comes back without it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMELINE_")}
    settings = lambda: requests.get(f"{ENTRY}/metrics", timeout=5).json()["settings"]  # noqa: E731
    try:
        subprocess.run([str(CLUSTER_SH), "deploy"], check=True, capture_output=True, timeout=300,
                       env={**env, "TIMELINE_CACHE_TIMEOUT_MS": "333"})
        # Four reads in a row: nginx and kube-proxy spread them over both replicas, and an old replica
        # may still answer on a kept-alive connection for the few seconds it takes to stop.
        wait_until(lambda: all(settings()["cache_timeout_ms"] == 333 for _ in range(4)), "knob set", 30)
    finally:
        subprocess.run([str(CLUSTER_SH), "deploy"], check=True, capture_output=True, timeout=300, env=env)
    wait_until(lambda: all(settings()["cache_timeout_ms"] == 250 for _ in range(4)), "default back", 30)


def test_nothing_listens_beyond_loopback_and_the_bridge(stack: Cluster) -> None:
    """The cluster's components listen on 127.0.0.1 or the bridge's 10.244.0.1, never on a wildcard address."""
    pids = {}
    for name in COMPONENTS:
        pids[int((STATE / "run" / f"{name}.pid").read_text())] = name
    listening = [
        (pids[c.pid], c.laddr.ip, c.laddr.port)
        for c in psutil.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.pid in pids
    ]
    assert listening, "no listening socket found for the cluster's components"
    servers = {c["cluster"]["server"] for c in yaml.safe_load(stack.kubeconfig.read_text())["clusters"]}
    assert servers == {"https://127.0.0.1:6443"}
    assert [entry for entry in listening if entry[1] not in ("127.0.0.1", "10.244.0.1")] == []
    # NodePorts: kube-proxy only matches loopback destinations.
    rules = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True, check=True).stdout
    jumps = [line for line in rules.splitlines() if "-j KUBE-NODEPORTS" in line]
    assert jumps and all(" -d 127." in line for line in jumps), jumps
