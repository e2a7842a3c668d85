"""Harm cut within half a second: a step to 50% errors at 200 req/s, detected and reverted by the run loop.

A tiny HTTP server (its own process, on 127.0.0.1) answers 500 to a share of
its requests that the parent switches at a known instant, through shared
memory. Each trial is a whole experiment run in this process (chaoskit's
Runner, its open-model load generator at 200 req/s, a load probe, the stop
condition ``error_rate > 25% for 300ms``) whose one fault switches the
server from its background error rate (2%) to 50% errors; the fault's apply
and revert stamp the instants on the monotonic clock. Measured per trial:

* time to detect: fault applied -> the stop condition fired (``run.stopped``);
* time to stop: errors switched on -> switched off again (the revert returned).

Then the A/A runs: the same experiment whose fault changes nothing (the 2%
background stays); any stop condition that fires is a false alarm.

    .venv/bin/python -m bench.detect_bench [--trials 20] [--aa 20]

Prints a line per run, a Markdown table and the machine's steal (/proc/stat)
over each series. Exit status 0 when every trial stopped within 0.5 s and no
A/A run stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any, ClassVar

from chaoskit.adapters.backends import Backends
from chaoskit.faults.base import Fault
from chaoskit.journal import RunJournal
from chaoskit.measure.loadgen import LoadGenerator
from chaoskit.model.loader import parse_experiment
from chaoskit.model.params import FaultSignature
from chaoskit.run.ledger import Ledger
from chaoskit.run.runner import Runner

BACKGROUND = 0.02
EXPERIMENT = """
title: detect bench
phases: {{warmup: 1s, baseline: 3s, fault: 4s, recovery: 3s}}
load:
  rate: {rate}
  ramp: 0s
  timeout: 1s
  connections: 8
  requests: [{{name: get, url: "http://127.0.0.1:{port}/"}}]
steady_state:
  title: few errors
  probes:
    - {{name: errors, type: load, metric: error_rate, tolerance: {{max: 10%}}}}
method:
  - {{name: errors, fault: bench.errors, start: 1s, duration: 3s}}
stop_conditions:
  - {condition}
"""


# -- the server (a process of its own, so it does not share the GIL with the run loop) ------------

def serve(port: int, error_share: Synchronized, ready: Any) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        rng = random.Random()
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                status = b"500 Internal Server Error" if rng.random() < error_share.value else b"200 OK"
                writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\n\r\nok")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# -- the fault: switches the server's error share, stamping when ------------------------------------

@dataclass
class ErrorStep(Fault):
    """Sets the server's error share to ``share`` on apply and back to the background on revert."""

    kind: ClassVar[str] = "bench.errors"
    signature: ClassVar[FaultSignature] = FaultSignature(target="none", doc="Switch the bench server's errors.")

    switch: Synchronized | None = None
    share: float = 0.5
    applied_at: float | None = None
    reverted_at: float | None = None

    def describe(self) -> str:
        return f"{self.share:.0%} errors"

    def apply(self, backends: Backends) -> None:
        assert self.switch is not None
        self.switch.value = self.share
        self.applied_at = time.monotonic()

    def revert(self, backends: Backends) -> None:
        assert self.switch is not None
        self.switch.value = BACKGROUND
        self.reverted_at = time.monotonic()


@dataclass(frozen=True)
class Trial:
    stopped: bool
    detect_s: float | None  # fault applied -> stop condition fired (the run's own figure)
    stop_s: float | None  # errors on -> errors off (the fault's own stamps)
    verdict: str


def trial(port: int, switch: Synchronized, share: float, rate: int, condition: str, folder: Path) -> Trial:
    text = EXPERIMENT.format(rate=rate, port=port, condition=condition)
    experiment = parse_experiment(text, source="detect_bench", fault_params={"bench.errors": ErrorStep.signature})
    faults: list[ErrorStep] = []

    def build(kind: str, params: Any, target: Any) -> Fault:
        faults.append(ErrorStep(params, switch=switch, share=share))
        return faults[-1]

    journal = RunJournal(experiment, None)
    assert experiment.load is not None
    runner = Runner(experiment, Backends(), Ledger(folder / f"ledger-{time.monotonic_ns()}.jsonl"), journal,
                    load=LoadGenerator(experiment.load), seed=1, build_fault=build)
    journal.bind_clock(runner.elapsed)
    outcome = runner.run()
    stopped = [e for e in journal.data["events"] if e["event"] == "run.stopped"]
    fault = faults[0]
    stop_s = (fault.reverted_at - fault.applied_at) if fault.applied_at and fault.reverted_at else None
    return Trial(bool(stopped), stopped[0].get("time_to_detect_s") if stopped else None, stop_s if stopped else None,
                 outcome.summary)


def cpu_times() -> tuple[int, int]:
    """(steal, total) jiffies over all CPUs, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


def series(label: str, runs: int, run: Any) -> tuple[list[Trial], float]:
    before = cpu_times()
    trials = []
    for i in range(runs):
        t = run()
        trials.append(t)
        detect = f"{t.detect_s:.3f}" if t.detect_s is not None else "-"
        stop = f"{t.stop_s:.3f}" if t.stop_s is not None else "-"
        print(f"{label} {i + 1:2d}: stopped={t.stopped} detect={detect} s stop={stop} s verdict={t.verdict}",
              flush=True)
    after = cpu_times()
    steal = 100.0 * (after[0] - before[0]) / max(1, after[1] - before[1])
    return trials, steal


def figures(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return (f"median {statistics.median(ordered) * 1e3:.0f} ms, "
            f"max {ordered[-1] * 1e3:.0f} ms, min {ordered[0] * 1e3:.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20, help="runs with the step to --share errors")
    parser.add_argument("--aa", type=int, default=20, help="A/A runs (the fault changes nothing)")
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--share", type=float, default=0.5, help="share of errors after the step")
    parser.add_argument("--condition", default="error_rate > 25% for 300ms")
    parser.add_argument("--port", type=int, default=18931)
    parser.add_argument("--budget", type=float, default=0.5, help="seconds from onset to stop")
    args = parser.parse_args()
    switch = multiprocessing.Value("d", BACKGROUND, lock=False)
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(args.port, switch, ready), daemon=True)
    server.start()
    try:
        if not ready.wait(10):
            print("the bench server did not start", file=sys.stderr)
            return 2
        folder = Path(tempfile.mkdtemp(prefix="chaoskit-detect-"))
        steps, step_steal = series("step", args.trials, lambda: trial(
            args.port, switch, args.share, args.rate, args.condition, folder))
        controls, aa_steal = series("A/A ", args.aa, lambda: trial(
            args.port, switch, BACKGROUND, args.rate, args.condition, folder))
    finally:
        server.terminate()
        server.join(5)
    detect = [t.detect_s for t in steps if t.detect_s is not None]
    stop = [t.stop_s for t in steps if t.stop_s is not None]
    within = sum(1 for t in steps if t.stop_s is not None and t.stop_s <= args.budget)
    false_stops = sum(1 for t in controls if t.stopped)
    print()
    print(f"| series | runs | stopped | time to detect | time to stop (errors on -> off) | steal |")
    print("|---|---|---|---|---|---|")
    print(f"| {args.share:.0%} errors at {args.rate} req/s, `{args.condition}` | {len(steps)} | "
          f"{sum(t.stopped for t in steps)} ({within} within {args.budget:g} s) | {figures(detect)} | "
          f"{figures(stop)} | {step_steal:.1f}% |")
    print(f"| A/A ({BACKGROUND:.0%} background errors) | {len(controls)} | {false_stops} false stops | - | - | "
          f"{aa_steal:.1f}% |")
    return 0 if within == len(steps) and false_stops == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
