"""The monkey's kills on a pod backend: which fault is recorded, and when a killed pod counts as back."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from chaoskit.errors import TargetNotFound
from chaoskit.run.acts import FaultAct
from chaoskit.schedule.monkey_config import KillSpec
from chaoskit.schedule.monkey_kills import KillExecutor, KillRecord
from chaoskit.schedule.monkey_policy import Action, Decision
from chaoskit.targets.container import Container


class Pods:
    """Just enough of a Kubernetes backend: a PodBackend whose owner has ``ready`` Ready pods besides the target."""

    kind = "kubernetes"

    def __init__(self, ready: int):
        self.ready = ready

    def delete_pod(self, target, grace_s): ...

    def ready_siblings(self, target):
        return [f"api-{i}" for i in range(self.ready)]


def pod(name: str, uid: str, container_id: str = "c1", state: str = "running", health: str | None = "healthy") -> Container:
    where = {"namespace": "timeline", "pod": name, "pod_uid": uid, "container": "api", "container_id": container_id,
             "node": "n1", "owner": "Deployment/api"}
    return Container(id=uid, name=name, image="", labels={}, state=state, health=health, namespace="timeline",
                     owner="Deployment/api", where=where)


def executor(fault: str, ready: int = 1) -> KillExecutor:
    backends = SimpleNamespace(targets=Pods(ready), docker_host=None)
    return KillExecutor(KillSpec(restart="policy", fault=fault), backends, ledger=None, run_id="r", elapsed=lambda: 0.0)


def record(ex: KillExecutor, target: Container) -> KillRecord:
    decision = Decision("timeline/Deployment/api", Action.KILL, target, 0.1, 0.5)
    rec = KillRecord(1, decision, target, datetime.now(timezone.utc))
    fault, main, pid = ex.plan(target)
    assert main is None and pid == 0
    rec.act = FaultAct(fault, ex.backends, None, "r")
    return rec


def test_a_deleted_pod_is_back_once_its_owner_has_as_many_ready_pods():
    """Two Ready before the delete (the target and one sibling): back when two others are Ready."""
    ex = executor("pod.delete", ready=1)
    rec = record(ex, pod("api-a", "u1"))
    assert rec.fault.kind == "pod.delete" and rec.fault.state["ready_before"] == 2
    sibling, fresh = pod("api-b", "u2"), pod("api-c", "u3", health="unhealthy")
    assert not ex.back(rec, [sibling, fresh])  # the replacement is not Ready yet
    assert not ex.back(rec, [pod("api-a", "u1"), sibling])  # the deleted pod itself does not count
    assert ex.back(rec, [sibling, pod("api-c", "u3")])


def test_a_killed_container_is_back_when_another_container_runs_in_the_same_pod():
    ex = executor("container.kill")
    rec = record(ex, pod("api-a", "u1", container_id="c1"))
    assert rec.fault.kind == "container.kill" and rec.fault.params["signal"] == "SIGKILL"
    assert not ex.back(rec, [pod("api-a", "u1", container_id="c1")])  # not restarted yet
    assert not ex.back(rec, [pod("api-a", "u1", container_id="c2", health="unhealthy")])  # restarted, not Ready
    assert ex.back(rec, [pod("api-a", "u1", container_id="c2")])


def test_a_pod_that_is_not_running_is_gone_not_killed():
    ex = executor("pod.delete")
    with pytest.raises(TargetNotFound):  # the controller counts it as gone and records nothing
        ex.plan(pod("api-a", "u1", state="terminating"))
