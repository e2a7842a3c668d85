"""Running shipped experiments against the sample stack, as a user does, many times (shared by the benches).

``chaoskit run`` in a subprocess per run, journals kept; the api's knobs
switched by recreating its containers (``compose/stack.sh compose up``).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
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
    """Recreate the api replicas and the worker with ``knobs`` (the data services keep running); wait until ready."""
    subprocess.run([str(ROOT / "compose/stack.sh"), "compose", "up", "-d", "--no-deps", "api", "worker"],
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
