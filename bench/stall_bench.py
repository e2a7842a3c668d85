"""Benchmark: a 1 s server freeze inside a 10 s run at 2,000 req/s, as open and closed-loop clients see it.

    .venv/bin/python -m bench.stall_bench [--rate 2000] [--seconds 10] [--freeze-at 4] [--freeze-for 1] [--tls]

nginx (``chaoskit/nginx``, 1 worker, pinned to ``--server-cpu``) is frozen
with SIGSTOP (every process of the container, from the host) ``--freeze-at``
seconds into each client's run, and resumed with SIGCONT ``--freeze-for``
seconds later. Each client runs alone, pinned to ``--gen-cpu``:

* **chaoskit**, open model: arrivals keep their schedule; latency is timed
  from each request's intended send time, so the ~2,000 requests due during
  the freeze each report the time they waited;
* **paced closed loop**: ``--connections`` connections, each sending its
  next request only after the previous answer, paced to the same total
  rate, timing from the actual send, as most hand-written load scripts do;
  during the freeze each connection has one request stuck, and the
  requests it never sent are never measured (coordinated omission);
* **wrk -t1**: the classic closed-loop tool at full speed, same freeze.

With ``--tls`` nginx serves HTTPS only (a CA made for the run) and every
client speaks TLS to it. Prints a Markdown table (p50, p99, p99.9, max and how many requests each
client measured).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


from bench.loadgen_bench import TLS_SERVER_NAME, _ms, nginx_server


def container_pids(container: Any) -> list[int]:
    """Host PIDs of every process in the container (docker top reports host PIDs)."""
    top = container.top()
    column = top["Titles"].index("PID")
    return [int(row[column]) for row in top["Processes"]]


def freeze(pids: list[int], seconds: float) -> tuple[float, float]:
    """SIGSTOP every pid, wait, SIGCONT; the wall-clock times the freeze began and ended."""
    began = time.time()
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(seconds)
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    return began, time.time()


def run_child_with_freeze(argv: list[str], pids: list[int], freeze_at: float, freeze_for: float,
                          ready_file: Path | None, timeout_s: float) -> tuple[str, tuple[float, float]]:
    """Start a client; freeze the server ``freeze_at`` s after it reports ready (or after launch)."""
    with tempfile.TemporaryFile(mode="w+") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL, text=True)
        deadline = time.monotonic() + timeout_s
        if ready_file is not None:
            while not ready_file.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"client {argv[:3]} did not start")
                time.sleep(0.01)
        time.sleep(freeze_at)
        window = freeze(pids, freeze_for)
        try:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        out.seek(0)
        text = out.read()
    if proc.returncode:
        raise RuntimeError(f"client {argv[:3]} exited with {proc.returncode}: {text[-300:]}")
    return text, window


# -- clients (children) ---------------------------------------------------------------

def open_client(url: str, rate: float, seconds: float, ready_file: str, ca: str) -> None:
    from chaoskit.adapters.host import machine_steal_s
    from chaoskit.measure import LoadGenerator, summarize
    from chaoskit.model.load import LoadSpec, RequestSpec, TlsSpec

    tls = TlsSpec(ca=ca, server_name=TLS_SERVER_NAME) if ca else TlsSpec()
    spec = LoadSpec(rate=rate, requests=(RequestSpec("read", url + "/"),), connections=32, timeout_s=5.0, tls=tls)
    generator = LoadGenerator(spec, max_duration_s=seconds + 5, steal_time=machine_steal_s)
    generator.start()
    Path(ready_file).touch()
    time.sleep(seconds)
    generator.stop()
    buckets = generator.buckets()
    window = summarize(buckets)
    per_second = [b.metric("p99") for b in buckets]
    print(json.dumps({
        "measured": window.completed, "p50_ms": window.p50 * 1e3, "p99_ms": window.p99 * 1e3,
        "p999_ms": window.p999 * 1e3, "max_ms": window.max * 1e3, "errors": window.failed + window.timed_out,
        "lag_p99_ms": window.lag_p99 * 1e3,
        "per_second_p99_ms": [round(v * 1e3, 1) if v is not None else None for v in per_second],
    }))


def closed_client(url: str, rate: float, seconds: float, ready_file: str, ca: str, connections: int) -> None:
    import ssl

    import uvloop
    from hdrh.histogram import HdrHistogram

    scheme, host, port = re.match(r"(https?)://([^:/]+)(?::(\d+))?", url).groups()  # type: ignore[union-attr]
    request = f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    hist = HdrHistogram(1, 60_000_000, 2)
    tls = {"ssl": ssl.create_default_context(cafile=ca), "server_hostname": TLS_SERVER_NAME} if ca else {}

    async def worker(start: float, offset: float, interval: float, end: float) -> None:
        reader, writer = await asyncio.open_connection(host, int(port or (443 if scheme == "https" else 80)), **tls)
        next_t = start + offset
        while next_t < end:
            delay = next_t - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.perf_counter()  # timed from the actual send: the closed loop's blind spot
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            hist.record_value(max(1, int((time.perf_counter() - sent) * 1e6)))
            next_t += interval
        writer.close()

    async def main() -> None:
        interval = connections / rate
        start = time.perf_counter() + 0.05
        end = start + seconds
        Path(ready_file).touch()
        await asyncio.gather(*(worker(start, i * interval / connections, interval, end) for i in range(connections)))

    uvloop.run(main())
    print(json.dumps({
        "measured": hist.get_total_count(), "p50_ms": hist.get_value_at_percentile(50) / 1e3,
        "p99_ms": hist.get_value_at_percentile(99) / 1e3, "p999_ms": hist.get_value_at_percentile(99.9) / 1e3,
        "max_ms": hist.get_max_value() / 1e3, "errors": 0,
    }))


# -- driver ----------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--freeze-at", type=float, default=4.0)
    parser.add_argument("--freeze-for", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=32, help="closed-loop connections")
    parser.add_argument("--gen-cpu", type=int, default=0)
    parser.add_argument("--server-cpu", type=int, default=1)
    parser.add_argument("--tls", action="store_true", help="HTTPS: nginx with a CA made for the run, clients over TLS")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    pin = ["taskset", "-c", str(args.gen_cpu)]
    load_before = os.getloadavg()
    with nginx_server(args.server_cpu, tls=args.tls) as server, tempfile.TemporaryDirectory() as tmp:
        pids = container_pids(server.container)
        timeout = args.seconds + 60
        for name, mode, extra in (("chaoskit", "open", []), ("paced closed loop", "closed", [str(args.connections)])):
            ready = Path(tmp) / f"{mode}.ready"
            out, window = run_child_with_freeze(
                [*pin, sys.executable, "-m", "bench.stall_bench", "--child", mode, server.url, str(args.rate), str(args.seconds),
                 str(ready), server.ca, *extra], pids, args.freeze_at, args.freeze_for, ready, timeout)
            report = json.loads(out.strip().splitlines()[-1])
            model = "open (from intended send)" if mode == "open" else f"closed, {args.connections} conns paced to rate"
            rows.append({"client": name, "model": model, "rate": args.rate, **report})
        out, _ = run_child_with_freeze(
            [*pin, "wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds:g}s", "--latency", server.url + "/"],
            pids, args.freeze_at, args.freeze_for, None, timeout)
        quantiles = {q: _ms(v) for q, v in re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M)}
        latency_max = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out)
        rows.append({"client": "wrk -t1", "model": f"closed, {args.connections} conns, full speed", "rate": None,
                     "measured": int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
                     "p50_ms": quantiles.get("50"), "p99_ms": quantiles.get("99"), "p999_ms": None,
                     "max_ms": _ms(latency_max.group(1)) if latency_max else None, "errors": 0})
    load_after = os.getloadavg()
    print(f"nginx frozen (SIGSTOP) {args.freeze_for:g} s, {args.freeze_at:g} s into each {args.seconds:g} s run; "
          f"{'HTTPS' if args.tls else 'plain HTTP'}; clients on cpu {args.gen_cpu}, nginx on cpu {args.server_cpu}; "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after\n")
    print("| client | model | rate req/s | requests measured | p50 ms | p99 ms | p99.9 ms | max ms |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        cells = [r["client"], r["model"], f"{r['rate']:,.0f}" if r["rate"] else "as fast as it can",
                 f"{r['measured']:,}"] + [f"{r[k]:,.1f}" if r.get(k) is not None else "-"
                                          for k in ("p50_ms", "p99_ms", "p999_ms", "max_ms")]
        print("| " + " | ".join(cells) + " |")
    chaoskit = rows[0]
    if "per_second_p99_ms" in chaoskit:
        print(f"\nchaoskit per-second p99 (ms): {chaoskit['per_second_p99_ms']}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, url, rate, seconds, ready = sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
        if mode == "open":
            open_client(url, rate, seconds, ready, sys.argv[7])
        else:
            closed_client(url, rate, seconds, ready, sys.argv[7], int(sys.argv[8]))
    else:
        main()
