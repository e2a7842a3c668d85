"""Bounded memory: a day of load at 200 req/s through the bucket store and what reads it, with peak RSS.

No network: the generator's recording side (its ``BucketRecorder``, tenths
and seconds, histograms and all) is fed ``--rate`` outcomes a second of
simulated time for ``--seconds`` (86,400: a day), into a ``LoadGenerator``'s
own store, and read as a run and a monkey read it while the load lasts:

* every second, the last second (the live display and per-second probes) and
  the trailing 300 ms of tenths (stop conditions);
* a baseline window of the first minute, kept for the whole run (the monkey's);
* every ``--kill-every`` seconds, the whole window of the last minute judged
  against that baseline (a monkey's kill window; old ones are read back);
* at the end, a window of ``--window-s`` (an hour) in the middle of the day
  judged at once, and the load's journal record (every bucket, the summary,
  validity) written to a journal file.

Exit status 0 when the live peak (before the long window) is under ``--limit-mb``.

Prints the process's RSS and peak RSS (VmHWM) along the way and at the end,
the spill file's size, and the machine's steal.

    .venv/bin/python -m bench.memory_bench [--seconds 86400] [--rate 200] [--window-s 3600]
"""

from __future__ import annotations

import argparse
import math
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
from chaoskit.model.tolerance import Check, Threshold
from chaoskit.run.judging import judge_window

MB = 1024 * 1024


def rss() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MiB, from /proc/self/status."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def steal_jiffies() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=86_400)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--kill-every", type=int, default=600, help="seconds between judged kill windows")
    parser.add_argument("--window-s", type=int, default=3600, help="the long window judged at the end (0: none)")
    parser.add_argument("--limit-mb", type=float, default=200.0)
    args = parser.parse_args()
    started, steal0 = time.monotonic(), steal_jiffies()
    spec = LoadSpec(rate=float(args.rate), requests=(RequestSpec("get", "http://127.0.0.1:9/"),))
    load = LoadGenerator(spec)  # never started: its store is fed below, its readers are the real ones
    store = load._store  # noqa: SLF001 - the bench feeds the generator's own store
    recorder = BucketRecorder(["get"], ArrivalSchedule(float(args.rate)), t0=0.0, wall_t0=1.7e9,
                              highest_latency_us=int((spec.timeout_s * 2 + 1.0) * 1e6), store=store,
                              thread_time=lambda: 0.0, steal_time=lambda: 0.0)
    probe = LoadProbe("p99", "p99", (Check("p99", Threshold(max=0.5)),))
    rng = random.Random(1)
    # A second's worth of latencies (lognormal around 5 ms) and 2% errors, reused with a shift each second.
    latencies = array("d", (rng.lognormvariate(math.log(0.005), 0.5) for _ in range(args.rate)))
    failed = [rng.random() < 0.02 for _ in range(args.rate)]
    baseline: list = []
    judged = 0
    print("| simulated time | buckets | RSS MiB | peak RSS MiB |\n|---|---|---|---|", flush=True)
    step = 1.0 / args.rate
    for second in range(args.seconds):
        for i in range(args.rate):
            now = second + i * step
            recorder.sent(0, 0.0002, now)
            recorder.outcome(0, FAILED if failed[i] else OK, latencies[i], now + 0.004)
        recorder.rotate(second + 1.0)
        load.latest_window()
        load.trailing(0.3)
        if second == 60:
            baseline = load.seconds_between(0.0, 60.0)
        if baseline and second % args.kill_every == 0:
            window = load.seconds_between(second - 60.0, float(second))
            judge_window(probe, "fault", baseline, window)
            judged += 1
        if (second + 1) % 3600 == 0 or second + 1 == args.seconds:
            now_mb, peak_mb = rss()
            print(f"| {(second + 1) / 3600:.0f} h | {len(store)} | {now_mb:.0f} | {peak_mb:.0f} |", flush=True)
    live_peak = rss()[1]
    if args.window_s:
        long_window = load.seconds_between(args.seconds / 2, args.seconds / 2 + args.window_s)
        judged_long = judge_window(probe, "fault", baseline, long_window)
        del long_window
    after_window = rss()
    with tempfile.TemporaryDirectory() as folder:
        journal = JournalFile(Path(folder) / "day.json", {"events": []})
        journal.finish({"load": load.journal(t0=0.0)})
        written_mb = journal.path.stat().st_size / MB  # type: ignore[union-attr]
    after_journal = rss()
    spill = store._spill.tell() / MB if store._spill is not None else 0.0  # noqa: SLF001 - its size on disk
    steal1 = steal_jiffies()
    steal = 100.0 * (steal1[0] - steal0[0]) / max(1, steal1[1] - steal0[1])
    print()
    print(f"seconds: {len(store)} ({args.rate} req/s), kill windows judged: {judged}" + (
        f", long window: {judged_long.span}, {judged_long.decision}" if args.window_s else ""))
    print(f"journal written: {written_mb:.0f} MiB")
    print(f"live peak RSS {live_peak:.0f} MiB; after the long window {after_window[1]:.0f} MiB peak; "
          f"after the journal {after_journal[0]:.0f} MiB RSS, {after_journal[1]:.0f} MiB peak")
    print(f"spill file {spill:.0f} MiB; wall {time.monotonic() - started:.0f} s; steal {steal:.1f}%")
    return 0 if live_peak < args.limit_mb else 1


if __name__ == "__main__":
    sys.exit(main())
