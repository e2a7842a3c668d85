"""A throw-away namespace with a Deployment of Redis pods, for the Kubernetes backend's tests and bench."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

KUBE_DIR = os.environ.get("CHAOSKIT_K8S_DIR", "/var/lib/chaoskit/kubernetes")
KUBECONFIG = os.environ.get("KUBECONFIG") or f"{KUBE_DIR}/conf/admin.kubeconfig"
LABEL = "chaoskit.io/test"

_MANIFEST = """
apiVersion: v1
kind: Namespace
metadata: {{name: {ns}, labels: {{{label}: "true"}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: cache, namespace: {ns}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: cache}}}}
  template:
    metadata: {{labels: {{app: cache}}}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
        - name: redis
          image: chaoskit/redis:latest
          imagePullPolicy: Never
          command: [redis-server, --save, "", --appendonly, "no"]
          readinessProbe: {{exec: {{command: [redis-cli, ping]}}, periodSeconds: 1}}
"""


def kubectl(*args: str, stdin: str | None = None, timeout: float = 120) -> str:
    return subprocess.run(["kubectl", "--kubeconfig", KUBECONFIG, *args], input=stdin, text=True,
                          capture_output=True, check=True, timeout=timeout).stdout


def ready_pods(namespace: str) -> list[str]:
    out = kubectl("-n", namespace, "get", "pods", "-l", "app=cache", "-o",
                  "jsonpath={range .items[*]}{.metadata.name} {.metadata.deletionTimestamp} "
                  "{.status.conditions[?(@.type=='Ready')].status}{'\\n'}{end}")
    return [f[0] for f in (line.split() for line in out.splitlines()) if len(f) == 2 and f[1] == "True"]


def wait_ready(namespace: str, replicas: int, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while len(ready_pods(namespace)) < replicas:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{namespace}: fewer than {replicas} Ready pods after {timeout_s:g}s")
        time.sleep(0.2)


@contextmanager
def cache_namespace(replicas: int = 3) -> Iterator[str]:
    """A labelled namespace of ``replicas`` Ready Redis pods (Deployment ``cache``), deleted afterwards."""
    namespace = f"chaoskit-test-{uuid.uuid4().hex[:6]}"
    kubectl("apply", "-f", "-", stdin=_MANIFEST.format(ns=namespace, label=LABEL, replicas=replicas))
    try:
        wait_ready(namespace, replicas)
        yield namespace
    finally:
        kubectl("delete", "namespace", namespace, "--wait=false")
