"""The monkey's scale figures: one scheduling tick over 500 opted-in containers, and 50 kills at once.

Starts ``--containers`` small containers (debian:bookworm-slim ``sleep infinity``,
no network, no logs, no restart policy) labelled as opted in, in parallel but
bounded (2 cores), then, with the real engine and the monkey's own code paths:

* tick: ``Monkey.plan_tick`` = list (one sparse engine call, filtered by label on
  the engine) + select + decide, ``--ticks`` times; the decision is the heaviest
  one (every group fires, so all 500 get a decision: ``--kill`` kills, the rest
  skipped by max_concurrent). Also split: the engine's time to answer and its own
  CPU per list call (dockerd's, read from /proc), and chaoskit's CPU per tick.
* kill from the host (what the monkey does on a local engine for containers
  without a restart policy): ``Monkey.execute`` of a plan with ``--kill`` kills,
  ``PARALLEL`` at a time, each one inspected, recorded in a (temporary) ledger
  with fsync, then its main process checked (cgroup, pinned by a pidfd) and sent
  SIGKILL. The headline figure is "killed" as the engine sees it: from the start
  of ``execute`` until one list call (filtered to the victims, polled every
  0.1 s) reports none of them running. Before that, the users' view: every main
  process gone (the service is dead), watched through pidfds at no CPU cost;
  in between the engine tears each container down (task delete, unmounts)
  before it records the exit, and that part is the engine's work.
* kill through the engine's API (what the monkey does for containers with a
  restart policy, and for a remote engine): the same over ``--kill`` more
  containers started with ``restart: unless-stopped``, so the monkey's own choice
  sends them through the API;
  each API SIGKILL returns only once the engine has recorded that exit, so when
  ``execute`` returns the engine reports all of them down. And the same kills as
  bare SDK calls, for the engine's share.
* restart: ``Monkey.revert_open``: each started again and marked reverted.

    .venv/bin/python -m bench.monkey_bench [--containers 500] [--kill 50] [--ticks 20]

Everything it creates carries chaoskit.test=1 and chaoskit.bench=monkey and is
removed at the end, also on Ctrl-C / SIGTERM or an error; containers left by an
earlier bench whose process is gone are removed at the start. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any


import psutil
import structlog

# Before chaoskit is imported: its modules bind their loggers at import time. Decisions are
# logged at info; the bench measures the work, not a terminal scrolling 500 lines.
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
                    logger_factory=structlog.PrintLoggerFactory(file=sys.stderr))

from chaoskit.adapters.backends import Backends
from chaoskit.model.probes import Hypothesis
from chaoskit.run.ledger import Ledger
from chaoskit.schedule.monkey import Monkey
from chaoskit.schedule.monkey_config import PARALLEL, MonkeyConfig, MonkeyPolicy, MonkeySettings
from chaoskit.journal import MonkeyJournal
from chaoskit.schedule.monkey_observer import NoProbes

IMAGE = "debian:bookworm-slim"
BENCH = {"chaoskit.test": "1", "chaoskit.bench": "monkey"}
TICK_BUDGET_MS = 200.0
KILL_BUDGET_S = 3.0


class Stop(Exception):
    pass


def sweep_dead(client: Any) -> int:
    """Remove what an earlier bench left behind (its pid is gone)."""
    stale = [c["Id"] for c in client.api.containers(all=True, filters={"label": "chaoskit.bench=monkey"})
             if not psutil.pid_exists(int((c.get("Labels") or {}).get("chaoskit.bench.pid", "0") or 0))]
    remove(client, stale, workers=6)
    return len(stale)


def remove(client: Any, ids: list[str], workers: int) -> None:
    def one(cid: str) -> None:
        try:
            client.api.remove_container(cid, force=True)
        except Exception as exc:  # noqa: BLE001 - already gone is fine; report anything else and go on
            if "No such container" not in str(exc):
                print(f"warning: could not remove {cid[:12]}: {exc}", file=sys.stderr)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(one, ids))


def create(client: Any, count: int, labels: dict[str, str], workers: int, created: list[str],
           restart: str = "no") -> None:
    group = labels["chaoskit.bench.group"]

    def one(i: int) -> None:
        container = client.containers.run(IMAGE, ["sleep", "infinity"], detach=True, labels=labels,
                                          name=f"chaoskit-monkey-bench-{labels['chaoskit.bench.run']}-{group}-{i:03d}",
                                          network_mode="none", log_config={"type": "none"},
                                          restart_policy={"Name": restart})
        created.append(container.id)  # list.append is atomic: the cleanup sees every one created

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(one, i) for i in range(count)]:
            future.result()


class DeathWatch(threading.Thread):
    """When every one of these host processes has exited (the kills took effect), whatever the engine still records.

    Each process is pinned by a pidfd, which becomes readable when it exits: the
    wait costs no CPU, so it does not slow the engine it is compared with.
    """

    def __init__(self, pids: list[int]):
        super().__init__(daemon=True)
        self.pidfds = [os.pidfd_open(pid) for pid in pids]
        self.origin = 0.0
        self.all_dead_after: float | None = None

    def start(self, origin: float) -> None:  # type: ignore[override]
        self.origin = origin
        super().start()

    def run(self) -> None:
        poller = select.poll()
        for fd in self.pidfds:
            poller.register(fd, select.POLLIN)
        waiting = set(self.pidfds)
        deadline = time.perf_counter() + 30
        while waiting and time.perf_counter() < deadline:
            for fd, _ in poller.poll(1000):
                poller.unregister(fd)
                waiting.discard(fd)
        if not waiting:
            self.all_dead_after = time.perf_counter() - self.origin
        for fd in self.pidfds:
            os.close(fd)


def engine_reports_down(client: Any, ids: list[str], origin: float, timeout_s: float = 60.0) -> float | None:
    """Seconds from ``origin`` until one list call reports none of ``ids`` running (polled every 0.1 s).

    Filtered by id on the engine, the call costs it ~10 ms of CPU, not the ~70 ms
    a list of all 500 does: the poll must not slow the teardown it is timing.
    """
    while time.perf_counter() - origin < timeout_s:
        if not client.api.containers(filters={"id": ids, "status": "running"}):
            return time.perf_counter() - origin
        time.sleep(0.1)
    return None


class CpuClock:
    """CPU seconds used by one host process (the engine's dockerd), from /proc; None when it is not visible here."""

    def __init__(self, name: str):
        self.process = next((p for p in psutil.process_iter(["name"]) if p.info["name"] == name), None)

    def read(self) -> float | None:
        if self.process is None:
            return None
        times = self.process.cpu_times()
        return times.user + times.system


def _s(seconds: float | None) -> str:
    return "not seen" if seconds is None else f"{seconds:.2f} s"


def _ms(millis: float | None) -> str:
    return "not visible" if millis is None else f"{millis:.1f}"


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure_ticks(monkey: Monkey, args: argparse.Namespace) -> dict[str, Any]:
    """``--ticks`` scheduling ticks (list + select + decide), timed and split; the engine's CPU and ours per tick."""
    list_ms, decide_ms, tick_ms = [], [], []
    load = os.getloadavg()[0]
    dockerd = CpuClock("dockerd")
    engine_cpu0, own_cpu0 = dockerd.read(), time.process_time()
    for index in range(args.ticks):
        start = time.perf_counter()
        containers = monkey.list_containers()
        listed = time.perf_counter()
        plan = monkey.plan_tick(index, containers)
        end = time.perf_counter()
        list_ms.append((listed - start) * 1000)
        decide_ms.append((end - listed) * 1000)
        tick_ms.append((end - start) * 1000)
    engine_cpu1, own_cpu1 = dockerd.read(), time.process_time()
    assert plan.eligible == args.containers, f"listed {plan.eligible} of {args.containers}"
    assert len(plan.kills) == args.kill and len(plan.decisions) == args.containers
    engine_cpu_ms = None if engine_cpu0 is None or engine_cpu1 is None else \
        (engine_cpu1 - engine_cpu0) / args.ticks * 1000
    return {"list_ms": list_ms, "decide_ms": decide_ms, "tick_ms": tick_ms, "load": load,
            "engine_cpu_ms": engine_cpu_ms, "own_cpu_ms": (own_cpu1 - own_cpu0) / args.ticks * 1000}


def measure_host_kills(monkey: Monkey, client: Any, index: int) -> dict[str, Any]:
    """The monkey's kills of a tick from the host, timed until the engine reports them down; then its restarts."""
    plan = monkey.plan_tick(index)
    victims = [d.container.id for d in plan.kills]
    pids = [client.api.inspect_container(cid)["State"]["Pid"] for cid in victims]  # untimed
    watcher = DeathWatch(pids)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    watcher.start(start)
    records = monkey.execute(plan)
    signalled_s = time.perf_counter() - start
    down_s = engine_reports_down(client, victims, start)
    watcher.join(timeout=30)
    start = time.perf_counter()
    monkey.revert_open()
    restart_s = time.perf_counter() - start
    return {"down_s": down_s, "signalled_s": signalled_s, "all_dead_s": watcher.all_dead_after, "load": load,
            "failed": sum(1 for r in records if r.apply_error),
            "from_host": sum(1 for r in records if r.how.startswith("host")), "restart_s": restart_s,
            "up": sum(1 for c in monkey.list_containers() if c.state == "running")}


def measure_api_kills(monkey: Monkey, client: Any, index: int) -> dict[str, Any]:
    """The monkey's kills of containers with a restart policy (through the API); then the same as bare SDK calls."""
    plan = monkey.plan_tick(index)
    victims = [d.container.id for d in plan.kills]
    start = time.perf_counter()
    records = monkey.execute(plan)
    kill_s = time.perf_counter() - start
    down_s = engine_reports_down(client, victims, start)
    monkey.revert_open()
    # The same kills as bare SDK calls at the same parallelism: how much of that is the engine's.
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        list(pool.map(lambda cid: client.api.kill(cid, signal="SIGKILL"), victims))
    raw_kill_s = time.perf_counter() - start
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        list(pool.map(client.api.start, victims))
    return {"kill_s": kill_s, "down_s": down_s, "failed": sum(1 for r in records if r.apply_error),
            "through_api": sum(1 for r in records if r.how.startswith("engine API")), "raw_kill_s": raw_kill_s}


def table(args: argparse.Namespace, ticks: dict[str, Any], host: dict[str, Any], api: dict[str, Any],
          pending: int, create_s: float) -> tuple[list[tuple[str, str, str]], bool]:
    """The Markdown table's rows, and whether every figure is within its budget."""
    tick_ms = ticks["tick_ms"]
    p50, p95, worst = statistics.median(tick_ms), quantile(tick_ms, 0.95), max(tick_ms)
    rows = [
        (f"tick over {args.containers} opted-in containers (list + select + decide), p50", f"{p50:.1f} ms",
         f"<= {TICK_BUDGET_MS:g} ms"),
        (f"tick, p95 / max of {args.ticks}", f"{p95:.1f} / {worst:.1f} ms", f"<= {TICK_BUDGET_MS:g} ms"),
        ("  of which list (one sparse engine call + parse), p50", f"{statistics.median(ticks['list_ms']):.1f} ms", ""),
        ("  of which select + decide (pure), p50", f"{statistics.median(ticks['decide_ms']):.1f} ms", ""),
        ("  CPU per tick: the engine's (dockerd, answering the list) / chaoskit's (parse + select + decide)",
         f"{_ms(ticks['engine_cpu_ms'])} / {ticks['own_cpu_ms']:.1f} ms", ""),
        (f"kill {args.kill} at once from the host, until the engine reports all {args.kill} down "
         f"(no restart policy; {PARALLEL} in parallel)", _s(host["down_s"]), f"<= {KILL_BUDGET_S:g} s"),
        ("  every main process signalled (inspect + ledger fsync + checked SIGKILL, each)",
         f"{host['signalled_s']:.2f} s", ""),
        ("  every killed main process gone (the services are dead)", _s(host["all_dead_s"]), ""),
        ("  killed from the host / failed kills", f"{host['from_host']} / {host['failed']}", f"{args.kill} / 0"),
        (f"kill {args.kill} at once through the engine's API, until the engine reports all down "
         f"(how containers with a restart policy are killed)", _s(api["down_s"]), f"<= {KILL_BUDGET_S:g} s"),
        ("  every API call returned (each returns once the engine recorded that exit) / failed kills",
         f"{api['kill_s']:.2f} s / {api['failed']}", "/ 0"),
        ("  killed through the API (the monkey's choice for a restart policy)", f"{api['through_api']}", f"{args.kill}"),
        (f"  the same {args.kill} API kills as bare SDK calls: the engine's share", f"{api['raw_kill_s']:.2f} s", ""),
        (f"restart {args.kill} killed from the host (start + ledger reverted)", f"{host['restart_s']:.2f} s", ""),
        ("  running after the restart / ledger entries pending at the end", f"{host['up']} / {pending}",
         f"{args.containers} / 0"),
        (f"create {args.containers} containers ({args.create_workers} at once; setup, not a figure)",
         f"{create_s:.1f} s", ""),
        ("load average (1 min) as the ticks / the kills from the host started",
         f"{ticks['load']:.1f} / {host['load']:.1f}", ""),
    ]
    ok = worst <= TICK_BUDGET_MS and all(d is not None and d <= KILL_BUDGET_S for d in (host["down_s"], api["down_s"])) \
        and host["from_host"] == args.kill and not host["failed"] and not api["failed"] \
        and api["through_api"] == args.kill and host["up"] == args.containers and pending == 0
    return rows, ok


def monkeys(backends: Backends, ledger: Ledger, run_id: str, kill: int) -> tuple[Monkey, Monkey]:
    """Two monkeys that kill every opted-in container they may each tick: the plain group's, the restart group's."""
    def monkey(group: str, seed: int) -> Monkey:
        policy = MonkeyPolicy(opt_in={"chaoskit.bench.run": run_id, "chaoskit.bench.group": group},
                              mean_time_between_kills_s=1e-9, grouping="container", max_concurrent=kill, leashed=False)
        config = MonkeyConfig(title="bench", policy=policy, steady_state=Hypothesis("none", ()), baseline_s=0.0)
        return Monkey(config, backends, ledger, MonkeyJournal(None, {"title": "bench"}), MonkeySettings(seed=seed),
                      observer=NoProbes())

    return monkey("host", 1), monkey("api", 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--containers", type=int, default=500)
    parser.add_argument("--kill", type=int, default=50)
    parser.add_argument("--ticks", type=int, default=20)
    parser.add_argument("--create-workers", type=int, default=6, help="containers created at once (2-core machine)")
    args = parser.parse_args()

    def on_signal(signum: int, frame: Any) -> None:
        raise Stop(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    backends = Backends()
    client = backends.engine.client
    run_id = uuid.uuid4().hex[:8]
    # chaoskit.test.pid: test sessions sweep chaoskit.test=1 containers whose owner pid is gone; this one lives.
    labels = {**BENCH, "chaoskit.bench.run": run_id, "chaoskit.bench.pid": str(os.getpid()),
              "chaoskit.test.pid": str(os.getpid()), "chaoskit.test.session": f"monkey-bench-{run_id}"}
    created: list[str] = []
    rows: list[tuple[str, str, str]] = []
    load_before = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    swept = sweep_dead(client)
    if swept:
        print(f"removed {swept} container(s) an earlier bench left behind", file=sys.stderr)
    workdir = Path(tempfile.mkdtemp(prefix="chaoskit-monkey-bench-"))
    try:
        t0 = time.perf_counter()
        create(client, args.containers, {**labels, "chaoskit.bench.group": "host"}, args.create_workers, created)
        create_s = time.perf_counter() - t0
        # Killed through the API, as the monkey kills any container with a restart policy.
        create(client, args.kill, {**labels, "chaoskit.bench.group": "api"}, args.create_workers, created,
               restart="unless-stopped")
        print(f"created {len(created)} containers in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        ledger = Ledger(workdir / "ledger.jsonl")
        host_monkey, api_monkey = monkeys(backends, ledger, run_id, args.kill)
        ticks = measure_ticks(host_monkey, args)
        host = measure_host_kills(host_monkey, client, args.ticks)
        api = measure_api_kills(api_monkey, client, args.ticks)
        rows, ok = table(args, ticks, host, api, len(ledger.pending()), create_s)
    except Stop as exc:
        print(f"bench interrupted by {exc}; cleaning up", file=sys.stderr)
        ok = False
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # let the cleanup finish
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        start = time.perf_counter()
        leftovers = [c["Id"] for c in client.api.containers(all=True, filters={"label": f"chaoskit.bench.run={run_id}"})]
        remove(client, sorted(set(created) | set(leftovers)), workers=6)
        remove_s = time.perf_counter() - start
        print(f"removed {len(set(created) | set(leftovers))} containers in {remove_s:.1f} s", file=sys.stderr)
    cpu = os.cpu_count()
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n### chaoskit monkey bench ({cpu} cores, Docker {client.version().get('Version')}, real engine; "
          f"load average at the end {load}, from {load_before})\n")
    print("| measure | value | budget |")
    print("|---|---|---|")
    for name, value, budget in rows:
        print(f"| {name} | {value} | {budget} |")
    print(f"\nwithin budget: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
