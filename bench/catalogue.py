"""The catalogue's verdicts (issue 6): each shipped experiment in the resilient configuration, then with
the knob that should turn it into a failure, against the running sample stack.

Each run is ``chaoskit run`` in a subprocess with shortened phases
(``--phases``); between configurations the api replicas and the worker are
recreated with the knob (and with the defaults again at the end, also on
Ctrl-C). Prints a line per run, then the README's table: intended vs observed.

    compose/stack.sh up
    .venv/bin/python -m bench.catalogue [--only cache-down,worker-crash] [--skip-knobs]
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path


from bench.experiment_runs import run_once, set_knobs


@dataclass(frozen=True)
class Entry:
    experiment: str
    resilient: str  # the verdict intended with the defaults
    knobs: dict[str, str]  # what should turn it into a failure ({} = none: a failure by design)
    knob_verdict: str = "FAILURE"
    knob_vars: tuple[str, ...] = ()  # variables the knob's run needs (k=v)


CATALOGUE = (
    Entry("cache-down.yaml", "TOLERATED", {"TIMELINE_CACHE_FALLBACK": "off"}),
    Entry("cache-timeouts.yaml", "TOLERATED", {"TIMELINE_CACHE_FALLBACK": "off"}),
    Entry("cache-latency.yaml", "TOLERATED", {"TIMELINE_CACHE_FALLBACK": "off"}),
    Entry("database-latency.yaml", "TOLERATED", {"TIMELINE_DB_TIMEOUT_MS": "100"}),
    # One replica: the blast-radius cap (half of the replicas) would refuse the kill, so lift it.
    Entry("api-replica-killed.yaml", "TOLERATED", {"TIMELINE_API_REPLICAS": "1"}, knob_vars=("max_fraction=1",)),
    Entry("worker-crash.yaml", "TOLERATED", {"TIMELINE_FANOUT_RECOVERY": "off"}),
    # A CPU limit on the replicas: the runaway process spends the replica's quota and the api is throttled with it.
    Entry("api-cpu-hog.yaml", "TOLERATED", {"TIMELINE_API_CPUS": "0.1"}),
    Entry("database-unreachable.yaml", "FAILURE", {}),
    Entry("database-disk-full.yaml", "FAILURE", {}),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma list of experiment names (without .yaml)")
    parser.add_argument("--skip-knobs", action="store_true", help="only the resilient configuration")
    parser.add_argument("--project", default="chaoskit")
    parser.add_argument("--api", default="http://127.0.0.1:8080")
    parser.add_argument("--toxiproxy", default="http://127.0.0.1:8474")
    parser.add_argument("--phases", default="warmup=3s,baseline=15s,fault=15s,recovery=20s")
    args = parser.parse_args()
    only = {f"{name}.yaml" for name in args.only.split(",") if name}
    entries = [e for e in CATALOGUE if not only or e.experiment in only]
    variables = [f"project={args.project}", f"api={args.api}", f"toxiproxy={args.toxiproxy}", *args.phases.split(",")]
    out = Path(tempfile.mkdtemp(prefix="chaoskit-catalogue-"))
    print(f"journals in {out}", flush=True)
    rows = []
    for entry in entries:
        resilient = run_once(entry.experiment, "resilient", variables, out / f"{entry.experiment}-resilient.json")
        print(f"  {entry.experiment}, defaults: {resilient.verdict} -- {resilient.first_reason[:200]}", flush=True)
        knob = None
        if entry.knobs and not args.skip_knobs:
            try:
                set_knobs(args.project, args.api, entry.knobs)
                knob = run_once(entry.experiment, "knob", [*variables, *entry.knob_vars],
                                out / f"{entry.experiment}-knob.json")
            finally:
                set_knobs(args.project, args.api, {})
            print(f"  {entry.experiment}, {entry.knobs}: {knob.verdict} -- {knob.first_reason[:200]}", flush=True)
        rows.append((entry, resilient, knob))
    print("\n| experiment | defaults: intended | observed | knob | with the knob: intended | observed |")
    print("|---|---|---|---|---|---|")
    for entry, resilient, knob in rows:
        knobs = ", ".join(f"`{k}={v}`" for k, v in entry.knobs.items()) or "– (a failure by design)"
        print(f"| `{entry.experiment}` | {entry.resilient} | {resilient.verdict} | {knobs} | "
              f"{entry.knob_verdict if entry.knobs else '–'} | {knob.verdict if knob else '–'} |")
    return 0 if all(r.verdict == e.resilient and (k is None or k.verdict == e.knob_verdict)
                    for e, r, k in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
