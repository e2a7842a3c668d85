"""Benchmark: the run process's garbage collector against the generator's schedule.

    .venv/bin/python -m bench.gc_pause_bench [--rate 2000] [--seconds 8]

The load generator runs in a thread of the `chaoskit run` process, and a full
garbage collection holds the GIL while it walks every tracked object of that
process. This script imports what a run imports (so the heap is a run's),
starts the generator against a local nginx (``chaoskit/nginx`` on a Docker
network it creates and removes), and forces one full collection a second in
the main thread, as a long run's own allocations eventually do. It does so
twice, in child processes: with the heap frozen while the load runs (what
the generator does) and with freezing switched off. It prints the duration
of the last full collection and the window's dispatch lag.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(url: str, rate: float, seconds: int, freeze: bool) -> None:
    import gc

    import chaoskit.cli  # noqa: F401  - a run process's heap
    import chaoskit.report.html_report  # noqa: F401
    import chaoskit.run.runner  # noqa: F401
    from chaoskit.log import configure
    from chaoskit.adapters.host import machine_steal_s
    from chaoskit.measure import LoadGenerator, summarize
    from chaoskit.measure import tuning
    from chaoskit.model.load import LoadSpec, RequestSpec

    configure("json", 0)  # logs to stderr, captured by the parent
    if not freeze:
        tuning.freeze_heap = tuning.thaw_heap = lambda: None  # type: ignore[assignment]
    spec = LoadSpec(rate=rate, ramp_s=0.5, connections=16, requests=(RequestSpec("read", url + "/"),))
    generator = LoadGenerator(spec, max_duration_s=seconds + 10, steal_time=machine_steal_s)
    generator.start()
    generator.wait_for_buckets(1, 5)
    first = len(generator.buckets())
    pauses = []
    for _ in range(seconds):
        time.sleep(1.0)
        start = time.perf_counter()
        gc.collect()
        pauses.append((time.perf_counter() - start) * 1e3)
    generator.wait_for_buckets(first + seconds, 5)
    window = summarize(generator.buckets()[first:first + seconds])
    generator.stop()
    print(json.dumps({"freeze": freeze, "objects": len(gc.get_objects()), "collect_ms_median": sorted(pauses)[len(pauses) // 2],
                      "lag_p99_ms": window.lag_p99 * 1e3, "lag_max_ms": window.lag_max * 1e3, "sent": window.sent}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    from bench.loadgen_bench import nginx_server

    rows = []
    with nginx_server(cpu=1) as server:
        for freeze in (True, False):
            out = subprocess.run([sys.executable, "-m", "bench.gc_pause_bench", "--child", server.url, str(args.rate), str(args.seconds),
                                  "1" if freeze else "0"], capture_output=True, text=True, check=True, timeout=120)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{args.rate:g} req/s, one forced full collection a second for {args.seconds} s\n")
    print("| heap while the load runs | tracked objects | full collection (median) | dispatch lag p99 | dispatch lag max |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {'frozen (default)' if r['freeze'] else 'not frozen'} | {r['objects']:,} | {r['collect_ms_median']:.1f} ms "
              f"| {r['lag_p99_ms']:.2f} ms | {r['lag_max_ms']:.1f} ms |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1")
    else:
        main()
