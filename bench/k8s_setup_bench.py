"""Set-up times and idle footprint of the single-node Kubernetes cluster (compose/kubernetes/cluster.sh).

Each trial times, with the binaries already built:
  * fresh state: ``down --purge`` then ``up`` (new PKI, etcd, containerd state, pause image imported);
  * restart:     ``down`` then ``up`` with the state kept;
then, on the last trial, ``deploy`` (the sample stack, images imported, data loaded) and the resident
memory of every component once idle (``--idle`` seconds), with the pods' processes counted apart.
The build itself (about 10 min on 2 cores) is read from the last build's log, or measured from
scratch in a throw-away directory with ``--build``. Steal (the hypervisor's share of the CPUs) is
printed beside each timing. It needs the cluster down at the start and leaves it down.

    .venv/bin/python -m bench.k8s_setup_bench [--trials 3] [--idle 20] [--build]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ROOT / "compose" / "kubernetes" / "cluster.sh"
STATE = Path(os.environ.get("CHAOSKIT_K8S_DIR", "/var/lib/chaoskit/kubernetes"))
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "containerd", "kubelet",
              "kube-proxy")


def cpu_ticks() -> tuple[int, int]:
    """(steal, total) jiffies of all CPUs, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[7], sum(fields)


def timed(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> tuple[float, float]:
    """Run cluster.sh ARGS; (wall seconds, steal %)."""
    before, started = cpu_ticks(), time.monotonic()
    done = subprocess.run([str(CLUSTER), *args], capture_output=True, text=True, timeout=timeout, env=env, check=False)
    wall = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"cluster.sh {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    after = cpu_ticks()
    return wall, 100 * (after[0] - before[0]) / max(1, after[1] - before[1])


def is_up() -> bool:
    return subprocess.run([str(CLUSTER), "status"], capture_output=True, check=False).returncode == 0


def idle_rss_mib(state: Path) -> tuple[dict[str, float], float, int]:
    """RSS per component, and of the pods (our containerd's shims and everything under them)."""
    rss = {}
    for name in COMPONENTS:
        rss[name] = psutil.Process(int((state / "run" / f"{name}.pid").read_text())).memory_info().rss / 2**20
    sock = str(state / "run" / "containerd" / "containerd.sock")
    shims = [p for p in psutil.process_iter(["cmdline"]) if sock in " ".join(p.info["cmdline"] or ())]
    pods = {p.pid: p for shim in shims for p in [shim, *shim.children(recursive=True)]}
    return rss, sum(p.memory_info().rss for p in pods.values()) / 2**20, len(shims)


def last_build_seconds(state: Path) -> str:
    log = state / "logs" / "build.log"
    found = re.findall(r"build wall time: (\d+) s", log.read_text()) if log.exists() else []
    return f"{found[-1]} s (from {log})" if found else "not recorded"


def fresh_build() -> None:
    """A complete first `up` (download, build, start) in a throw-away directory, then its removal."""
    scratch = Path(tempfile.mkdtemp(prefix="k8s-bench-", dir="/var/tmp"))
    env = {**os.environ, "CHAOSKIT_K8S_DIR": str(scratch)}
    try:
        wall, steal = timed("up", env=env, timeout=3600)
        print(f"first up including the build: {wall:.0f} s (steal {steal:.1f}%)")
    finally:
        subprocess.run([str(CLUSTER), "down", "--purge"], env=env, capture_output=True, check=False)
        subprocess.run(["rm", "-rf", str(scratch)], check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--idle", type=float, default=20.0, help="seconds to let the cluster settle before RSS")
    parser.add_argument("--build", action="store_true", help="also time a first up with the build (~10 min)")
    args = parser.parse_args()
    if is_up():
        sys.exit("the cluster is up: the bench would take it down; run `cluster.sh down` first")
    if args.build:
        fresh_build()
    print(f"build (last): {last_build_seconds(STATE)}")
    try:
        for trial in range(1, args.trials + 1):
            timed("down", "--purge")
            fresh, fresh_steal = timed("up")
            timed("down")
            restart, restart_steal = timed("up")
            print(f"trial {trial}: up with fresh state {fresh:.1f} s (steal {fresh_steal:.1f}%), "
                  f"restart with state {restart:.1f} s (steal {restart_steal:.1f}%)")
        time.sleep(args.idle)
        rss, pods, n = idle_rss_mib(STATE)
        per_component = ", ".join(f"{k} {v:.0f}" for k, v in rss.items())
        print(f"idle RSS (MiB): {per_component}; total {sum(rss.values()):.0f}")
        deploy, deploy_steal = timed("deploy")
        print(f"deploy of the sample stack (images imported, data loaded): {deploy:.1f} s (steal {deploy_steal:.1f}%)")
        time.sleep(args.idle)
        rss, pods, n = idle_rss_mib(STATE)
        print(f"with the stack idle: components {sum(rss.values()):.0f} MiB, {n} pods {pods:.0f} MiB "
              f"(shims and containers)")
    finally:
        timed("down", "--purge")
    return 0


if __name__ == "__main__":
    sys.exit(main())
