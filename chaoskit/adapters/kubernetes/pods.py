"""Pure translation of a pod (the API's JSON) into the target description selection reads.

A pod is one target: its first container (the application; sidecars come
after it by convention), or the one named by the ``chaoskit.io/target-container``
annotation. Its owner is the workload that keeps it alive: a ReplicaSet's
pods belong to its Deployment (the ReplicaSet's name less the
``pod-template-hash``), so ``max_fraction`` caps a Deployment's pods together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chaoskit.targets.container import Container

__all__ = ["TARGET_CONTAINER_ANNOTATION", "owner_of", "pod_target", "target_container"]

TARGET_CONTAINER_ANNOTATION = "chaoskit.io/target-container"


def owner_of(pod: Mapping[str, Any]) -> str | None:
    """``Deployment/api``, ``StatefulSet/db``, ...; None for a bare pod."""
    meta = pod.get("metadata") or {}
    refs = [r for r in meta.get("ownerReferences") or () if r.get("controller")] or list(meta.get("ownerReferences") or ())
    if not refs:
        return None
    kind, name = refs[0].get("kind", ""), refs[0].get("name", "")
    template_hash = (meta.get("labels") or {}).get("pod-template-hash")
    if kind == "ReplicaSet" and template_hash and name.endswith(f"-{template_hash}"):
        return f"Deployment/{name[: -len(template_hash) - 1]}"
    return f"{kind}/{name}"


def target_container(pod: Mapping[str, Any]) -> str:
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    named = (meta.get("annotations") or {}).get(TARGET_CONTAINER_ANNOTATION)
    return named or ((spec.get("containers") or [{}])[0].get("name") or "")


def _state(pod: Mapping[str, Any], status: Mapping[str, Any]) -> str:
    """running, pending, terminating, waiting (crashed, in back-off), exited, or the pod's phase."""
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return "terminating"
    phase = (pod.get("status") or {}).get("phase", "Unknown")
    state = status.get("state") or {}
    if phase == "Running" and "running" in state:
        return "running"
    if "waiting" in state and phase == "Running":
        return "waiting"
    if "terminated" in state:
        return "exited"
    return phase.lower()


def pod_target(pod: Mapping[str, Any]) -> Container:
    """The pod as a selectable target, with the ref a fault records (namespace, pod UID, container, node)."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    container = target_container(pod)
    cstatus = next((c for c in status.get("containerStatuses") or () if c.get("name") == container), {})
    has_readiness = any(c.get("name") == container and "readinessProbe" in c for c in spec.get("containers") or ())
    health = None if not has_readiness else "healthy" if cstatus.get("ready") else "unhealthy"
    owner = owner_of(pod)
    where = {
        "namespace": meta.get("namespace", ""),
        "pod": meta.get("name", ""),
        "pod_uid": meta.get("uid", ""),
        "container": container,
        # "containerd://<64 hex>"; the runtime prefix is dropped, the agent finds the cgroup by the id.
        "container_id": (cstatus.get("containerID") or "").partition("://")[2],
        "node": spec.get("nodeName") or "",
        **({"owner": owner} if owner else {}),
    }
    return Container(
        id=meta.get("uid", ""),
        name=meta.get("name", ""),
        image=cstatus.get("image") or "",
        labels=dict(meta.get("labels") or {}),
        state=_state(pod, cstatus),
        health=health,
        networks=(),
        namespace=meta.get("namespace"),
        owner=owner,
        where=where,
    )
