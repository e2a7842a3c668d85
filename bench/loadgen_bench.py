"""Benchmark: chaoskit's open-model generator next to wrk, against the same local nginx, in one run.

    .venv/bin/python -m bench.loadgen_bench [--rates 20000] [--seconds 10] [--gen-cpu 0] [--server-cpu 1]
    .venv/bin/python -m bench.loadgen_bench --tls --rates 10000      # both clients over HTTPS

What it does, in order:

1. starts ``chaoskit/nginx`` (1 worker, pinned with ``--cpuset-cpus``) on a
   Docker network it creates, both labelled ``chaoskit.test=1``, and removes
   them at the end whatever happens;
2. runs ``wrk -t1`` (closed loop, as fast as it can) pinned to the generator's
   core with ``taskset``; CPU from the child's rusage;
3. runs chaoskit's ``LoadGenerator`` at each ``--rate`` in a child process
   pinned to the same core; the child reports the steady-state window
   (after a 1 s ramp and one settling second): achieved rate, latency
   quantiles, dispatch lag p99 and the process's CPU time per request, and
   the same lag p99 over only the seconds in which the hypervisor took less
   than one 10 ms tick of ``/proc/stat`` from the machine (the buckets'
   ``steal``), with how many of those seconds kept their own lag p99 within
   1 ms. That filter is coarse: a second with 5 ms stolen passes it, and
   5 ms is 100 arrivals dispatched late at 20,000 req/s;
4. prints a Markdown table.

The generator talks to nginx's address on the benchmark network rather than
a port published on 127.0.0.1: published ports go through docker-proxy, a
userland copy loop that costs more CPU per request than either client and
is not pinned (pass ``--published`` to measure through it anyway).
Figures depend on the machine and on what else runs on it: the run prints
the load average before and after, and each row the share of the client
core's time the hypervisor took (steal) while it ran: on a virtual machine a
few percent of steal is enough to push dispatch lag past 1 ms. On a shared
machine, ``--rt`` runs wrk under SCHED_FIFO, chaoskit with ``load.realtime``
(its whole process SCHED_FIFO at the lowest priority, as a user would set it), and nginx under
SCHED_FIFO or, when its cgroup has no real-time budget (Docker's default), at
nice -20, so that neighbours' CPU use does not decide the figures.
``--shield`` moves every thread that can move, kernel threads included, off
the client core for the clients' runs, and puts them back after: on the
project's VM the kernel's DAMON monitor (``kdamond.0``) otherwise takes that
core for 1-2 ms a few times a second.
``--awake on`` keeps every CPU out of idle halts while both clients run (the
CPU latency request chaoskit makes for ``load.keep_cpus_awake``, held by this
process); ``--awake both`` runs every client both ways, alternating which
goes first, so that the two can be compared under the same hypervisor.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RT_PRIORITY = 50
NGINX_IMAGE = "chaoskit/nginx"
# One worker (as ENVIRONMENT.md's anchors) and room for every connection the generator may open.
NGINX_COMMAND = ["sh", "-c", "sed -i 's/^worker_processes.*/worker_processes 1;/; "
                             "s/worker_connections [0-9]*/worker_connections 4096/' /etc/nginx/nginx.conf "
                             "&& exec nginx -g 'daemon off;'"]


# With --tls: the same "ok" on 443, with a certificate of a CA made for the run, and a session
# cache so that reconnecting clients resume (nginx closes a keep-alive connection after 1,000 requests).
TLS_SERVER_NAME = "nginx.bench"
NGINX_TLS_SITE = ("server { listen 443 ssl; access_log off; ssl_certificate /etc/chaoskit/tls/server.crt; "
                  "ssl_certificate_key /etc/chaoskit/tls/server.key; ssl_session_cache shared:TLS:10m; "
                  "location / { default_type text/plain; return 200 'ok\\n'; } }")


@dataclass
class Server:
    container: Any
    url: str  # base URL the clients use
    ca: str = ""  # with TLS: the CA file the clients trust (and TLS_SERVER_NAME the name they check)


@contextmanager
def nginx_server(cpu: int, published: bool = False, tls: bool = False) -> Iterator[Server]:
    """chaoskit/nginx pinned to ``cpu`` on a fresh labelled network (with ``tls``, HTTPS only); removed on exit."""
    import docker

    client = docker.from_env()
    labels = {"chaoskit.test": "1", "chaoskit.test.pid": str(os.getpid()), "chaoskit.test.session": "bench"}
    network = client.networks.create(f"chaoskit-bench-{uuid.uuid4().hex[:8]}", labels=labels)
    container = None
    port, scheme = ("443/tcp", "https") if tls else ("80/tcp", "http")
    with tempfile.TemporaryDirectory() as tls_dir:
        command, volumes, ca = NGINX_COMMAND, None, ""
        if tls:
            from tests.support import make_tls_ca

            ca = str(make_tls_ca(Path(tls_dir), (TLS_SERVER_NAME, "127.0.0.1"))["ca"])
            command = ["sh", "-c", f"echo \"{NGINX_TLS_SITE}\" > /etc/nginx/conf.d/default.conf && {NGINX_COMMAND[2]}"]
            volumes = {tls_dir: {"bind": "/etc/chaoskit/tls", "mode": "ro"}}
        try:
            container = client.containers.run(
                NGINX_IMAGE, command, detach=True, labels=labels, network=network.name, cpuset_cpus=str(cpu),
                volumes=volumes, ports={port: ("127.0.0.1", None)} if published else None,
                name=f"chaoskit-bench-{uuid.uuid4().hex[:8]}")
            container.reload()
            if published:
                url = f"{scheme}://127.0.0.1:{container.ports[port][0]['HostPort']}"
            else:
                url = f"{scheme}://{container.attrs['NetworkSettings']['Networks'][network.name]['IPAddress']}"
            _wait_http(url, ca)
            yield Server(container, url, ca)
        finally:
            if container is not None:
                container.remove(force=True)
            network.remove()


@contextmanager
def shielded(cpu: int) -> Iterator[int]:
    """Move every thread that may move (kernel threads such as kdamond included) off ``cpu``; put them back after.

    What ``cset shield --kthread=on`` does, without cgroups: per-CPU kernel
    threads (ksoftirqd, per-CPU kworkers) refuse and stay. Yields how many
    threads moved. Clients started afterwards are pinned to ``cpu`` by taskset.
    """
    moved: dict[int, set[int]] = {}
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        try:
            tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        except OSError:
            continue  # gone
        for tid in tids:
            try:
                allowed = os.sched_getaffinity(tid)
                if cpu in allowed and len(allowed) > 1:
                    os.sched_setaffinity(tid, allowed - {cpu})
                    moved[tid] = allowed
            except OSError:
                pass  # gone, or a thread bound to its CPU
    try:
        yield len(moved)
    finally:
        for tid, allowed in moved.items():
            try:
                os.sched_setaffinity(tid, allowed)
            except OSError:
                pass  # gone meanwhile


def _wait_http(url: str, ca: str = "", timeout_s: float = 20.0) -> None:
    import ssl
    import urllib.request

    # The certificate is checked by the clients; here only the answer matters.
    context = ssl._create_unverified_context() if ca else None
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if urllib.request.urlopen(url + "/", timeout=1, context=context).status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"nginx at {url} not answering after {timeout_s} s")
        time.sleep(0.1)


def run_measured(argv: list[str], timeout_s: float) -> tuple[str, float]:
    """Run a child to completion; its stdout and the CPU seconds (user + system) it used (rusage)."""
    with tempfile.TemporaryFile(mode="w+") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL, text=True)
        deadline = time.monotonic() + timeout_s
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise TimeoutError(f"{' '.join(argv)} ran over {timeout_s} s")
            time.sleep(0.05)
        out.seek(0)
        text = out.read()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(argv[:4])}... exited with {proc.returncode}: {text[-500:]}")
    return text, usage.ru_utime + usage.ru_stime


def cpu_times(cpu: int) -> tuple[int, int]:
    """(stolen, total) clock ticks of ``cpu`` so far, from /proc/stat."""
    with open("/proc/stat") as stat:
        for line in stat:
            if line.startswith(f"cpu{cpu} "):
                ticks = [int(v) for v in line.split()[1:]]
                return ticks[7], sum(ticks)
    return 0, 0


def steal_pct(before: tuple[int, int], after: tuple[int, int]) -> float:
    """Share of the core's time the hypervisor took between two cpu_times readings."""
    return 100.0 * (after[0] - before[0]) / max(1, after[1] - before[1])


# -- wrk -----------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


@contextmanager
def cpus_awake() -> Iterator[None]:
    """Every CPU kept out of idle halts meanwhile: the request load.keep_cpus_awake makes, held here for both clients."""
    from chaoskit.measure.tuning import keep_cpus_awake, let_cpus_sleep

    keep_cpus_awake()
    try:
        yield
    finally:
        let_cpus_sleep()


def pinned(cpu: int, realtime: bool) -> list[str]:
    """Command prefix: pin to ``cpu``; with ``realtime``, also run SCHED_FIFO (see --rt)."""
    return ["taskset", "-c", str(cpu)] + (["chrt", "-f", str(RT_PRIORITY)] if realtime else [])


def make_realtime(container: Any) -> str:
    """Shield nginx from other load: SCHED_FIFO if its cgroup allows, else nice -20; says which.

    Docker gives containers no real-time budget unless the daemon runs with
    --cpu-rt-runtime, so SCHED_FIFO usually fails and nginx gets nice -20.
    """
    top = container.top()
    column = top["Titles"].index("PID")
    pids = [int(row[column]) for row in top["Processes"]]
    try:
        for pid in pids:
            os.sched_setscheduler(pid, os.SCHED_FIFO, os.sched_param(RT_PRIORITY))
        return "SCHED_FIFO"
    except PermissionError:
        for pid in pids:
            os.setpriority(os.PRIO_PROCESS, pid, -20)
        return "nice -20"


def run_wrk(url: str, cpu: int, connections: int, seconds: float, realtime: bool = False) -> dict[str, Any]:
    """wrk -t1 against ``url``, pinned to ``cpu``; its rate, latency quantiles and CPU per request."""
    before = cpu_times(cpu)
    out, cpu_s = run_measured([*pinned(cpu, realtime), "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s",
                               "--latency", url + "/"], timeout_s=seconds + 30)
    stolen = steal_pct(before, cpu_times(cpu))
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    quantiles = {q: _ms(v) for q, v in re.findall(r"^\s+(50|90|99)%\s+(\S+)$", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)$", out, re.M)
    return {
        "client": f"wrk -t1 -c{connections}", "model": "closed loop", "target": None,
        "achieved": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": quantiles.get("50"), "p99_ms": quantiles.get("99"), "lag_p99_ms": None,
        "cpu_us_per_req": cpu_s / requests * 1e6,
        "errors": int(errors.group(1)) if errors else 0, "note": socket_errors.group(1) if socket_errors else "",
        "steal_pct": stolen,
    }


# -- chaoskit (child process) -------------------------------------------------------

def run_chaoskit(url: str, cpu: int, rate: float, seconds: float, connections: int,
                 realtime: bool = False, ca: str = "") -> dict[str, Any]:
    """chaoskit's generator at ``rate`` in a child pinned to ``cpu``; the child's steady-state report."""
    before = cpu_times(cpu)
    out, _ = run_measured([*pinned(cpu, False), sys.executable, "-m", "bench.loadgen_bench", "--child", url, str(rate),
                           str(seconds), str(connections), str(int(realtime)), ca], timeout_s=seconds + 60)
    report = json.loads(out.strip().splitlines()[-1])
    protocol = "HTTP/1.1 over TLS" if ca else "HTTP/1.1"
    return {"client": f"chaoskit (uvloop, raw {protocol}, {connections}+ conns)", "model": "open", **report,
            "steal_pct": steal_pct(before, cpu_times(cpu))}


def child(url: str, rate: float, seconds: float, connections: int, realtime: bool, ca: str = "") -> None:
    """Inside the pinned child: run the load, report the window after ramp and settling as one JSON line."""
    from chaoskit.adapters.host import machine_steal_s
    from chaoskit.measure import LoadGenerator, assess_validity, summarize
    from chaoskit.measure.window import merge_histograms
    from chaoskit.model.load import LoadSpec, RequestSpec, TlsSpec

    ramp_s, settle_s = 1.0, 1
    tls = TlsSpec(ca=ca, server_name=TLS_SERVER_NAME) if ca else TlsSpec()
    spec = LoadSpec(rate=rate, ramp_s=ramp_s, connections=connections, realtime=realtime, tls=tls,
                    requests=(RequestSpec("read", url + "/timeline/{user}?limit=20"),))
    generator = LoadGenerator(spec, max_duration_s=seconds + ramp_s + settle_s + 5, steal_time=machine_steal_s)
    generator.start()
    first = int(ramp_s) + settle_s
    generator.wait_for_buckets(first, timeout_s=ramp_s + settle_s + 5)
    cpu0 = time.process_time()
    count0 = len(generator.buckets())
    generator.wait_for_buckets(count0 + int(seconds), timeout_s=seconds + 5)
    cpu1 = time.process_time()
    steady = generator.buckets()[count0:count0 + int(seconds)]
    generator.stop()
    window = summarize(steady)
    validity = assess_validity(steady)
    # The seconds in which the hypervisor took nothing measurable (under one 10 ms tick of
    # /proc/stat on any CPU): there the generator's lateness is its own.
    clean = [b for b in steady if b.steal * b.duration_s * (os.cpu_count() or 1) < 0.01]
    clean_lag = merge_histograms(b.lag for b in clean)
    clean_p99 = clean_lag.get_value_at_percentile(99.0) / 1e3 if clean_lag is not None and clean_lag.get_total_count() else None
    print(json.dumps({
        "target": window.target_rate, "achieved": window.achieved_rate, "completed_per_s": window.completed / window.seconds,
        "p50_ms": window.p50 * 1e3 if window.p50 is not None else None,
        "p99_ms": window.p99 * 1e3 if window.p99 is not None else None,
        "lag_p99_ms": window.lag_p99 * 1e3 if window.lag_p99 is not None else None,
        "lag_max_ms": window.lag_max * 1e3 if window.lag_max is not None else None,
        "clean_seconds": len(clean), "clean_lag_p99_ms": clean_p99,
        "clean_seconds_within_1ms": sum(1 for b in clean if (b.metric("lag_p99") or 0) <= 0.001),
        "machine_steal_pct": 100 * window.steal,
        "cpu_us_per_req": (cpu1 - cpu0) / max(1, window.sent) * 1e6,
        "loop_thread_cpu_share": window.cpu_s / window.seconds,
        "errors": window.failed + window.timed_out, "valid": validity.valid,
        "note": "; ".join(validity.reasons), "generator": generator.diagnostics(),
    }))


# -- report ----------------------------------------------------------------------

def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| client | model | target req/s | achieved req/s | p50 ms | p99 ms | dispatch lag p99 ms "
            "| lag p99 ms, seconds without steal | of those, seconds with lag p99 <= 1 ms "
            "| CPU us/req | errors | CPU stolen (client core) | CPUs | note |")
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in rows:
        clean = r.get("clean_seconds")
        lines.append("| " + " | ".join([
            r["client"], r["model"], _fmt(r["target"], 0), _fmt(r["achieved"], 0), _fmt(r["p50_ms"]),
            _fmt(r["p99_ms"]), _fmt(r["lag_p99_ms"], 3),
            "-" if clean is None else f"{_fmt(r['clean_lag_p99_ms'], 3)} ({clean} s)",
            "-" if clean is None else f"{r['clean_seconds_within_1ms']} of {clean}",
            _fmt(r["cpu_us_per_req"], 1), _fmt(r["errors"]), f"{r['steal_pct']:.1f}%", r["cpus"], r.get("note") or "",
        ]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", default="20000", help="comma-separated open-model rates for chaoskit")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per client")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--wrk-connections", type=int, default=32)
    parser.add_argument("--gen-cpu", type=int, default=0)
    parser.add_argument("--server-cpu", type=int, default=1)
    parser.add_argument("--published", action="store_true", help="go through a 127.0.0.1 published port")
    parser.add_argument("--tls", action="store_true",
                        help="HTTPS: nginx with a certificate of a CA made for the run; both clients over TLS")
    parser.add_argument("--rt", action="store_true",
                        help="wrk and nginx SCHED_FIFO, chaoskit with load.realtime: shields the figures from other load on the machine")
    parser.add_argument("--shield", action="store_true",
                        help="move every movable thread, kernel threads included, off the client core while the clients run")
    parser.add_argument("--awake", choices=("off", "on", "both"), default="off",
                        help="keep every CPU out of idle halts while the clients run (load.keep_cpus_awake); "
                             "both: each repeat runs both ways, alternating which goes first")
    parser.add_argument("--repeat", type=int, default=1, help="run every client this many times, in turn")
    parser.add_argument("--json", action="store_true", help="also print the raw rows as JSON")
    args = parser.parse_args()
    rows = []
    load_before = os.getloadavg()
    with nginx_server(args.server_cpu, args.published, args.tls) as server:
        server_scheduling = make_realtime(server.container) if args.rt else "normally scheduled"
        with shielded(args.gen_cpu) if args.shield else nullcontext(0) as moved:
            settings = {"off": [False], "on": [True], "both": [False, True]}[args.awake]
            for repeat in range(args.repeat):
                for awake in settings if repeat % 2 == 0 else settings[::-1]:
                    with cpus_awake() if awake else nullcontext():
                        batch = [run_wrk(server.url, args.gen_cpu, args.wrk_connections, args.seconds, args.rt)]
                        for rate in (float(r) for r in args.rates.split(",")):
                            batch.append(run_chaoskit(server.url, args.gen_cpu, rate, args.seconds, args.connections,
                                                      args.rt, server.ca))
                    rows.extend({**row, "cpus": "awake" if awake else "normal idle"} for row in batch)
    load_after = os.getloadavg()
    print(f"nginx 1 worker on cpu {args.server_cpu}; clients on cpu {args.gen_cpu}; {args.seconds:g} s each; "
          f"{'HTTPS (TLS, a CA made for the run)' if args.tls else 'plain HTTP'} "
          f"via {'published 127.0.0.1 port (docker-proxy)' if args.published else 'container address'}; "
          f"clients {'SCHED_FIFO (chaoskit: load.realtime)' if args.rt else 'normally scheduled'}, nginx {server_scheduling}; "
          f"{f'{moved} threads moved off the client core; ' if args.shield else ''}"
          f"CPUs {dict(off='normal idle', on='kept awake', both='normal idle and kept awake, alternated')[args.awake]}; "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after\n")
    print(table(rows))
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), sys.argv[6] == "1", sys.argv[7])
    else:
        main()
