#!/usr/bin/env python3
"""The chaoskit node agent: carries out FaultActions addressed to its node, from the host's PID namespace.

Run by a privileged DaemonSet with host PID and host network (the API server
may listen on the node's loopback only). Standard library only, so its image
is Debian's python3 and this file. It watches the FaultAction objects
labelled with its node, and for each:

  kill     signal the container's main process (its init: the one process of the
           container's cgroup whose parent is outside it); SIGKILL works from here,
           unlike from inside the container
  signal   signal (or, without spec.signal, only count) the container's processes
           matching spec.match {name, cmdline, descendants}
  freeze   freeze the container's cgroup (v1 freezer or v2 cgroup.freeze); thawed
           when the controller sets spec.revert, or when spec.lease (the
           controller's coordination.k8s.io Lease) has not been renewed for its
           duration: the dead-man switch

and writes what it observed to the object's status (phase Done, Applied,
Reverted or Failed). Its RBAC allows reading FaultActions and Leases and
writing FaultAction status, nothing else.
"""

from __future__ import annotations

import glob
import json
import os
import signal as signals
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

GROUP = "/apis/chaoskit.io/v1alpha1"
SA = "/var/run/secrets/kubernetes.io/serviceaccount"
API = os.environ.get("CHAOSKIT_API", "https://127.0.0.1:6443")
NODE = os.environ.get("NODE_NAME", "")
NAMESPACE = os.environ.get("POD_NAMESPACE", "chaoskit-system")
CGROUP_ROOT = os.environ.get("CHAOSKIT_CGROUP_ROOT", "/host/sys/fs/cgroup")
LEASE_CHECK_S = 0.5


def log(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, "node": NODE, **fields}), flush=True)


class Api:
    def __init__(self) -> None:
        self.context = ssl.create_default_context(cafile=f"{SA}/ca.crt")

    def call(self, method: str, path: str, body: object = None, timeout: float = 15) -> dict:
        with open(f"{SA}/token") as f:  # re-read: projected tokens are rotated
            token = f.read().strip()
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(API + path, data=data, method=method, headers={
            "Authorization": f"Bearer {token}", "Accept": "application/json",
            "Content-Type": "application/merge-patch+json"})
        with urllib.request.urlopen(request, context=self.context, timeout=timeout) as response:
            return json.loads(response.read() or b"{}")

    def actions_path(self) -> str:
        return f"{GROUP}/namespaces/{NAMESPACE}/faultactions"

    def set_status(self, name: str, status: dict) -> None:
        self.call("PATCH", f"{self.actions_path()}/{name}/status",
                  {"status": {**status, "agent": NODE, "at": _now()}})


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- the container on this node ---------------------------------------------------------

def cgroup_dirs(pod_uid: str, container_id: str) -> list[str]:
    """The container's cgroup directories (one per v1 hierarchy, or the one v2 directory)."""
    found = glob.glob(f"{CGROUP_ROOT}/*/kubepods*/**/*{container_id}*", recursive=True)
    found += glob.glob(f"{CGROUP_ROOT}/kubepods*/**/*{container_id}*", recursive=True)
    under_pod = [d for d in found if pod_uid in d or pod_uid.replace("-", "_") in d]
    if not under_pod:
        raise LookupError(f"no cgroup for container {container_id[:12]} of pod {pod_uid} on {NODE}")
    return under_pod


def container_pids(dirs: list[str]) -> set[int]:
    for d in dirs:
        try:
            with open(f"{d}/cgroup.procs") as f:
                pids = {int(line) for line in f if line.strip()}
        except OSError:
            continue
        if pids:
            return pids
    return set()


def _stat(pid: int) -> tuple[str, int] | None:
    """(comm, ppid) of a host process, None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            raw = f.read()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1: raw.rindex(")")]
    return comm, int(raw[raw.rindex(")") + 2:].split()[1])


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def main_pid(pids: set[int]) -> int:
    inits = sorted(pid for pid in pids if (st := _stat(pid)) is not None and st[1] not in pids)
    if not inits:
        raise LookupError("the container has no running process")
    return inits[0]


def matching(pids: set[int], match: dict) -> list[int]:
    me = os.getpid()
    stats = {pid: st for pid in pids if (st := _stat(pid)) is not None}
    found = [pid for pid, (comm, _) in stats.items() if pid != me
             and (match.get("name") is None or comm == match["name"])
             and (match.get("cmdline") is None or match["cmdline"] in _cmdline(pid))]
    if match.get("descendants"):
        children: dict[int, list[int]] = {}
        for pid, (_, ppid) in stats.items():
            children.setdefault(ppid, []).append(pid)
        stack = list(found)
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in found:
                    found.append(child)
                    stack.append(child)
    return sorted(found)


def set_frozen(dirs: list[str], frozen: bool) -> str:
    v1 = [d for d in dirs if "/freezer/" in d]
    if v1:
        path, value = f"{v1[0]}/freezer.state", "FROZEN" if frozen else "THAWED"
    else:
        path, value = f"{dirs[0]}/cgroup.freeze", "1" if frozen else "0"
    with open(path, "w") as f:
        f.write(value)
    deadline = time.monotonic() + 5
    while True:  # v1 passes through FREEZING while tasks are stopped
        with open(path) as f:
            state = f.read().strip()
        if state == value or time.monotonic() > deadline:
            return state
        time.sleep(0.01)


# -- the actions ---------------------------------------------------------------------------

def _signum(name: str) -> int:
    return int(signals.Signals[name if name.startswith("SIG") else f"SIG{name}"])


def carry_out(spec: dict, status: dict) -> dict | None:
    """The status to write for this object, or None when nothing is to be done."""
    phase, action = status.get("phase"), spec.get("action")
    if phase in ("Done", "Failed", "Reverted") or (phase == "Applied" and not spec.get("revert")):
        return None
    dirs = cgroup_dirs(spec["podUID"], spec["containerID"])
    if action == "kill":
        pid = main_pid(container_pids(dirs))
        os.kill(pid, _signum(spec.get("signal") or "SIGKILL"))
        return {"phase": "Done", "pids": [pid]}
    if action == "signal":
        pids = matching(container_pids(dirs), spec.get("match") or {})
        sent = []
        for pid in pids:
            try:
                if spec.get("signal"):
                    os.kill(pid, _signum(spec["signal"]))
                sent.append(pid)
            except ProcessLookupError:
                continue
        return {"phase": "Done", "pids": sent}
    if action == "freeze":
        if spec.get("revert"):
            return {"phase": "Reverted", "state": set_frozen(dirs, False)}
        return {"phase": "Applied", "state": set_frozen(dirs, True)}
    return {"phase": "Failed", "message": f"unknown action {action!r}"}


def reconcile(api: Api, obj: dict) -> None:
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    if spec.get("node") != NODE:
        return
    try:
        result = carry_out(spec, status)
    except (LookupError, OSError, KeyError, ValueError) as exc:
        result = {"phase": "Failed", "message": f"{type(exc).__name__}: {exc}"}
    if result is not None:
        api.set_status(meta["name"], result)
        log("agent.action", name=meta["name"], action=spec.get("action"), **result)


def lease_expired(api: Api, name: str) -> bool:
    try:
        lease = api.call("GET", f"/apis/coordination.k8s.io/v1/namespaces/{NAMESPACE}/leases/{name}")
    except urllib.error.HTTPError as exc:
        return exc.code == 404
    spec = lease.get("spec") or {}
    renewed = datetime.strptime(spec["renewTime"].rstrip("Z")[:26], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc)
    return (datetime.now(timezone.utc) - renewed).total_seconds() > spec.get("leaseDurationSeconds", 10)


def dead_man_switch(api: Api, held: dict[str, dict]) -> None:
    """Thaw what was frozen for a controller whose lease expired."""
    expired: dict[str, bool] = {}
    for name, obj in list(held.items()):
        spec = obj.get("spec") or {}
        lease = spec.get("lease")
        if not lease:
            continue
        if lease not in expired:
            expired[lease] = lease_expired(api, lease)
        if expired[lease]:
            try:
                state = set_frozen(cgroup_dirs(spec["podUID"], spec["containerID"]), False)
            except (LookupError, OSError) as exc:
                state = f"gone ({exc})"
            api.set_status(name, {"phase": "Reverted", "state": state, "message": f"lease {lease} expired"})
            log("agent.lease_expired", name=name, lease=lease, state=state)
            held.pop(name, None)


def run() -> None:
    api = Api()
    selector = f"labelSelector=chaoskit.io%2Fnode%3D{NODE}"
    held: dict[str, dict] = {}  # applied freezes, by object name; the watch fills it, the switch empties it
    lock = threading.Lock()
    threading.Thread(target=guard, args=(api, held, lock), name="dead-man-switch", daemon=True).start()
    log("agent.started", api=API, namespace=NAMESPACE)
    while True:
        try:
            listed = api.call("GET", f"{api.actions_path()}?{selector}")
            for obj in listed["items"]:
                track(api, obj, held, lock)
            watch(api, selector, listed["metadata"]["resourceVersion"], held, lock)
        except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
            log("agent.api_error", error=str(exc))
            time.sleep(1)


def guard(api: Api, held: dict[str, dict], lock: threading.Lock) -> None:
    while True:
        time.sleep(LEASE_CHECK_S)
        try:
            with lock:
                dead_man_switch(api, held)
        except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
            log("agent.lease_check_failed", error=str(exc))


def track(api: Api, obj: dict, held: dict[str, dict], lock: threading.Lock) -> None:
    """Carry the object out and remember it while it is an applied freeze."""
    with lock:
        reconcile(api, obj)
        name = obj["metadata"]["name"]
        fresh = api.call("GET", f"{api.actions_path()}/{name}")
        if (fresh.get("status") or {}).get("phase") == "Applied":
            held[name] = fresh
        else:
            held.pop(name, None)


def watch(api: Api, selector: str, version: str, held: dict[str, dict], lock: threading.Lock) -> None:
    """Follow changes until the server ends the watch (then the caller lists again)."""
    with open(f"{SA}/token") as f:
        token = f.read().strip()
    request = urllib.request.Request(
        f"{API}{api.actions_path()}?{selector}&watch=1&resourceVersion={version}&timeoutSeconds=60",
        headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, context=api.context, timeout=70) as stream:
        for line in stream:
            event = json.loads(line)
            if event.get("type") == "ERROR":
                return
            if event["type"] == "DELETED":
                with lock:
                    held.pop(event["object"]["metadata"]["name"], None)
                continue
            try:
                track(api, event["object"], held, lock)
            except urllib.error.HTTPError as exc:
                if exc.code != 404:  # deleted meanwhile: nothing to track
                    raise


if __name__ == "__main__":
    if not NODE:
        sys.exit("NODE_NAME is not set (the DaemonSet passes spec.nodeName)")
    run()
