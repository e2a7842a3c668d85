"""`cluster.sh down` leaves the host as `up` found it; `up` again brings the cluster back within seconds.

Runs after test_stack.py (file order) and leaves the cluster up, as it found it.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import psutil
import pytest

from tests.integration.kubernetes.conftest import STATE, Cluster, cluster_is_up, cluster_sh

pytestmark = pytest.mark.kubernetes

RUN = STATE / "run"


def chains() -> set[str]:
    """The KUBE-* and CNI-* chains as "iptables TABLE CHAIN" (the format of up's chains.before), IPv4 and IPv6."""
    found = set()
    for ipt in ("iptables", "ip6tables"):
        table = ""
        for line in subprocess.run([f"{ipt}-save"], capture_output=True, text=True, check=True).stdout.splitlines():
            if line.startswith("*"):
                table = line[1:]
            elif line.startswith((":KUBE-", ":CNI-")):
                found.add(f"{ipt} {table} {line.split()[0][1:]}")
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (this machine's init reaps orphans late)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def sysctl(key: str) -> str:
    return Path("/proc/sys", *key.split(".")).read_text().strip()


def test_down_restores_the_host_and_up_brings_the_cluster_back(cluster: Cluster) -> None:
    """After down: no process, chain, bridge, mount, netns or cgroup of the cluster; sysctls as before."""
    assert cluster_is_up()
    original = dict(line.split("=", 1) for line in (RUN / "sysctl.orig").read_text().split())
    chains_before = set((RUN / "chains.before").read_text().splitlines())
    netns_before = set((RUN / "netns.before").read_text().split())
    assert chains() - chains_before, "the cluster should have added its chains"
    pids = [int((RUN / f).read_text()) for f in ("etcd.pid", "kube-apiserver.pid", "kubelet.pid", "containerd.pid")]
    assert sysctl("vm.overcommit_memory") == "1", "the kubelet should have changed it while it runs"

    started = time.monotonic()
    cluster_sh("down")
    print(f"down took {time.monotonic() - started:.1f} s")

    assert [pid for pid in pids if running(pid)] == []
    shims = [p.info["cmdline"] for p in psutil.process_iter(["name", "cmdline"])
             if (p.info["name"] or "").startswith("containerd-shim")
             and str(RUN / "containerd") in " ".join(p.info["cmdline"] or ())]
    assert shims == []
    assert {key: sysctl(key) for key in original} == original
    assert chains() - chains_before == set()
    assert not Path("/sys/class/net/k8s0").exists()
    mounts = Path("/proc/self/mounts").read_text()
    assert f" {STATE}/" not in mounts
    assert [p for p in Path("/sys/fs/cgroup").glob("*/kubepods")] == []
    assert {p.name for p in Path("/var/run").glob("netns/cni-*")} - netns_before == set()

    started = time.monotonic()
    cluster_sh("up")
    print(f"up again (state kept) took {time.monotonic() - started:.1f} s")
    assert cluster_is_up()
