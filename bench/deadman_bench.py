"""The dead-man switch under SIGKILL: is every fault reverted with nobody running rollback?

For each fault kind that needs no sample stack, ``--trials`` times: a real
``chaoskit run`` (its own process group, a private ledger and state
directory) applies the fault; once the fault is seen on the target, the
whole process group gets SIGKILL and nothing else is touched. Counted: the
faults seen reverted within ``dead_man + 2 s`` (and how long it took), and
the journals that read back and are marked crashed. Then, ``--ledger-ops``
record/revert cycles on one ledger (fsync'd, as in a run) time each
operation after that many faults.

    .venv/bin/python -m bench.deadman_bench [--trials 20] [--dead-man 5] [--ledger-ops 20000]

Kinds: network.latency and network.down on a real Toxiproxy; container.kill,
pause and stop on a throwaway container; disk.fill on a 64 MiB tmpfs in it;
process.cpu_hog in it. Sized for 2 cores: 1 s baselines, one run at a time.
Everything it creates carries the label chaoskit.bench=1 and is removed at
the end. The hypervisor's steal (/proc/stat) is printed beside the times.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.fault_bench import start_services
from chaoskit.adapters.backends import Backends
from chaoskit.adapters.docker_engine import DockerEngine
from chaoskit.errors import JournalUnreadable
from chaoskit.journal import read_journal
from chaoskit.log import configure
from chaoskit.run.acts import FaultAct
from chaoskit.run.ledger import Ledger
from chaoskit.testing import FakeFaults

LABELS = {"chaoskit.bench": "1"}

EXPERIMENT = """
title: dead-man bench, {kind}
environment: {{toxiproxy_url: "{toxiproxy}"}}
phases: {{warmup: 0s, baseline: 1s, fault: 120s, recovery: 1s}}
safety: {{dead_man: {dead_man}s}}
steady_state:
  title: nginx answers
  probes:
    - {{name: page, type: http, url: "http://127.0.0.1:{web_port}/", timeout: 2s, tolerance: {{status: 200}}}}
method:
  - fault: {kind}
{step}
"""


def cpu_steal() -> tuple[int, int]:
    """(stolen, total) clock ticks of all cores so far, from /proc/stat."""
    with open("/proc/stat") as stat:
        ticks = [int(v) for v in stat.readline().split()[1:]]
    return ticks[7], sum(ticks)


class Kinds:
    """Per fault kind: the experiment step, and whether the fault is visible on the target now."""

    def __init__(self, engine: DockerEngine, backends: Any, victim: Any):
        self.engine, self.toxiproxy, self.victim = engine, backends.toxiproxy, victim

    def step(self, kind: str) -> str:
        target = f"    target: {{name: {self.victim.name}}}\n"
        return {
            "network.latency": "    params: {proxy: web, latency_ms: 100}",
            "network.down": "    params: {proxy: web}",
            "container.kill": target,
            "container.pause": target,
            "container.stop": target + "    params: {timeout: 1s}",
            "disk.fill": target + "    params: {path: /fill, percent: 0.9}",
            "process.cpu_hog": target + "    params: {workers: 1, max_duration: 300s}",
        }[kind].rstrip("\n")

    def applied(self, kind: str) -> bool:
        if kind == "network.latency":
            return bool(self.toxiproxy.proxy("web").toxics)
        if kind == "network.down":
            return not self.toxiproxy.proxy("web").enabled
        self.victim.reload()
        status = self.victim.status
        if kind in ("container.kill", "container.stop"):
            return status != "running"
        if kind == "container.pause":
            return status == "paused"
        if kind == "disk.fill":
            return self._fill_used_pct() > 50
        return any("chaoskit-hog" in " ".join(p) for p in self.victim.top().get("Processes") or [])

    def _fill_used_pct(self) -> float:
        code, out = self.victim.exec_run(["df", "-P", "/fill"])
        return float(out.decode().splitlines()[-1].split()[4].rstrip("%")) if code == 0 else 0.0


def trial(kinds: Kinds, kind: str, dead_man: float, workdir: Path, toxiproxy_url: str, web_port: int) -> dict[str, Any]:
    """One run killed mid-fault: seconds until reverted (None if not within the limit), journal readable+crashed."""
    experiment = workdir / f"{kind}.yaml"
    experiment.write_text(EXPERIMENT.format(kind=kind, toxiproxy=toxiproxy_url, web_port=web_port,
                                            dead_man=dead_man, step=kinds.step(kind)))
    ledger, journal = workdir / "ledger.jsonl", workdir / f"{kind}-{uuid.uuid4().hex[:6]}.json"
    env = {**os.environ, "CHAOSKIT_LEDGER": str(ledger), "CHAOSKIT_HOME": str(workdir / "home")}
    proc = subprocess.Popen([sys.executable, "-m", "chaoskit", "--log-format", "json", "run", str(experiment),
                             "--journal", str(journal)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    result: dict[str, Any] = {"kind": kind, "reverted_s": None, "journal": False, "applied": False}
    try:
        result["applied"] = _wait(lambda: kinds.applied(kind), 30)
        if not result["applied"]:
            return result
    finally:
        killed = time.monotonic()
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    limit = dead_man + 2
    if _wait(lambda: not kinds.applied(kind), limit + 3):
        result["reverted_s"] = round(time.monotonic() - killed, 3)
    if _wait(lambda: "guard.reverted" in journal.read_text(), 3):
        try:
            result["journal"] = read_journal(journal).crashed
        except JournalUnreadable:
            pass
    if Ledger(ledger).pending():  # not reverted: leave nothing for the next trial
        subprocess.run([sys.executable, "-m", "chaoskit", "rollback", "--force"], env=env, capture_output=True)
    return result


def _wait(ready: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if ready():
                return True
        except Exception:  # noqa: BLE001 - a target mid-restart answers oddly for a moment
            pass
        time.sleep(0.05)
    return False


def ledger_ops(path: Path, cycles: int) -> dict[str, float]:
    """Time each record and revert (fsync'd) over ``cycles`` faults; the last 1,000 operations' figures, in ms.

    Through FaultAct with a fault that touches nothing, so only the ledger is timed.
    """
    ledger, backends, faults = Ledger(path), Backends(), FakeFaults()
    times: list[float] = []
    for _ in range(cycles):
        act = FaultAct(faults("fake.fault", {}), backends, ledger, "bench")
        t0 = time.perf_counter()
        act.apply()
        t1 = time.perf_counter()
        act.revert()
        times += [t1 - t0, time.perf_counter() - t1]
    last = sorted(t * 1000 for t in times[-1000:])
    fsyncs = sorted(_fsync_ms(path.with_name("fsync-probe")) for _ in range(500))  # the disk's share, for context
    return {"fsync_p50_ms": round(statistics.median(fsyncs), 2), "fsync_p99_ms": round(fsyncs[int(len(fsyncs) * 0.99)], 2),
            "p50_ms": round(statistics.median(last), 2), "p99_ms": round(last[int(len(last) * 0.99)], 2),
            "max_ms": round(last[-1], 2), "lines": len(path.read_bytes().splitlines())}


def _fsync_ms(path: Path) -> float:
    with open(path, "ab") as out:
        out.write(b"x" * 200)
        out.flush()
        t0 = time.perf_counter()
        os.fsync(out.fileno())
        return (time.perf_counter() - t0) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--dead-man", type=float, default=5.0)
    parser.add_argument("--kinds", default="network.latency,network.down,container.kill,container.pause,"
                                           "container.stop,disk.fill,process.cpu_hog")
    parser.add_argument("--ledger-ops", type=int, default=20_000)
    args = parser.parse_args()
    configure("console", 0)
    engine = DockerEngine.connect()
    network = engine.client.networks.create(f"bench-deadman-{uuid.uuid4().hex[:6]}", labels=LABELS)
    made: list[Any] = []
    try:
        _, backends, web_port, _ = start_services(engine, network.name, made)
        victim = engine.client.containers.run(
            "debian:bookworm-slim", ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"], detach=True,
            labels=LABELS, network=network.name, name=f"bench-victim-{uuid.uuid4().hex[:6]}",
            tmpfs={"/fill": "size=64m"})
        made.append(victim)
        kinds = Kinds(engine, backends, victim)
        with tempfile.TemporaryDirectory(prefix="deadman-bench-") as tmp:
            for kind in args.kinds.split(","):
                steal0, started = cpu_steal(), time.monotonic()
                results = [trial(kinds, kind, args.dead_man, Path(tmp), backends.toxiproxy_url, web_port)
                           for _ in range(args.trials)]
                steal1 = cpu_steal()
                steal = 100 * (steal1[0] - steal0[0]) / max(1, steal1[1] - steal0[1])
                times = [r["reverted_s"] for r in results if r["reverted_s"] is not None]
                within = sum(1 for t in times if t <= args.dead_man + 2)
                print(f"{kind:16} applied {sum(r['applied'] for r in results)}/{args.trials}  reverted within "
                      f"{args.dead_man + 2:g}s {within}/{args.trials}  crashed journals "
                      f"{sum(r['journal'] for r in results)}/{args.trials}  revert s p50 "
                      f"{statistics.median(times) if times else float('nan'):.2f} max "
                      f"{max(times) if times else float('nan'):.2f}  ({time.monotonic() - started:.0f}s, "
                      f"steal {steal:.1f}%)", flush=True)
            if args.ledger_ops:
                steal0 = cpu_steal()
                figures = ledger_ops(Path(tmp) / "ops.jsonl", args.ledger_ops)
                steal1 = cpu_steal()
                steal = 100 * (steal1[0] - steal0[0]) / max(1, steal1[1] - steal0[1])
                print(f"ledger after {args.ledger_ops} faults: last 1000 ops p50 {figures['p50_ms']} ms, p99 "
                      f"{figures['p99_ms']} ms, max {figures['max_ms']} ms; {figures['lines']} lines on disk; one bare fsync "
                      f"here p50 {figures['fsync_p50_ms']} ms, p99 {figures['fsync_p99_ms']} ms "
                      f"(steal {steal:.1f}%)", flush=True)
    finally:
        for container in made:
            try:
                container.remove(force=True)
            except Exception:  # noqa: BLE001 - best effort: the label lets a sweep find it
                pass
        network.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main())
