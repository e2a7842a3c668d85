"""Fuzz the file loaders: every mutated file must give problems or a valid result, never a traceback or a hang.

    python -m bench.fuzz_bench [--files 10000] [--seed 1] [--limit-s 2]

Mutates the shipped experiments, the game day and the monkey config
(bench/fuzzing.py: wrong types, YAML 1.1 surprises, deep nesting, alias bombs,
flipped bytes...) and loads each variant in this process, as ``chaoskit
validate`` does. Counts: accepted, refused with problems, tracebacks (any
exception outside chaoskit's tree), hangs (over ``--limit-s``); the slowest
file, and the peak RSS. Then the largest file the limits speak of: an
experiment of about 1 MB (its method repeated), timed through the loader.
Exit 1 when any traceback or hang was seen.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import yaml

from bench.fuzzing import mutate
from chaoskit.errors import ChaoskitError
from chaoskit.model.loader import parse_experiment
from chaoskit.schedule.gameday import load_gameday
from chaoskit.schedule.monkey_config import parse_monkey_config

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = ROOT / "experiments"


class _Hang(Exception):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise _Hang


def _loaders(workdir: Path) -> list[tuple[str, str, Callable[[str], object]]]:
    def gameday(text: str) -> object:
        path = workdir / "gameday.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        return load_gameday(path)

    seeds: list[tuple[str, str, Callable[[str], object]]] = []
    for path in sorted(EXPERIMENTS.glob("*.yaml")):
        if path.name == "gameday.yaml":
            seeds.append((path.name, path.read_text(), gameday))
        elif path.name == "monkey.yaml":
            seeds.append((path.name, path.read_text(), lambda text: parse_monkey_config(text, source="fuzz")))
        else:
            seeds.append((path.name, path.read_text(), lambda text: parse_experiment(text, source="fuzz")))
    return seeds


def large_file(target_bytes: int = 1_000_000) -> tuple[int, float]:
    """(size, seconds) of loading one valid experiment of about ``target_bytes``: its method repeated."""
    data = yaml.safe_load((EXPERIMENTS / "cache-latency.yaml").read_text())
    step = data["method"][0]
    one = len(yaml.safe_dump([step]))
    # Deep copies: shared objects would be dumped as anchors and aliases.
    data["method"] = [dict(json.loads(json.dumps(step)), name=f"step {i}") for i in range(max(1, target_bytes // one))]
    text = yaml.safe_dump(data, sort_keys=False)
    t0 = time.perf_counter()
    try:
        parse_experiment(text, source="large")
    except ChaoskitError as exc:  # refused is fine (e.g. a cap on steps): what counts is time and memory
        print(f"large file refused: {str(exc)[:120]}")
    return len(text), time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit-s", type=float, default=2.0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    counts: Counter[str] = Counter()
    slowest = (0.0, "")
    signal.signal(signal.SIGALRM, _on_alarm)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        seeds = _loaders(Path(tmp))
        for index in range(args.files):
            name, text, load = rng.choice(seeds)
            variant = mutate(text, rng, count=rng.choice((1, 2, 3, 5)))
            t0 = time.perf_counter()
            signal.setitimer(signal.ITIMER_REAL, args.limit_s)
            try:
                load(variant)
                counts["accepted"] += 1
            except ChaoskitError:
                counts["refused with problems"] += 1
            except _Hang:
                counts["hangs"] += 1
                print(f"hang: file {index} (from {name})", file=sys.stderr)
            except Exception:  # noqa: BLE001 - counting every escape is the point
                counts["tracebacks"] += 1
                print(f"traceback: file {index} (from {name}):\n{traceback.format_exc(limit=-3)}", file=sys.stderr)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            elapsed = time.perf_counter() - t0
            slowest = max(slowest, (elapsed, f"file {index} from {name}"))
    total = time.perf_counter() - started
    fuzz_peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size, large_s = large_file()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"files: {args.files} (seed {args.seed}) in {total:.1f} s")
    for key in ("accepted", "refused with problems", "tracebacks", "hangs"):
        print(f"  {key}: {counts[key]}")
    print(f"slowest: {slowest[0] * 1000:.0f} ms ({slowest[1]}); peak RSS {fuzz_peak_mib:.0f} MiB")
    print(f"a {size / 1e6:.2f} MB experiment: loaded in {large_s:.2f} s; peak RSS {peak_mib:.0f} MiB")
    return 1 if counts["tracebacks"] or counts["hangs"] else 0


if __name__ == "__main__":
    sys.exit(main())
