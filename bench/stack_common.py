"""Shared pieces of the timeline stack benchmarks: the stack's containers, and open-model load.

The load is chaoskit's own generator (:class:`chaoskit.measure.LoadGenerator`):
request k goes out at its scheduled time whether or not earlier ones were
answered, and is timed from that *intended* instant, so a stalled server
shows up in the percentiles (no coordinated omission).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hdrh.histogram import HdrHistogram

from chaoskit.adapters.host import machine_steal_s
from chaoskit.measure import LoadGenerator, summarize
from chaoskit.model.load import LoadSpec, RequestSpec, UserDistribution

__all__ = ["HIGHEST_US", "Stack", "open_load", "percentiles_ms"]

# Latencies are recorded in microseconds, up to 60 s.
HIGHEST_US = 60_000_000
TOOL = "open model (chaoskit.measure.LoadGenerator, timed from intended send)"


def percentiles_ms(hist: HdrHistogram, points: tuple[float, ...] = (50, 90, 99, 99.9)) -> dict[str, float]:
    out = {f"p{p:g}": hist.get_value_at_percentile(p) / 1000 for p in points}
    out["max"] = hist.get_max_value() / 1000
    out["mean"] = round(hist.get_mean_value() / 1000, 3)
    return out


def open_load(requests: Sequence[RequestSpec], rate: float, seconds: float, *,
              users: UserDistribution = UserDistribution(), seed: int = 7, timeout_s: float = 5.0,
              during: Callable[[LoadGenerator, float], None] | None = None) -> tuple[dict[str, Any], LoadGenerator]:
    """``rate * seconds`` requests on schedule; the summary, and the generator (for captured values).

    ``during(generator, deadline)`` runs in this thread while the load runs
    and returns by ``deadline`` (``time.monotonic()``), e.g. to watch what the
    load's answers acknowledged.
    """
    spec = LoadSpec(rate=rate, requests=tuple(requests), users=users, connections=32, timeout_s=timeout_s, seed=seed)
    # The schedule ends after exactly ``seconds``: arrivals 0 .. rate*seconds-1.
    generator = LoadGenerator(spec, max_duration_s=seconds, steal_time=machine_steal_s)
    generator.start()
    deadline = time.monotonic() + seconds + timeout_s
    try:
        if during is not None:
            during(generator, deadline)
        time.sleep(max(0.0, deadline - time.monotonic()))
    finally:
        generator.stop()
        buckets = generator.buckets()
    window = summarize(buckets)
    errors = dict(window.errors)
    if window.timed_out:
        errors["timed_out"] = window.timed_out
    return {
        "tool": TOOL,
        "target_rate": rate,
        "achieved_rate": round(window.sent / seconds, 1),
        "sent": window.sent,
        "ok": window.succeeded,
        "errors": errors,
        "latency_ms": {k.replace("p999", "p99.9"): round((getattr(window, k) or 0.0) * 1000, 3)
                       for k in ("p50", "p90", "p99", "p999", "max")},
        "dispatch_lag_p99_ms": round((window.lag_p99 or 0.0) * 1000, 3),
        "generator_cpu_s": round(window.cpu_s, 2),
    }, generator


@dataclass(frozen=True)
class Stack:
    """A running compose project of the sample stack, seen from the host."""

    project: str
    url: str

    def container(self, service: str) -> str:
        out = subprocess.run(
            ["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={self.project}",
             "--filter", f"label=com.docker.compose.service={service}"],
            capture_output=True, text=True, check=True,
        ).stdout.split()
        if not out:
            raise SystemExit(f"no running {service} container in compose project {self.project!r}: "
                             "bring the stack up with compose/stack.sh up")
        return out[0]

    def containers(self, service: str) -> list[str]:
        return subprocess.run(
            ["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={self.project}",
             "--filter", f"label=com.docker.compose.service={service}"],
            capture_output=True, text=True, check=True,
        ).stdout.split()

    def sql(self, query: str) -> list[list[str]]:
        out = subprocess.run(
            ["docker", "exec", self.container("postgres"), "psql", "-U", "postgres", "-AtF", "\t", "-c", query],
            capture_output=True, text=True, check=True,
        ).stdout
        return [line.split("\t") for line in out.splitlines() if line]

    def redis_info(self, section: str) -> dict[str, str]:
        out = subprocess.run(
            ["docker", "exec", self.container("redis"), "redis-cli", "info", section],
            capture_output=True, text=True, check=True,
        ).stdout
        info = {}
        for line in out.splitlines():
            if ":" in line and not line.startswith("#"):
                key, _, value = line.partition(":")
                info[key] = value.strip()
        return info

    def command_calls(self) -> dict[str, int]:
        """Redis calls per command so far (INFO commandstats)."""
        calls = {}
        for key, value in self.redis_info("commandstats").items():
            fields = dict(part.split("=") for part in value.split(","))
            calls[key.removeprefix("cmdstat_")] = int(fields["calls"])
        return calls

    def pg_counters(self) -> dict[str, int]:
        """Database-wide work so far: transactions, blocks touched, tuples read."""
        row = self.sql(
            "SELECT xact_commit, blks_hit + blks_read, tup_returned, tup_fetched"
            " FROM pg_stat_database WHERE datname = 'postgres'"
        )[0]
        return dict(zip(("transactions", "blocks", "tuples_returned", "tuples_fetched"), map(int, row), strict=True))

    def metrics(self) -> dict[str, Any]:
        import urllib.request

        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as response:
            return json.load(response)

    def users(self) -> int:
        return int(self.sql("SELECT count(*) FROM users")[0][0])


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """CPU time used so far by each container of the stack (user + system, from cgroup v1 cpuacct)."""
    out = subprocess.run(
        ["docker", "ps", "--filter", f"label=com.docker.compose.project={stack.project}",
         "--format", "{{.ID}} {{.Label \"com.docker.compose.service\"}}"],
        capture_output=True, text=True, check=True,
    ).stdout.split("\n")
    totals: dict[str, float] = {}
    for line in filter(None, out):
        cid, service = line.split()
        full = subprocess.run(["docker", "inspect", "-f", "{{.Id}}", cid], capture_output=True, text=True).stdout
        full = full.strip()
        for path in (f"/sys/fs/cgroup/cpuacct/docker/{full}/cpuacct.usage",
                     f"/sys/fs/cgroup/system.slice/docker-{full}.scope/cpu.stat"):
            try:
                text = open(path).read()
            except OSError:
                continue
            value = int(text) / 1e9 if "usage_usec" not in text else int(text.split()[1]) / 1e6
            totals[service] = totals.get(service, 0.0) + value
            break
    return totals


def docker_proxy_cpu() -> float:
    """CPU seconds of the engine's userland proxies (the 127.0.0.1 published ports go through them)."""
    total = 0.0
    for pid in subprocess.run(["pgrep", "-x", "docker-proxy"], capture_output=True, text=True).stdout.split():
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / 100
    return total


def own_cpu() -> float:
    """CPU seconds of this process (an in-process generator) and its finished children (wrk)."""
    import resource

    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def machine_cpu() -> dict[str, float]:
    """CPU seconds the whole machine spent so far: busy, idle, stolen by the hypervisor (/proc/stat)."""
    fields = open("/proc/stat").readline().split()[1:]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) / 100 for x in fields[:8])
    return {"busy": user + nice + system + irq + softirq, "idle": idle + iowait, "steal": steal}


def machine_share(before: dict[str, float], after: dict[str, float], ours_s: float) -> dict[str, float]:
    """How the machine's CPU went during a phase, in cores: ours (stack + generator), others, idle, stolen."""
    busy, idle, steal = (after[k] - before[k] for k in ("busy", "idle", "steal"))
    total = busy + idle + steal
    cores = 2.0  # normalised to this machine's cores: shares add up to 1
    return {
        "seconds": round(total / cores, 1),
        "ours": round(ours_s / total, 3) if total else 0.0,
        "others": round(max(0.0, busy - ours_s) / total, 3) if total else 0.0,
        "idle": round(idle / total, 3) if total else 0.0,
        "stolen": round(steal / total, 3) if total else 0.0,
    }
