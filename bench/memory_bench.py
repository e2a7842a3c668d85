"""Bounded memory: a day-long fault phase at 200 req/s through the bucket store, judged, with peak RSS.

No network: the generator's recording side (its ``BucketRecorder``, tenths
and seconds, histograms and all) is fed ``--rate`` outcomes a second of
simulated time into a ``LoadGenerator``'s own store, for a run's three
phases: a ``--baseline-s`` baseline, a ``--fault-s`` fault phase (a day by
default; latencies 1.2x and errors 3% instead of 2%), a ``--recovery-s``
recovery. While the load lasts it is read as a run and a monkey read it:

* every second, the last second (the live display and per-second probes) and
  the trailing 300 ms of tenths (stop conditions);
* every ``--kill-every`` seconds, the last minute judged against the first
  minute (a monkey's kill window; old seconds are read back from the spill).

At the end, as the run loop does, each phase's whole window is judged for
three load probes (p99: SLO and ratio; error rate: SLO and increase;
throughput: ratio), the fault window's 86,400 seconds against the
baseline's by Mann-Whitney / Hodges-Lehmann; then the load's journal record
(every bucket, the summary, validity) is written to a journal file.

Prints RSS and peak RSS (VmHWM) along the way, each phase's judging time and
peak, the spill file's size and the machine's steal and load. Exit status 0
when the peak over everything is under ``--limit-mb``.

    .venv/bin/python -m bench.memory_bench [--fault-s 86400] [--rate 200] [--baseline-s 600] [--recovery-s 600]
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
from array import array
from pathlib import Path

from chaoskit.journal import JournalFile
from chaoskit.measure.arrivals import ArrivalSchedule
from chaoskit.measure.buckets import FAILED, OK
from chaoskit.measure.loadgen import LoadGenerator
from chaoskit.measure.recorder import BucketRecorder
from chaoskit.model.load import LoadSpec, RequestSpec
from chaoskit.model.probes import LoadProbe
from chaoskit.model.tolerance import AllOf, Check, Relative, Threshold
from chaoskit.run.judging import judge_window

MB = 1024 * 1024
PROBES = (
    LoadProbe("p99", "p99", (Check("p99", AllOf((Threshold(max=0.5), Relative(max_ratio=2.0)))),)),
    LoadProbe("errors", "error_rate", (Check("error_rate", AllOf((Threshold(max=0.05), Relative(max_increase=0.02)))),)),
    LoadProbe("throughput", "throughput", (Check("throughput", Relative(min_ratio=0.9)),)),
)


def rss() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MiB, from /proc/self/status."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def reset_peak() -> bool:
    """Start a new peak RSS from the current RSS (Linux: 5 to clear_refs); False where refused."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def steal_jiffies() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


class Feed:
    """Lognormal latencies (around 5 ms) and errors, a different draw of a pool each second, with a phase's factors."""

    POOL = 37  # seconds' worth of draws in the pool

    def __init__(self, recorder: BucketRecorder, rate: int):
        rng = random.Random(1)
        self.recorder, self.rate = recorder, rate
        size = rate * self.POOL
        self.latencies = array("d", (rng.lognormvariate(math.log(0.005), 0.5) for _ in range(size)))
        self.draws = array("d", (rng.random() for _ in range(size)))

    def second(self, second: int, slower: float, error_share: float) -> None:
        step, size = 1.0 / self.rate, len(self.latencies)
        offset = (second * 7919) % size
        for i in range(self.rate):
            now = second + i * step
            j = (offset + i * 3) % size
            self.recorder.sent(0, 0.0002, now)
            self.recorder.outcome(0, FAILED if self.draws[j] < error_share else OK, self.latencies[j] * slower,
                                  now + 0.004)
        self.recorder.rotate(second + 1.0)


def judge_phases(load: LoadGenerator, phases: dict[str, tuple[float, float]]) -> float:
    """Each phase's whole window judged for every probe, as the run loop does at the end of each phase; the peak RSS."""
    peak = 0.0
    print("\n| window | seconds | probe | decision | judging time s | peak RSS MiB |\n|---|---|---|---|---|---|")
    for phase, (start, end) in phases.items():
        for probe in PROBES:
            reset_peak()
            began = time.perf_counter()
            baseline = load.seconds_between(*phases["baseline"])
            window = baseline if phase == "baseline" else load.seconds_between(start, end)
            judged = judge_window(probe, phase, baseline, window)
            took = time.perf_counter() - began
            peak = max(peak, rss()[1])
            print(f"| {phase} | {len(window):,} | {probe.name} | {judged.decision} | {took:.1f} | {rss()[1]:.0f} |",
                  flush=True)
            if phase == "fault":
                print(f"|  |  |  | {judged.reason[:160]} |  |  |", flush=True)
    return peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline-s", type=int, default=600)
    parser.add_argument("--fault-s", type=int, default=86_400)
    parser.add_argument("--recovery-s", type=int, default=600)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--kill-every", type=int, default=600, help="seconds between judged kill windows")
    parser.add_argument("--limit-mb", type=float, default=200.0)
    args = parser.parse_args()
    started, steal0, load0 = time.monotonic(), steal_jiffies(), os.getloadavg()
    total = args.baseline_s + args.fault_s + args.recovery_s
    fault_end = args.baseline_s + args.fault_s
    phases = {"baseline": (0.0, float(args.baseline_s)), "fault": (float(args.baseline_s), float(fault_end)),
              "recovery": (float(fault_end), float(total))}
    spec = LoadSpec(rate=float(args.rate), requests=(RequestSpec("get", "http://127.0.0.1:9/"),))
    load = LoadGenerator(spec)  # never started: its store is fed below, its readers are the real ones
    store = load._store  # noqa: SLF001 - the bench feeds the generator's own store
    recorder = BucketRecorder(["get"], ArrivalSchedule(float(args.rate)), t0=0.0, wall_t0=1.7e9,
                              highest_latency_us=int((spec.timeout_s * 2 + 1.0) * 1e6), store=store,
                              thread_time=lambda: 0.0, steal_time=lambda: 0.0)
    feed = Feed(recorder, args.rate)
    kill_baseline = None
    judged = 0
    print(f"imported: RSS {rss()[0]:.0f} MiB")
    print("| simulated time | buckets | RSS MiB | peak RSS MiB |\n|---|---|---|---|", flush=True)
    for second in range(total):
        in_fault = args.baseline_s <= second < fault_end
        feed.second(second, 1.2 if in_fault else 1.0, 0.03 if in_fault else 0.02)
        load.latest_window()
        load.trailing(0.3)
        if second == 60:
            kill_baseline = load.seconds_between(0.0, 60.0)
        if kill_baseline is not None and second % args.kill_every == 0:
            judge_window(PROBES[0], "fault", kill_baseline, load.seconds_between(second - 60.0, float(second)))
            judged += 1
        if (second + 1) % 3600 == 0 or second + 1 == total:
            now_mb, peak_mb = rss()
            print(f"| {(second + 1) / 3600:.1f} h | {len(store):,} | {now_mb:.0f} | {peak_mb:.0f} |", flush=True)
    live_peak = rss()[1]
    judging_began = time.monotonic()
    judging_peak = judge_phases(load, phases)
    judging_s = time.monotonic() - judging_began
    reset_peak()
    with tempfile.TemporaryDirectory() as folder:
        journal = JournalFile(Path(folder) / "day.json", {"events": []})
        journal.finish({"load": load.journal(t0=0.0)})
        written_mb = journal.path.stat().st_size / MB  # type: ignore[union-attr]
    after_journal = rss()
    spill = store._spill.tell() / MB if store._spill is not None else 0.0  # noqa: SLF001 - its size on disk
    steal1 = steal_jiffies()
    steal = 100.0 * (steal1[0] - steal0[0]) / max(1, steal1[1] - steal0[1])
    peak = max(live_peak, judging_peak, after_journal[1])
    print()
    print(f"seconds: {len(store):,} ({args.rate} req/s), kill windows judged: {judged}")
    print(f"peak RSS: live {live_peak:.0f} MiB, judging {judging_peak:.0f} MiB (the three windows in {judging_s:.0f} s), "
          f"writing the journal ({written_mb:.0f} MiB) {after_journal[1]:.0f} MiB")
    print(f"spill file {spill:.0f} MiB; wall {time.monotonic() - started:.0f} s; steal {steal:.1f}%; "
          f"load average at start {load0[0]:.2f}, at end {os.getloadavg()[0]:.2f}")
    return 0 if peak < args.limit_mb else 1


if __name__ == "__main__":
    sys.exit(main())
