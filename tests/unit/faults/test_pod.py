"""pod.delete: deletes through a pod backend and, on revert, waits for the owner's replacement."""

from __future__ import annotations

import pytest

from chaoskit.adapters.backends import Backends
from chaoskit.errors import ApplyFailed, RevertFailed
from chaoskit.faults.catalogue import build
from chaoskit.targets.container import TargetRef
from chaoskit.testing import FakeTargetBackend

TARGET = TargetRef("uid-1", "api-1", {"namespace": "shop", "pod": "api-1", "owner": "Deployment/api"})


class FakePods:
    kind = "kubernetes"

    def __init__(self, siblings: list[list[str]]):
        self.siblings, self.deleted = siblings, []

    def delete_pod(self, target: TargetRef, grace_s: int | None) -> None:
        self.deleted.append((target.name, grace_s))

    def ready_siblings(self, target: TargetRef) -> list[str]:
        return self.siblings.pop(0) if len(self.siblings) > 1 else self.siblings[0]


def test_apply_deletes_with_the_grace_period():
    """The grace period goes to the delete; prepare counts the owner's Ready pods, the target included."""
    pods = FakePods([["api-2"]])
    fault = build("pod.delete", {"grace_period": "5s"}, TARGET)
    backends = Backends(targets=pods)  # type: ignore[arg-type]
    fault.prepare(backends)
    fault.apply(backends)
    assert pods.deleted == [("api-1", 5)] and fault.state["ready_before"] == 2


def test_revert_waits_for_the_replacement():
    """Revert returns once the owner has as many Ready pods as before."""
    pods = FakePods([["api-2"], ["api-2"], ["api-2", "api-3"]])
    fault = build("pod.delete", {}, TARGET)
    fault.prepare(Backends(targets=pods))  # type: ignore[arg-type]
    fault.revert(Backends(targets=pods), sleep=lambda s: None)  # type: ignore[arg-type]
    assert pods.siblings == [["api-2", "api-3"]]


def test_revert_fails_when_no_replacement_comes():
    """No replacement within replace_timeout: the revert fails (the fault stays pending in the ledger)."""
    pods = FakePods([["api-2"]])
    fault = build("pod.delete", {"replace_timeout": "1s"}, TARGET)
    fault.state = {"ready_before": 2, "owner": "Deployment/api"}
    ticks = iter(range(100))
    with pytest.raises(RevertFailed, match="has 1 Ready pod"):
        fault.revert(Backends(targets=pods), sleep=lambda s: None, clock=lambda: next(ticks))  # type: ignore[arg-type]


def test_docker_targets_cannot_be_pod_deleted():
    """On the Docker backend, pod.delete is refused before anything is recorded."""
    fault = build("pod.delete", {}, TargetRef("c1", "api-1"))
    with pytest.raises(ApplyFailed, match="needs a Kubernetes environment"):
        fault.prepare(Backends(targets=FakeTargetBackend([])))
