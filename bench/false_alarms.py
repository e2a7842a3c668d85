"""No false alarms (issue 5): the same experiments, many times, against the running sample stack.

1. ``experiments/control-no-op.yaml`` (a 0 ms latency toxic on redis: a fault
   that does nothing, judged with SLOs *and* baseline-relative tolerances)
   ``--runs`` times (20): every run must come out TOLERATED;
2. ``experiments/cache-latency.yaml`` (300 ms on every cache call) with the
   api's cache fallback switched off (``TIMELINE_CACHE_FALLBACK=off``: the api
   replicas are recreated with the knob, and with the default again at the
   end, also on Ctrl-C) ``--fail-runs`` times (20): every run must be a FAILURE;
3. the same experiment in the resilient configuration ``--resilient-runs``
   times (3), for the catalogue table.

Each run is ``chaoskit run`` in a subprocess, exactly as a user runs it, with
shortened phases (``--phases``). Prints a line per run and a Markdown table.

    compose/stack.sh up
    .venv/bin/python bench/false_alarms.py [--runs 20] [--fail-runs 20] [--resilient-runs 3]

Exit status 0 when both counts are perfect, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAOSKIT = [sys.executable, "-m", "chaoskit"]


@dataclass
class Run:
    experiment: str
    config: str
    verdict: str
    seconds: float
    time_to_detect_s: float | None
    first_reason: str


def stack_env(project: str, knobs: dict[str, str]) -> dict[str, str]:
    return {**os.environ, "CHAOSKIT_PROJECT": project, **knobs}


def set_knobs(project: str, api: str, knobs: dict[str, str]) -> None:
    """Recreate the api replicas with ``knobs`` (the other services keep running) and wait until ready."""
    subprocess.run([str(ROOT / "compose/stack.sh"), "compose", "up", "-d", "--no-deps", "api"],
                   env=stack_env(project, knobs), check=True, capture_output=True, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{api}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    time.sleep(2)  # both replicas behind nginx, not just the first one up
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the api at {api} was not ready 60 s after recreating it with {knobs}")


def run_once(experiment: str, config: str, variables: list[str], journal: Path) -> Run:
    started = time.monotonic()
    done = subprocess.run([*CHAOSKIT, "run", str(ROOT / "experiments" / experiment), "--journal", str(journal),
                           *[arg for v in variables for arg in ("--var", v)]],
                          capture_output=True, text=True, cwd=ROOT)
    seconds = time.monotonic() - started
    verdict = (done.stdout.split(":", 1)[0].split() or ["?"])[0]
    ttd = None
    if journal.exists():
        data = json.loads(journal.read_text())
        verdict = data["verdict"]["verdict"]
        ttd = data["verdict"].get("time_to_detect_s")
        reason = (data["verdict"].get("reasons") or [""])[0]
    else:
        reason = (done.stderr.strip().splitlines() or [""])[-1]
    return Run(experiment, config, str(verdict).split(".")[-1], seconds, ttd, reason)


def series(label: str, experiment: str, config: str, count: int, variables: list[str], out: Path) -> list[Run]:
    runs = []
    for i in range(count):
        run = run_once(experiment, config, variables, out / f"{Path(experiment).stem}-{config}-{i}.json")
        runs.append(run)
        ttd = f", detected after {run.time_to_detect_s:.1f} s" if run.time_to_detect_s is not None else ""
        print(f"  {label} {i + 1}/{count}: {run.verdict} in {run.seconds:.0f} s{ttd} -- {run.first_reason[:160]}",
              flush=True)
    return runs


def table(groups: list[tuple[str, str, list[Run]]]) -> str:
    lines = ["| experiment | configuration | runs | expected | verdicts | time to detect (median, max) |",
             "|---|---|---|---|---|---|"]
    for expected, title, runs in groups:
        if not runs:
            continue
        counts = ", ".join(f"{v} {n}" for v, n in Counter(r.verdict for r in runs).most_common())
        ttds = [r.time_to_detect_s for r in runs if r.time_to_detect_s is not None]
        ttd = f"{statistics.median(ttds):.1f} s, {max(ttds):.1f} s" if ttds else "-"
        lines.append(f"| {runs[0].experiment} | {title} | {len(runs)} | {expected} {len(runs)}/{len(runs)} "
                     f"| {counts} | {ttd} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="runs of the control experiment")
    parser.add_argument("--fail-runs", type=int, default=20, help="runs of cache latency with the fallback off")
    parser.add_argument("--resilient-runs", type=int, default=3, help="runs of cache latency, resilient defaults")
    parser.add_argument("--project", default="chaoskit")
    parser.add_argument("--api", default="http://127.0.0.1:8080")
    parser.add_argument("--toxiproxy", default="http://127.0.0.1:8474")
    parser.add_argument("--phases", default="warmup=3s,baseline=15s,fault=15s,recovery=15s")
    parser.add_argument("--var", action="append", default=[], help="more variables for every run (k=v)")
    args = parser.parse_args()
    variables = [f"project={args.project}", f"api={args.api}", f"toxiproxy={args.toxiproxy}",
                 *args.phases.split(","), *args.var]
    out = Path(tempfile.mkdtemp(prefix="chaoskit-false-alarms-"))
    print(f"journals in {out}", flush=True)
    control = series("control", "control-no-op.yaml", "resilient", args.runs, variables, out)
    resilient = series("cache latency, resilient", "cache-latency.yaml", "resilient", args.resilient_runs,
                       variables, out)
    failing: list[Run] = []
    if args.fail_runs:
        try:
            set_knobs(args.project, args.api, {"TIMELINE_CACHE_FALLBACK": "off"})
            failing = series("cache latency, fallback off", "cache-latency.yaml", "fallback-off", args.fail_runs,
                             variables, out)
        finally:
            set_knobs(args.project, args.api, {})
    print()
    print(table([("TOLERATED", "resilient (defaults)", control),
                 ("TOLERATED", "resilient (defaults)", resilient),
                 ("FAILURE", "TIMELINE_CACHE_FALLBACK=off", failing)]))
    perfect = all(r.verdict == "TOLERATED" for r in control) and all(r.verdict == "FAILURE" for r in failing)
    return 0 if perfect else 1


if __name__ == "__main__":
    raise SystemExit(main())
