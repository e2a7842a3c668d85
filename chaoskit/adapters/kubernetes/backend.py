"""A Kubernetes cluster as a :class:`~chaoskit.adapters.target_backend.TargetBackend`: pods are the targets.

Through the API server: listing, deleting and exec'ing into pods (process
hogs, the files of a disk fill). Through the node agent (``FaultAction``
objects, :mod:`chaoskit.adapters.kubernetes.agent_channel`): signals to the
container's main process and to matching processes, sent from the node's
host PID namespace, and freezing the container's cgroup. Kubernetes has no
stopped container and no Docker networks: ``stop`` and network partitions
raise ``BackendError`` (network faults go through an in-cluster Toxiproxy);
``start`` waits for the kubelet to restart the container, which is its job.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from chaoskit.adapters.kubernetes.agent_channel import AgentChannel
from chaoskit.adapters.kubernetes.api import KubeApi
from chaoskit.adapters.kubernetes.lease import LeaseHolder
from chaoskit.adapters.kubernetes.pods import owner_of, pod_target
from chaoskit.adapters.target_backend import FilesystemUsage, ProcessMatch, TargetState
from chaoskit.errors import BackendError, CommandTimedOut, TargetNotFound
from chaoskit.targets.container import Container, TargetRef

__all__ = ["KubernetesBackend"]

_LOCATION = "k8s://"


class KubernetesBackend:
    """Pods of ``namespace`` (the default for selectors) in the cluster ``api`` reaches; no I/O in the constructor."""

    kind = "kubernetes"

    def __init__(self, api: KubeApi, namespace: str = "default", agent_namespace: str = "chaoskit-system",
                 restart_timeout_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.api, self.namespace, self.agent_namespace = api, namespace, agent_namespace
        self.agents = AgentChannel(api, agent_namespace)
        self.lease = LeaseHolder(api, agent_namespace)
        self.restart_timeout_s, self.clock = restart_timeout_s, clock

    def list_targets(self, project: str | None = None,
                     labels: Mapping[str, str | None] | None = None) -> list[Container]:
        selector = ",".join(key if value is None else f"{key}={value}" for key, value in (labels or {}).items())
        return [pod_target(pod) for pod in self.api.list_pods(project or self.namespace, selector)]

    # -- the pod itself ---------------------------------------------------------------
    def pod(self, target: TargetRef) -> dict[str, Any] | None:
        """The target's pod as it is now; None once it is gone (a replacement of the same name does not count)."""
        try:
            pod = self.api.read_pod(target.where["namespace"], target.where["pod"])
        except TargetNotFound:
            return None
        return pod if pod["metadata"].get("uid") == target.where["pod_uid"] else None

    def delete_pod(self, target: TargetRef, grace_s: int | None) -> None:
        try:
            self.api.delete_pod(target.where["namespace"], target.where["pod"], grace_s, uid=target.where["pod_uid"])
        except TargetNotFound:
            pass  # already gone: deleting twice is deleting once
        except BackendError as exc:
            if "Precondition failed" not in str(exc):  # a replacement of the same name (StatefulSet) is not ours
                raise

    def ready_siblings(self, target: TargetRef) -> list[str]:
        """Names of the Ready pods of the target's owner, the target excluded."""
        owner = target.where.get("owner")
        if owner is None:
            return []
        return sorted(p["metadata"]["name"] for p in self.api.list_pods(target.where["namespace"])
                      if owner_of(p) == owner and p["metadata"].get("uid") != target.where["pod_uid"]
                      and not p["metadata"].get("deletionTimestamp") and _ready(p))

    def _current(self, target: TargetRef) -> dict[str, str]:
        """The target's ``where`` with the container id it runs under now (a restart gives it a new one)."""
        pod = self.pod(target)
        if pod is None:
            raise TargetNotFound(f"pod {target.where['namespace']}/{target.where['pod']} is gone")
        current = pod_target(pod).where
        if not current.get("container_id"):
            raise BackendError(f"container {target.where['container']} of {target.name} is not running")
        return {**target.where, "container_id": current["container_id"], "node": current["node"]}

    # -- the container's lifecycle ---------------------------------------------------
    def state(self, target: TargetRef) -> TargetState:
        pod = self.pod(target)
        if pod is None or pod_target(pod).state != "running":
            return "stopped"
        return "paused" if self.agents.applied(target.where, "freeze") else "running"

    def kill(self, target: TargetRef, signal: str) -> None:
        self.agents.request(self._current(target), "kill", {"signal": signal})

    def stop(self, target: TargetRef, timeout_s: float) -> None:
        raise BackendError("Kubernetes has no stopped containers: use container.kill (the kubelet restarts it) "
                           "or pod.delete (its owner replaces it)")

    def restart(self, target: TargetRef, timeout_s: float) -> None:
        self.stop(target, timeout_s)

    def start(self, target: TargetRef) -> None:
        """Restarting is the kubelet's job: wait until it has (its back-off grows with each crash)."""
        deadline = self.clock() + self.restart_timeout_s
        while self.state(target) == "stopped":
            if self.pod(target) is None:
                raise TargetNotFound(f"pod {target.name} is gone: its owner replaces it, chaoskit cannot start it")
            if self.clock() > deadline:
                raise BackendError(f"the kubelet did not restart {target.name} within {self.restart_timeout_s:g}s")
            time.sleep(0.1)

    def pause(self, target: TargetRef) -> None:
        self.agents.request(self._current(target), "freeze", keep=True, lease=self.lease.hold())

    def unpause(self, target: TargetRef) -> None:
        for action in self.agents.kept(target.where, "freeze"):
            if (action.get("status") or {}).get("phase") == "Applied":
                self.agents.revert(action["metadata"]["name"])
            else:  # thawed by the dead-man switch, or never frozen: only the record is left
                self.api.delete_action(self.agent_namespace, action["metadata"]["name"])

    # -- networks: not Docker's -------------------------------------------------------
    def networks(self, target: TargetRef) -> dict[str, tuple[str, ...]]:
        return {}

    def disconnect(self, target: TargetRef, network: str) -> None:
        raise BackendError("pods have no Docker networks to disconnect: use the network faults through "
                           "the in-cluster Toxiproxy")

    def connect(self, target: TargetRef, network: str, aliases: Sequence[str] = ()) -> None:
        self.disconnect(target, network)

    # -- inside the container -------------------------------------------------------------
    def exec(self, target: TargetRef, argv: Sequence[str], detach: bool = False,
             timeout_s: float | None = None) -> tuple[int | None, str]:
        w = target.where
        if detach:
            # The exec session ends at once; setsid keeps the process alive after it, in the container.
            argv = ["sh", "-c", f"setsid {shlex.join(argv)} </dev/null >/dev/null 2>&1 &"]
        elif timeout_s is not None:
            # Killed in the container when it overruns (the exec session alone would leave it running).
            argv = ["timeout", "-s", "KILL", f"{timeout_s:g}", *argv]
        code, output = self.api.exec(w["namespace"], w["pod"], w["container"], argv,
                                     **({"timeout_s": timeout_s + 10} if timeout_s is not None and not detach else {}))
        if timeout_s is not None and not detach and code == 137:
            raise CommandTimedOut(f"exec in {target.name}: {shlex.join(argv[4:])[:100]!r} did not finish "
                                  f"within {timeout_s:g}s and was killed")
        return (None, "") if detach else (code, output)

    def count_processes(self, target: TargetRef, match: ProcessMatch) -> int:
        return self._signal(target, match, None)

    def signal_processes(self, target: TargetRef, match: ProcessMatch, signal: str) -> int:
        return self._signal(target, match, signal)

    def _signal(self, target: TargetRef, match: ProcessMatch, signal: str | None) -> int:
        if self.state(target) == "stopped":
            return 0
        spec = {"match": {"name": match.name, "cmdline": match.cmdline_contains, "descendants": match.descendants},
                **({"signal": signal} if signal else {})}
        return len(self.agents.request(self._current(target), "signal", spec).get("pids") or ())

    # -- the container's files (through exec: the file lives in the pod's volume) ------------
    def file_location(self, target: TargetRef, directory: str, name: str) -> str:
        w = target.where
        path = "/".join(part for part in (*directory.split("/"), name) if part)
        return f"{_LOCATION}{w['namespace']}/{w['pod']}/{w['container']}/{path}"

    def filesystem_usage(self, location: str) -> FilesystemUsage:
        where, path = _parse_location(location)
        code, out = self.api.exec(*where, ["stat", "-f", "-c", "%S %b %a", path.rsplit("/", 1)[0] or "/"])
        try:
            block, total, free = (int(v) for v in out.split())
        except ValueError:
            raise BackendError(f"cannot read the filesystem of {location}: {out.strip()}") from None
        return FilesystemUsage(block * total, block * free)

    def fill_file(self, location: str, size: int) -> None:
        where, path = _parse_location(location)
        # fallocate is instant; where the filesystem lacks it, write zeros (a full disk ends the write: no error).
        script = '[ -e "$1" ] || fallocate -l "$2" "$1" 2>/dev/null || head -c "$2" /dev/zero >"$1" 2>/dev/null; true'
        self.api.exec(*where, ["sh", "-c", script, "sh", path, str(size)])

    def remove_file(self, location: str) -> None:
        where, path = _parse_location(location)
        try:
            self.api.exec(*where, ["rm", "-f", path])
        except TargetNotFound:
            pass  # the pod is gone, and its ephemeral volume with it


def _ready(pod: Mapping[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or ())


def _parse_location(location: str) -> tuple[tuple[str, str, str], str]:
    if not location.startswith(_LOCATION):
        raise BackendError(f"{location!r} is not a file in a pod")
    namespace, pod, rest = location[len(_LOCATION):].split("/", 2)
    container, _, path = rest.partition("/")
    return (namespace, pod, container), "/" + path
