"""Pod faults (Kubernetes): delete a pod and let its owner replace it."""

from __future__ import annotations

import time
from collections.abc import Callable

from chaoskit.adapters.backends import Backends
from chaoskit.adapters.target_backend import PodBackend
from chaoskit.errors import ApplyFailed, RevertFailed
from chaoskit.log import get_logger
from chaoskit.model.params import FaultSignature, ParamSpec

from .base import Fault

__all__ = ["PodDelete"]

log = get_logger("chaoskit.faults.pod")


class PodDelete(Fault):
    kind = "pod.delete"
    signature = FaultSignature(
        params=(ParamSpec("grace_period", "duration", min=0,
                          doc="seconds between SIGTERM and SIGKILL (0: at once); default: the pod's own"),
                ParamSpec("replace_timeout", "duration", default=120.0, min=1,
                          doc="how long revert waits for the owner to have as many Ready pods as before")),
        doc="Delete the pod (Kubernetes). Revert: nothing to undo; wait until its owner (Deployment, "
            "StatefulSet) has as many Ready pods as before, and record the replacement.",
    )

    def describe(self) -> str:
        grace = self.params.get("grace_period")
        return f"delete pod {self.target_label}" + (f" (grace {grace:g}s)" if grace is not None else "")

    def _pods(self, backends: Backends) -> PodBackend:
        if not isinstance(backends.targets, PodBackend):
            raise ApplyFailed(f"pod.delete needs a Kubernetes environment; targets here are {backends.targets.kind}'s")
        return backends.targets

    def prepare(self, backends: Backends) -> None:
        # Ready pods of the owner, the target included: what revert waits for again.
        self.state["ready_before"] = len(self._pods(backends).ready_siblings(self._target())) + 1
        self.state["owner"] = self._target().where.get("owner")

    def apply(self, backends: Backends) -> None:
        grace = self.params.get("grace_period")
        self._pods(backends).delete_pod(self._target(), None if grace is None else int(grace))

    def revert(self, backends: Backends, sleep: Callable[[float], None] = time.sleep,
               clock: Callable[[], float] = time.monotonic) -> None:
        if not self.state.get("owner"):
            log.info("pod.not_replaced", pod=self.target_label, reason="no owner")
            return
        wanted, deadline = int(self.state.get("ready_before", 1)), clock() + self.params["replace_timeout"]
        while True:
            ready = self._pods(backends).ready_siblings(self._target())
            if len(ready) >= wanted:
                log.info("pod.replaced", pod=self.target_label, owner=self.state["owner"], ready=ready)
                return
            if clock() > deadline:
                raise RevertFailed(f"{self.state['owner']} has {len(ready)} Ready pod(s) of {wanted} "
                                   f"{self.params['replace_timeout']:g}s after {self.target_label} was deleted")
            sleep(0.1)
