"""What installing chaoskit costs before it is used, side by side with Chaos Toolkit, in one run.

1. A pytest run of one trivial test in a virtualenv where chaoskit is
   installed (its pytest11 plugin auto-loads) against the same run with the
   plugin disabled (``-p no:chaoskit``): wall time and peak RSS.
2. ``chaoskit --help`` against ``chaos --help``, and ``chaoskit validate
   experiments/control-no-op.yaml`` against ``chaos validate`` of an
   equivalent trivial experiment (a steady state of three probes, one action),
   Chaos Toolkit without its version check and log file (no network, no file).
3. The size of each virtualenv and the number of distributions installed in
   it (pip and setuptools not counted).

Every measurement is a fresh process; CPU time (user + system) and peak
RSS are the process's own (``wait4``'s rusage). CPU time is the steadier
figure on a shared machine: wall time also counts the waits for a core. Commands run interleaved, one of each per round, so
a noisy minute hits all alike; the table gives the median of ``--runs``
rounds, and the share of CPU time the hypervisor took (``/proc/stat``
steal) during the whole run.

    python -m bench.startup_bench --setup          # creates the two virtualenvs if missing, then measures

``--setup`` installs this checkout (runtime dependencies only, no extras)
into ``--venv`` and ``chaostoolkit`` into ``--ctk-venv``, from PyPI.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRIVIAL_TEST = "def test_one():\n    assert 1 + 1 == 2\n"
# Chaos Toolkit's counterpart of experiments/control-no-op.yaml: three probes, one action, nothing touched.
CTK_NO_OP = {
    "version": "1.0.0", "title": "Control (a fault that does nothing)", "description": "nothing should change",
    "steady-state-hypothesis": {"title": "Users are served", "probes": [
        {"type": "probe", "name": name, "tolerance": 0, "provider": {"type": "process", "path": "true"}}
        for name in ("timeline-ok", "post-ok", "latency-ok")]},
    "method": [{"type": "action", "name": "no-op", "provider": {"type": "process", "path": "true"}}],
}


def steal_ticks() -> tuple[int, int]:
    """(stolen, total) clock ticks of all CPUs so far, from /proc/stat's first line."""
    with open("/proc/stat") as stat:
        ticks = [int(v) for v in stat.readline().split()[1:]]
    return ticks[7], sum(ticks)


def measure(argv: list[str], cwd: Path) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of one run of ``argv``; a non-zero exit is an error of the bench."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.read().decode(errors='replace')[-2000:]}")
    proc.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def venv_size(venv: Path) -> tuple[float, int]:
    """(MB on disk, distributions installed besides pip and setuptools) of a virtualenv."""
    size = sum(f.lstat().st_size for f in venv.rglob("*") if f.is_file() and not f.is_symlink())
    dists = [d for d in venv.glob("lib/python*/site-packages/*.dist-info")
             if not d.name.lower().startswith(("pip-", "setuptools-"))]
    return size / 1e6, len(dists)


def setup(venv: Path, ctk_venv: Path) -> None:
    for path, packages in ((venv, [str(ROOT)]), (ctk_venv, ["chaostoolkit"])):
        if not (path / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
            subprocess.run([str(path / "bin" / "pip"), "install", "-q", *packages], check=True)


def commands(venv: Path, ctk_venv: Path, work: Path) -> dict[str, list[str]]:
    test = work / "test_trivial.py"
    pytest = [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)]
    ctk = [str(ctk_venv / "bin" / "chaos"), "--no-version-check", "--no-log-file"]
    return {
        "pytest, chaoskit plugin loaded": pytest,
        "pytest, -p no:chaoskit": [*pytest, "-p", "no:chaoskit"],
        "chaoskit --help": [str(venv / "bin" / "chaoskit"), "--help"],
        "chaos --help": [*ctk, "--help"],
        "chaoskit validate": [str(venv / "bin" / "chaoskit"), "validate", str(ROOT / "experiments/control-no-op.yaml")],
        "chaos validate": [*ctk, "validate", str(work / "control-no-op.json")],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="rounds (the median is reported)")
    parser.add_argument("--venv", type=Path, default=Path("/tmp/chaoskit-bench-venv"), help="chaoskit's virtualenv")
    parser.add_argument("--ctk-venv", type=Path, default=Path("/tmp/ctk"), help="Chaos Toolkit's virtualenv")
    parser.add_argument("--setup", action="store_true", help="create missing virtualenvs first (pip, from PyPI)")
    args = parser.parse_args()
    if args.setup:
        setup(args.venv, args.ctk_venv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "test_trivial.py").write_text(TRIVIAL_TEST)
        (work / "control-no-op.json").write_text(json.dumps(CTK_NO_OP))
        table = commands(args.venv, args.ctk_venv, work)
        for argv in table.values():  # warm the page cache and the .pyc files; not counted
            measure(argv, work)
        samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in table}
        before = steal_ticks()
        for _ in range(args.runs):
            for name, argv in table.items():
                samples[name].append(measure(argv, work))
        after = steal_ticks()
    steal = 100.0 * (after[0] - before[0]) / max(1, after[1] - before[1])
    rows = {name: {"wall_ms": 1000 * statistics.median(w for w, _, _ in runs),
                   "cpu_ms": 1000 * statistics.median(c for _, c, _ in runs),
                   "peak_rss_mib": statistics.median(r for _, _, r in runs)}
            for name, runs in samples.items()}
    sizes = {"chaoskit": venv_size(args.venv), "chaostoolkit": venv_size(args.ctk_venv)}
    print(f"{args.runs} rounds, median; {os.cpu_count()} CPUs; steal {steal:.1f}% during the run; "
          f"load average {os.getloadavg()[0]:.2f}\n")
    print("| command | wall (ms) | CPU (ms) | peak RSS (MiB) |\n|---|---:|---:|---:|")
    for name, row in rows.items():
        print(f"| {name} | {row['wall_ms']:.0f} | {row['cpu_ms']:.0f} | {row['peak_rss_mib']:.1f} |")
    print("\n| virtualenv | size (MB) | distributions |\n|---|---:|---:|")
    for name, (mb, count) in sizes.items():
        print(f"| {name} | {mb:.0f} | {count} |")
    print(json.dumps({"runs": args.runs, "steal_pct": steal, "rows": rows,
                      "venvs": {k: {"mb": mb, "distributions": n} for k, (mb, n) in sizes.items()}}))


if __name__ == "__main__":
    main()
