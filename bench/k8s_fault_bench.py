"""Faults on a real Kubernetes cluster, timed (issue 19's figures).

* pod delete -> replacement Ready: chaoskit's ``pod.delete`` and a bare
  ``kubectl delete pod`` alternate on the same Deployment in the same run
  (both with the pod's own grace period), timed from just before the delete
  to the moment the Deployment has as many Ready pods as before, the deleted
  one not among them; the ratio of medians is chaoskit's overhead.
* container kill through the node agent: apply time (the FaultAction
  answered) and time until the kubelet has restarted the container and it
  is Ready again. Each try kills a fresh pod: the kubelet's back-off would
  otherwise grow with every restart of the same container.
* pause: apply time (the agent reports the cgroup FROZEN) and revert time (thawed).
* the dead-man switch: a controller process freezes a pod and is SIGKILLed;
  the time until the agent has thawed it, against the lease duration + 2 s.

    .venv/bin/python -m bench.k8s_fault_bench [--tries 10] [--deadman 20]

Needs the cluster (compose/kubernetes/cluster.sh up); deploys the node agent
and works in a namespace of its own (labelled chaoskit.io/test), deleted at the end.
Steal (the hypervisor's share of the CPUs, /proc/stat) is reported beside the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from chaoskit.adapters.backends import Backends
from chaoskit.adapters.kubernetes.lease import LEASE_DURATION_S
from chaoskit.faults.catalogue import build
from chaoskit.log import configure
from chaoskit.targets.container import TargetRef
from tests.integration.kubernetes_backend.test_kubernetes_safety import PAUSE_THEN_HANG
from tests.integration.kubernetes_backend.workload import (
    KUBECONFIG,
    cache_namespace,
    kubectl,
    ready_pods,
    wait_ready,
)

ROOT = Path(__file__).resolve().parent.parent
REPLICAS = 3


def steal() -> tuple[int, int]:
    """(stolen, total) ticks of all CPUs so far."""
    with open("/proc/stat") as stat:
        ticks = [int(v) for v in stat.readline().split()[1:]]
    return ticks[7], sum(ticks)


def until(condition: Callable[[], bool], limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.02)


def targets(backends: Backends) -> list[TargetRef]:
    return [c.ref() for c in backends.targets.list_targets() if c.state == "running" and c.health == "healthy"]


def replaced(namespace: str, gone: str) -> Callable[[], bool]:
    return lambda: (lambda ready: len(ready) >= REPLICAS and gone not in ready)(ready_pods(namespace))


def delete_once(backends: Backends, namespace: str, by_chaoskit: bool) -> float:
    target = targets(backends)[0]
    t0 = time.perf_counter()
    if by_chaoskit:
        fault = build("pod.delete", {}, target)
        fault.prepare(backends)
        fault.apply(backends)
    else:
        kubectl("-n", namespace, "delete", "pod", target.name, "--wait=false")
    until(replaced(namespace, target.name))
    return time.perf_counter() - t0


def restarts(namespace: str, pod: str) -> int:
    return int(kubectl("-n", namespace, "get", "pod", pod, "-o", "jsonpath={.status.containerStatuses[0].restartCount}"))


def kill_once(backends: Backends, namespace: str) -> tuple[float, float]:
    target = targets(backends)[0]
    before = restarts(namespace, target.name)
    t0 = time.perf_counter()
    build("container.kill", {}, target).apply(backends)
    applied = time.perf_counter() - t0
    until(lambda: restarts(namespace, target.name) > before and target.name in ready_pods(namespace))
    restarted = time.perf_counter() - t0
    kubectl("-n", namespace, "delete", "pod", target.name, "--wait=false")  # a fresh pod for the next try
    until(replaced(namespace, target.name))
    return applied, restarted


def pause_once(backends: Backends) -> tuple[float, float]:
    target = targets(backends)[0]
    fault = build("container.pause", {}, target)
    t0 = time.perf_counter()
    fault.apply(backends)
    applied = time.perf_counter() - t0
    t0 = time.perf_counter()
    fault.revert(backends)
    return applied, time.perf_counter() - t0


def deadman_once(backends: Backends) -> float:
    """Seconds from SIGKILL of a controller holding a freeze to the agent's thaw."""
    target = targets(backends)[0]
    controller = subprocess.Popen(
        [sys.executable, "-c", PAUSE_THEN_HANG, json.dumps(backends.kubernetes), json.dumps(target.to_dict())],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert controller.stdout is not None and controller.stdout.readline().strip() == "paused"
        controller.kill()
        t0 = time.perf_counter()
        until(lambda: backends.targets.state(target) != "paused", limit_s=LEASE_DURATION_S + 30)
        return time.perf_counter() - t0
    finally:
        controller.kill()
        controller.wait()
        backends.targets.unpause(target)


def summary(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
    return f"{name:<38} n={len(ms):<3} median {statistics.median(ms):7.0f} ms  p90 {p90:7.0f} ms  max {ms[-1]:7.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tries", type=int, default=10)
    parser.add_argument("--deadman", type=int, default=20, help="controller SIGKILL trials (about 12 s each)")
    args = parser.parse_args()
    configure()
    subprocess.run([str(ROOT / "compose/kubernetes/agent/deploy.sh")], check=True, capture_output=True)
    stolen0 = steal()
    with cache_namespace(REPLICAS) as namespace:
        backends = Backends(kubernetes={"kubeconfig": KUBECONFIG, "namespace": namespace})
        chaoskit, bare = [], []
        for _ in range(args.tries):
            chaoskit.append(delete_once(backends, namespace, True))
            bare.append(delete_once(backends, namespace, False))
        kills = [kill_once(backends, namespace) for _ in range(max(3, args.tries // 2))]
        wait_ready(namespace, REPLICAS)
        pauses = [pause_once(backends) for _ in range(args.tries)]
        deadman = [deadman_once(backends) for _ in range(args.deadman)]
    stolen1 = steal()
    print(summary("pod.delete -> replacement Ready", chaoskit))
    print(summary("kubectl delete pod -> replacement Ready", bare))
    print(f"{'ratio of medians (chaoskit / kubectl)':<38} {statistics.median(chaoskit) / statistics.median(bare):.2f}")
    print(summary("container.kill: agent answered", [k[0] for k in kills]))
    print(summary("container.kill -> restarted and Ready", [k[1] for k in kills]))
    print(summary("container.pause: frozen", [p[0] for p in pauses]))
    print(summary("container.pause revert: thawed", [p[1] for p in pauses]))
    if deadman:
        within = sum(d <= LEASE_DURATION_S + 2 for d in deadman)
        print(summary("controller SIGKILLed -> agent thawed", deadman))
        print(f"{'within lease ' + str(LEASE_DURATION_S) + ' s + 2 s':<38} {within}/{len(deadman)}")
    print(f"steal during the run: {100 * (stolen1[0] - stolen0[0]) / max(1, stolen1[1] - stolen0[1]):.1f}% of all CPU time")


if __name__ == "__main__":
    main()
