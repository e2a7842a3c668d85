"""Shared pieces of the timeline stack benchmarks: the stack's containers, and an open-loop HTTP load.

The open-loop load sends request k at ``t0 + k / rate`` whether or not earlier
ones were answered, and times each from that *intended* instant, so a stalled
server shows up in the percentiles (no coordinated omission). It is a small
aiohttp + uvloop loop, enough for a few hundred to a couple of thousand
requests per second on this machine; chaoskit's own generator
(chaoskit/measure) replaces it once it lands.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from hdrh.histogram import HdrHistogram

__all__ = ["LoadResult", "Stack", "open_loop", "percentiles_ms"]

# Latencies are recorded in microseconds, up to 60 s.
HIGHEST_US = 60_000_000


def percentiles_ms(hist: HdrHistogram, points: tuple[float, ...] = (50, 90, 99, 99.9)) -> dict[str, float]:
    out = {f"p{p:g}": hist.get_value_at_percentile(p) / 1000 for p in points}
    out["max"] = hist.get_max_value() / 1000
    out["mean"] = round(hist.get_mean_value() / 1000, 3)
    return out


@dataclass
class LoadResult:
    """What an open-loop run saw: latency from intended send time, errors, the generator's own lag."""

    rate: float
    duration_s: float
    sent: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latency: HdrHistogram = field(default_factory=lambda: HdrHistogram(1, HIGHEST_US, 3))
    dispatch_lag: HdrHistogram = field(default_factory=lambda: HdrHistogram(1, HIGHEST_US, 3))
    wall_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "target_rate": self.rate,
            "achieved_rate": round(self.sent / self.wall_s, 1) if self.wall_s else 0.0,
            "sent": self.sent,
            "ok": self.ok,
            "errors": dict(self.errors),
            "latency_ms": percentiles_ms(self.latency),
            "dispatch_lag_p99_ms": self.dispatch_lag.get_value_at_percentile(99) / 1000,
        }


# One request: (session, index) -> HTTP status (raise for a transport error).
RequestFn = Callable[[aiohttp.ClientSession, int], Awaitable[int]]


async def open_loop(request: RequestFn, rate: float, duration_s: float, timeout_s: float = 5.0,
                    max_in_flight: int = 512) -> LoadResult:
    """Send ``rate * duration_s`` requests on schedule; every one is bounded by ``timeout_s``."""
    result = LoadResult(rate, duration_s)
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=max_in_flight, force_close=False)
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    pending: set[asyncio.Task[None]] = set()

    async def one(session: aiohttp.ClientSession, k: int, intended: float) -> None:
        try:
            status = await request(session, k)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            key = type(exc).__name__
            result.errors[key] = result.errors.get(key, 0) + 1
        else:
            if 200 <= status < 300:
                result.ok += 1
            else:
                result.errors[f"http_{status}"] = result.errors.get(f"http_{status}", 0) + 1
        result.latency.record_value(max(1, int((loop.time() - intended) * 1e6)))

    total = int(rate * duration_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        t0 = loop.time() + 0.05
        for k in range(total):
            intended = t0 + k / rate
            delay = intended - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            result.dispatch_lag.record_value(max(1, int((loop.time() - intended) * 1e6)))
            task = loop.create_task(one(session, k, intended))
            pending.add(task)
            task.add_done_callback(pending.discard)
            result.sent += 1
        if pending:
            await asyncio.wait(pending, timeout=timeout_s + 1)
        result.wall_s = loop.time() - t0
    return result


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
