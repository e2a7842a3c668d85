"""The Chaos Monkey's tick over opted-in pods on a real cluster, timed (issue 19's figure: <= 200 ms over 100 pods).

A Deployment of ``--pods`` pause-image pods (the cluster's sandbox image, a few
hundred KiB of RSS each) carries the opt-in label; one tick is what the monkey
does every second: ``Monkey.list_containers`` (one pod list through the API
server, filtered by label there) and ``plan_tick`` (select and decide, pure),
with grouping by pod, so each tick draws for every pod (the heaviest decision).
Nothing is killed. The list's share is reported apart; steal (the hypervisor's
share of the CPUs, /proc/stat) is reported beside the figures.

    .venv/bin/python -m bench.k8s_monkey_bench [--pods 100] [--ticks 50]

Needs the cluster (compose/kubernetes/cluster.sh up); works in a namespace of its
own (labelled chaoskit.io/test), deleted at the end. The node's pod limit is 110:
with the sample stack deployed (7 pods) and the node agent, 100 more fit.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from chaoskit.adapters.backends import Backends
from chaoskit.journal import MonkeyJournal
from chaoskit.log import configure
from chaoskit.model.probes import Hypothesis
from chaoskit.run.ledger import Ledger
from chaoskit.schedule.monkey import Monkey
from chaoskit.schedule.monkey_config import MonkeyConfig, MonkeyPolicy, MonkeySettings
from chaoskit.schedule.monkey_observer import NoProbes
from bench.k8s_fault_bench import steal
from bench.monkey_bench import quantile
from tests.integration.kubernetes_backend.workload import KUBECONFIG, LABEL, kubectl

T = TypeVar("T")
OPT_IN = {"chaoskit.monkey": "true"}


def deployment(namespace: str, pods: int) -> dict[str, Any]:
    """``pods`` pause containers, opted in by their pod template's label."""
    labels = {"app": "idle", **OPT_IN}
    container = {"name": "idle", "image": "chaoskit/pause:1", "imagePullPolicy": "Never"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "idle", "namespace": namespace},
            "spec": {"replicas": pods, "selector": {"matchLabels": {"app": "idle"}},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"terminationGracePeriodSeconds": 0, "containers": [container]}}}}


def running(namespace: str) -> int:
    phases = kubectl("-n", namespace, "get", "pods", "-o", "jsonpath={.items[*].status.phase}").split()
    return phases.count("Running")


def monkey(namespace: str) -> Monkey:
    policy = MonkeyPolicy(opt_in=OPT_IN, mean_time_between_kills_s=1e-9, grouping="container", max_concurrent=1,
                          leashed=True)
    config = MonkeyConfig(title="bench", policy=policy, steady_state=Hypothesis("none", ()), baseline_s=0.0)
    backends = Backends(kubernetes={"kubeconfig": KUBECONFIG, "namespace": namespace})
    return Monkey(config, backends, Ledger(None), MonkeyJournal(None, {"title": "bench"}), MonkeySettings(seed=1),
                  observer=NoProbes())


def timed(call: Callable[[], T]) -> tuple[float, T]:
    """(milliseconds taken, result)."""
    start = time.perf_counter()
    result = call()
    return (time.perf_counter() - start) * 1000, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pods", type=int, default=100)
    parser.add_argument("--ticks", type=int, default=50)
    args = parser.parse_args()
    configure()
    namespace = f"chaoskit-bench-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", namespace)
    kubectl("label", "namespace", namespace, f"{LABEL}=true")
    kubectl("apply", "-f", "-", stdin=json.dumps(deployment(namespace, args.pods)))
    try:
        started = time.monotonic()
        while running(namespace) < args.pods:
            if time.monotonic() - started > 600:
                print(f"only {running(namespace)} of {args.pods} pods running after 600 s", file=sys.stderr)
                return 1
            time.sleep(2)
        print(f"{args.pods} pods running after {time.monotonic() - started:.0f} s")
        time.sleep(5)  # let the kubelet and the API server settle after the burst of starts
        ape = monkey(namespace)
        ape.plan_tick(0)  # the client's connection and first list, outside the figures
        list_ms, tick_ms = [], []
        stolen0 = steal()
        for index in range(1, args.ticks + 1):
            listed, pods = timed(ape.list_containers)
            planned, plan = timed(lambda: ape.plan_tick(index, pods))  # noqa: B023 (called at once)
            list_ms.append(listed)
            tick_ms.append(listed + planned)
            time.sleep(max(0.0, 0.2 - (listed + planned) / 1000))  # ticks apart, as the monkey's are
        stolen1 = steal()
        assert plan.eligible == args.pods and len(plan.decisions) == args.pods, plan
        print(f"monkey tick over {plan.eligible} opted-in pods (n={args.ticks}): median {statistics.median(tick_ms):.1f} ms, "
              f"p90 {quantile(tick_ms, 0.9):.1f} ms, max {max(tick_ms):.1f} ms (target <= 200 ms)")
        print(f"  of which the pod list: median {statistics.median(list_ms):.1f} ms, p90 {quantile(list_ms, 0.9):.1f} ms")
        print(f"steal during the ticks: {100 * (stolen1[0] - stolen0[0]) / max(1, stolen1[1] - stolen0[1]):.1f}% "
              f"of all CPU time")
        return 0 if quantile(tick_ms, 0.9) <= 200 else 1
    finally:
        kubectl("delete", "namespace", namespace, "--wait=false")


if __name__ == "__main__":
    sys.exit(main())
