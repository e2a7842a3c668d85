"""The controller's dead-man switch: a coordination.k8s.io Lease renewed while chaoskit lives.

Every freeze the controller asks for names this lease; the node agents watch
it, and when it is not renewed within its duration (the controller was
SIGKILLed, its machine lost) they thaw what they froze for it. A daemon
thread renews it, so it stops exactly when the process does.
"""

from __future__ import annotations

import os
import socket
import threading
from datetime import datetime, timezone

from chaoskit.adapters.kubernetes.api import KubeApi
from chaoskit.errors import ChaoskitError, TargetNotFound
from chaoskit.log import get_logger

__all__ = ["LEASE_DURATION_S", "LeaseHolder"]

LEASE_DURATION_S = 10
log = get_logger("chaoskit.kubernetes.lease")


class LeaseHolder:
    def __init__(self, api: KubeApi, namespace: str, duration_s: int = LEASE_DURATION_S):
        self.api, self.namespace, self.duration_s = api, namespace, duration_s
        self.name = f"chaoskit-{socket.gethostname()}-{os.getpid()}".lower()[:63]
        self._thread: threading.Thread | None = None

    def hold(self) -> str:
        """Create (or renew) the lease and keep renewing it from a daemon thread; its name."""
        if self._thread is None:
            self.renew()
            self._thread = threading.Thread(target=self._renew_forever, name="chaoskit-lease", daemon=True)
            self._thread.start()
        return self.name

    def renew(self) -> None:
        from kubernetes import client

        now = datetime.now(timezone.utc)
        body = client.V1Lease(metadata=client.V1ObjectMeta(name=self.name, labels={"app.kubernetes.io/name": "chaoskit"}),
                              spec=client.V1LeaseSpec(holder_identity=self.name, lease_duration_seconds=self.duration_s,
                                                      renew_time=now, acquire_time=now))
        what = f"lease {self.namespace}/{self.name}"
        try:
            with self.api.errors(what):
                self.api.coordination.patch_namespaced_lease(self.name, self.namespace,
                                                             {"spec": {"renewTime": _micro(now)}})
        except TargetNotFound:
            with self.api.errors(what):
                self.api.coordination.create_namespaced_lease(self.namespace, body)

    def _renew_forever(self) -> None:
        stop = threading.Event()
        while not stop.wait(self.duration_s / 4):
            try:
                self.renew()
            except ChaoskitError as exc:  # keep trying: the agents revert only if renewals stop for a whole duration
                log.warning("kubernetes.lease_renew_failed", lease=self.name, error=str(exc))


def _micro(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
