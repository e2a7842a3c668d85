"""Faults on a real cluster: each applied and reverted through the Kubernetes backend and the node agent."""

from __future__ import annotations

import time

import pytest

from chaoskit.adapters.backends import Backends
from chaoskit.faults.catalogue import build
from chaoskit.run.observe import resolve
from chaoskit.targets import Selector
from chaoskit.targets.container import TargetRef

from .workload import kubectl, ready_pods, wait_ready

pytestmark = pytest.mark.kubernetes


def _one(backends: Backends, namespace: str) -> TargetRef:
    return resolve(backends, Selector(namespace=namespace, owner="Deployment/cache", count=1), None, 1).chosen[0].ref()


def _restarts(namespace: str, pod: str) -> int:
    return int(kubectl("-n", namespace, "get", "pod", pod, "-o", "jsonpath={.status.containerStatuses[0].restartCount}"))


def _wait_restarted(namespace: str, pod: str, before: int) -> None:
    deadline = time.monotonic() + 30
    while _restarts(namespace, pod) == before:
        assert time.monotonic() < deadline, f"the kubelet did not restart {pod}'s container"
        time.sleep(0.2)


def _freezer_state(backends: Backends, target: TargetRef) -> str:
    action = backends.targets.agents.applied(target.where, "freeze")
    return action[0]["status"]["state"] if action else "THAWED"


def test_selection_caps_each_deployment(backends, namespace):
    """count 3 with max_fraction 0.5 over the Deployment's 3 Ready pods picks 1, and says why."""
    selection = resolve(backends, Selector(owner="cache", count=3, max_fraction=0.5), None, 7)
    assert [c.owner for c in selection.chosen] == ["Deployment/cache"]
    assert selection.chosen[0].namespace == namespace and selection.candidates == 3
    assert any("max_fraction 0.5 allows 1" in note for note in selection.notes)


def test_pod_delete_and_the_owners_replacement(backends, namespace):
    """The pod goes; revert returns once the Deployment has 3 Ready pods again, the deleted one not among them."""
    target = _one(backends, namespace)
    fault = build("pod.delete", {"grace_period": 0}, target)
    fault.prepare(backends)
    fault.apply(backends)
    fault.revert(backends)
    ready = ready_pods(namespace)
    assert len(ready) == 3 and target.name not in ready
    assert backends.targets.state(target) == "stopped"


def test_container_kill_from_the_node_restarts_it(backends, namespace):
    """SIGKILL to the container's main process (a shell that ignores it from inside) restarts the container."""
    target = _one(backends, namespace)
    before = _restarts(namespace, target.name)
    fault = build("container.kill", {}, target)
    fault.apply(backends)
    _wait_restarted(namespace, target.name, before)
    fault.revert(backends)
    assert backends.targets.state(target) == "running"
    wait_ready(namespace, 3)


def test_pause_freezes_and_revert_thaws(backends, namespace):
    """The container's cgroup is frozen while the fault is applied and thawed by its revert."""
    target = _one(backends, namespace)
    fault = build("container.pause", {}, target)
    fault.apply(backends)
    try:
        assert backends.targets.state(target) == "paused"
        assert _freezer_state(backends, target) == "FROZEN"
    finally:
        fault.revert(backends)
    assert backends.targets.state(target) == "running"
    assert backends.targets.exec(target, ["echo", "awake"]) == (0, "awake\n")


def test_hogs_and_process_kill_inside_the_pod(backends, namespace):
    """A CPU hog runs in the container until reverted; process.kill kills the sleep the main shell waits for."""
    target = _one(backends, namespace)
    hog = build("process.cpu_hog", {"workers": 2, "max_duration": "60s"}, target)
    hog.apply(backends)
    try:
        time.sleep(0.5)
        assert backends.targets.count_processes(target, hog._match()) >= 2
    finally:
        hog.revert(backends)
    assert backends.targets.count_processes(target, hog._match()) == 0
    before = _restarts(namespace, target.name)
    kill = build("process.kill", {"name": "sleep"}, target)
    kill.prepare(backends)
    kill.apply(backends)
    assert kill.state["matched"] == 1
    # The main shell was waiting for that sleep: it exits, and the kubelet restarts the container.
    _wait_restarted(namespace, target.name, before)
    kill.revert(backends)
    wait_ready(namespace, 3)


def test_disk_fill_of_a_pods_volume(backends, namespace):
    """The pod's 64 MiB volume fills to 90% and is freed by the revert."""
    target = _one(backends, namespace)
    fault = build("disk.fill", {"path": "/scratch", "percent": "90%"}, target)
    fault.prepare(backends)
    fault.apply(backends)
    try:
        usage = backends.targets.filesystem_usage(fault.state["fill_file"])
        assert usage.total_bytes == 64 << 20 and usage.used_fraction >= 0.89
    finally:
        fault.revert(backends)
    assert backends.targets.filesystem_usage(fault.state["fill_file"]).used_fraction < 0.1
