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
    .venv/bin/python -m bench.false_alarms [--runs 20] [--fail-runs 20] [--resilient-runs 3]

Exit status 0 when both counts are perfect, 1 otherwise.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


from bench.experiment_runs import Run, series, set_knobs, table


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
