"""A throw-away namespace with a Deployment of small pods, for the Kubernetes backend's tests and bench.

The pods run Debian's base image (imported into the cluster's containerd as
``chaoskit/k8s-test:1``): a shell as the main process and a ``sleep`` beside it.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

KUBE_DIR = os.environ.get("CHAOSKIT_K8S_DIR", "/var/lib/chaoskit/kubernetes")
KUBECONFIG = os.environ.get("KUBECONFIG") or f"{KUBE_DIR}/conf/admin.kubeconfig"
CONTAINERD = os.environ.get("CHAOSKIT_K8S_CONTAINERD", f"{KUBE_DIR}/run/containerd/containerd.sock")
IMAGE = "chaoskit/k8s-test:1"
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
        - name: main
          image: {image}
          imagePullPolicy: Never
          command: [sh, -c, "trap 'exit 0' TERM; sleep infinity & wait"]
          readinessProbe: {{exec: {{command: ["true"]}}, periodSeconds: 1}}
          volumeMounts: [{{name: scratch, mountPath: /scratch}}]
      volumes: [{{name: scratch, emptyDir: {{medium: Memory, sizeLimit: 64Mi}}}}]
"""


def import_image() -> None:
    """Tag Debian's base image for the cluster (once; containerd keeps it)."""
    listed = subprocess.run(["ctr", "-a", CONTAINERD, "-n", "k8s.io", "images", "ls", "-q"],
                            capture_output=True, text=True, check=True).stdout
    if f"docker.io/{IMAGE}" in listed.split():
        return
    subprocess.run(["docker", "tag", "debian:bookworm-slim", IMAGE], check=True)
    subprocess.run(f"docker save {IMAGE} | ctr -a {CONTAINERD} -n k8s.io images import -", shell=True, check=True,
                   capture_output=True)


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
    """A labelled namespace of ``replicas`` Ready pods (Deployment ``cache``), deleted afterwards."""
    import_image()
    namespace = f"chaoskit-test-{uuid.uuid4().hex[:6]}"
    kubectl("apply", "-f", "-", stdin=_MANIFEST.format(ns=namespace, label=LABEL, replicas=replicas, image=IMAGE))
    try:
        wait_ready(namespace, replicas)
        yield namespace
    finally:
        kubectl("delete", "namespace", namespace, "--wait=false")
