"""Pods (the API's JSON) as targets: owner, state, health and the ref a fault records."""

from __future__ import annotations

from typing import Any

from chaoskit.adapters.kubernetes.pods import owner_of, pod_target, target_container
from chaoskit.targets import Selector, select


def _pod(name: str, *, rs: str | None = "api-5d8f7c", hash_: str = "5d8f7c", ready: bool = True,
         running: bool = True, deleting: bool = False, kind: str = "ReplicaSet", ns: str = "shop") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "uid": f"uid-{name}",
                            "labels": {"app": "api", "pod-template-hash": hash_}}
    if rs:
        meta["ownerReferences"] = [{"kind": kind, "name": rs, "controller": True}]
    if deleting:
        meta["deletionTimestamp"] = "2026-12-04T00:00:00Z"
    state = {"running": {}} if running else {"waiting": {"reason": "CrashLoopBackOff"}}
    return {
        "metadata": meta,
        "spec": {"nodeName": "node-1", "containers": [{"name": "app", "readinessProbe": {}}, {"name": "sidecar"}]},
        "status": {"phase": "Running", "containerStatuses": [
            {"name": "app", "ready": ready, "state": state, "containerID": "containerd://abc123", "image": "api:1"}]},
    }


def test_a_replicasets_pod_belongs_to_its_deployment():
    """The ReplicaSet's name less the pod-template-hash names the Deployment."""
    assert owner_of(_pod("api-5d8f7c-x1")) == "Deployment/api"


def test_other_owners_are_named_by_kind_and_a_bare_pod_has_none():
    """A StatefulSet's pod names the StatefulSet; a pod without owner references has no owner."""
    assert owner_of(_pod("db-0", rs="db", kind="StatefulSet")) == "StatefulSet/db"
    assert owner_of(_pod("lonely", rs=None)) is None


def test_the_target_is_the_first_container_unless_annotated():
    """The first container is the application; an annotation names another."""
    pod = _pod("api-5d8f7c-x1")
    assert target_container(pod) == "app"
    pod["metadata"]["annotations"] = {"chaoskit.io/target-container": "sidecar"}
    assert target_container(pod) == "sidecar"


def test_the_ref_records_what_a_revert_needs():
    """Namespace, pod, pod UID, container, container id (without the runtime prefix), node and owner."""
    ref = pod_target(_pod("api-5d8f7c-x1")).ref()
    assert ref.id == "uid-api-5d8f7c-x1"
    assert dict(ref.where) == {"namespace": "shop", "pod": "api-5d8f7c-x1", "pod_uid": "uid-api-5d8f7c-x1",
                               "container": "app", "container_id": "abc123", "node": "node-1",
                               "owner": "Deployment/api"}


def test_state_and_readiness():
    """Running and Ready; a crashed container waits; a pod being deleted is terminating."""
    assert (pod_target(_pod("a")).state, pod_target(_pod("a")).health) == ("running", "healthy")
    assert pod_target(_pod("b", ready=False)).health == "unhealthy"
    assert pod_target(_pod("c", running=False)).state == "waiting"
    assert pod_target(_pod("d", deleting=True)).state == "terminating"


def test_max_fraction_caps_each_deployment():
    """Half of a Deployment's 4 running pods at most, whatever the count asks; pods of another owner apart."""
    pods = [pod_target(_pod(f"api-5d8f7c-{i}")) for i in range(4)]
    pods += [pod_target(_pod(f"web-77-{i}", rs="web-77", hash_="77")) for i in range(2)]
    selection = select(pods, Selector(namespace="shop", owner="Deployment/api", count=4, max_fraction=0.5), rng=1)
    assert len(selection.chosen) == 2 and all(c.owner == "Deployment/api" for c in selection.chosen)
    assert "max_fraction 0.5 allows 2 of shop/Deployment/api's 4 running replica(s)" in selection.notes
    assert len(select(pods, Selector(owner="web"), rng=1).chosen) == 2


def test_namespace_must_match():
    """A selector's namespace excludes pods of another namespace."""
    pods = [pod_target(_pod("api-5d8f7c-1", ns="shop")), pod_target(_pod("api-5d8f7c-2", ns="other"))]
    assert [c.name for c in select(pods, Selector(namespace="other", labels={"app": "api"})).chosen] == ["api-5d8f7c-2"]
