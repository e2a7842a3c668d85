"""How fast faults take effect and go away, seen from a client.

For each fault kind, 20 tries: a client polls the service without pause;
"effect seen" is the time from just before apply() to the start of the first
request that sees the fault, "effect gone" the same from just before revert().
Then 20 faults of one run are reverted at once, as the run loop does.

    .venv/bin/python -m bench.fault_bench [--tries 20]

Needs the Docker engine and the images (./setup.sh). Everything it creates
carries the label chaoskit.bench=1 and is removed at the end.
"""

from __future__ import annotations

import argparse
import http.client
import socket
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any


from chaoskit.adapters.backends import Backends
from chaoskit.adapters.docker_engine import DockerEngine
from chaoskit.faults.base import TargetRef
from chaoskit.faults.catalogue import build
from chaoskit.log import configure
from chaoskit.run.acts import FaultAct, in_parallel
from chaoskit.run.ledger import Ledger

LABELS = {"chaoskit.bench": "1"}


def request_ms(port: int, timeout: float = 1.0) -> float | None:
    """One GET on a fresh connection; its duration in ms, or None if it failed or timed out."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/")
        conn.getresponse().read()
        return (time.perf_counter() - start) * 1000
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def time_until(act: Callable[[], None], seen: Callable[[float | None], bool], port: int, timeout: float,
               limit_s: float = 30.0) -> float:
    """ms from just before ``act`` to the start of the first request for which ``seen(duration)`` holds."""
    t0 = time.perf_counter()
    act()
    while time.perf_counter() - t0 < limit_s:
        started = time.perf_counter()
        if seen(request_ms(port, timeout)):
            return (started - t0) * 1000
    raise TimeoutError("effect never seen")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(port: int) -> None:
    deadline = time.monotonic() + 30
    while request_ms(port) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing answers on 127.0.0.1:{port}")
        time.sleep(0.05)


def p50(values: list[float]) -> float:
    return statistics.median(values)


def start_services(engine: DockerEngine, network: str, made: list) -> tuple[Any, Backends, int, int]:
    """nginx and Toxiproxy (a proxy "web" in front of nginx) on ``network``: (web, backends, web port, proxy port)."""
    client = engine.client
    # A fixed host port: a random one would change when the killed container is started again.
    web = client.containers.run("chaoskit/nginx", detach=True, labels=LABELS, network=network,
                                name=f"bench-web-{uuid.uuid4().hex[:6]}", ports={"80/tcp": ("127.0.0.1", free_port())})
    made.append(web)
    toxi = client.containers.run("chaoskit/toxiproxy:2.12.0", detach=True, labels=LABELS, network=network,
                                 ports={"8474/tcp": ("127.0.0.1", None), "20000/tcp": ("127.0.0.1", None)})
    made.append(toxi)
    web.reload()
    toxi.reload()
    web_port = int(web.ports["80/tcp"][0]["HostPort"])
    proxy_port = int(toxi.ports["20000/tcp"][0]["HostPort"])
    backends = Backends(toxiproxy_url=f"http://127.0.0.1:{toxi.ports['8474/tcp'][0]['HostPort']}")
    backends.__dict__["engine"] = engine
    deadline = time.monotonic() + 30
    while True:
        try:
            backends.toxiproxy.version()
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    backends.toxiproxy.create_proxy("web", "0.0.0.0:20000", f"{web.name}:80")
    wait_healthy(web_port)
    wait_healthy(proxy_port)
    return web, backends, web_port, proxy_port


def effect_times(backends: Backends, web: Any, web_port: int, proxy_port: int,
                 tries: int) -> list[tuple[str, float, float, int]]:
    """Per fault kind: (name, p50 ms applied -> effect seen, p50 ms reverted -> effect gone, target ms)."""
    rows = []
    latency = 100  # ms; a request through the toxic takes at least this
    on, off = [], []
    for _ in range(tries):
        fault = build("network.latency", {"proxy": "web", "latency_ms": latency})
        fault.prepare(backends)
        on.append(time_until(lambda: fault.apply(backends), lambda d: d is not None and d >= latency, proxy_port, 2))
        off.append(time_until(lambda: fault.revert(backends), lambda d: d is not None and d < latency / 2, proxy_port, 2))
    rows.append(("network.latency (Toxiproxy)", p50(on), p50(off), 50))
    for kind in ("container.kill", "container.pause"):
        on, off = [], []
        for _ in range(tries):
            fault = build(kind, {}, TargetRef(web.id, web.name))
            fault.prepare(backends)
            # Paused: connections are accepted by docker-proxy but never answered, so 'seen' is a timeout.
            on.append(time_until(lambda: fault.apply(backends), lambda d: d is None, web_port, 0.05))
            off.append(time_until(lambda: fault.revert(backends), lambda d: d is not None, web_port, 0.05))
            wait_healthy(web_port)
        rows.append((kind, p50(on), p50(off), 300))
    return rows


def revert_together(backends: Backends, sleepers: list) -> list[tuple[str, float]]:
    """20 faults of one kind applied (each recorded, then applied), reverted together as the run loop does."""
    tmp = Path(f"/tmp/chaoskit-bench-{uuid.uuid4().hex[:6]}")
    together = []
    for kind, params, targets in (
        ("network.latency", {"proxy": "web", "latency_ms": 100}, [None] * 20),
        ("container.pause", {}, sleepers),
        ("container.kill", {}, sleepers),
    ):
        ledger = Ledger(tmp / f"{kind}.jsonl")
        acts = []
        for target in targets:
            fault = build(kind, params, TargetRef(target.id, target.name) if target else None)
            fault.prepare(backends)
            acts.append(FaultAct(fault, backends, ledger, f"bench-{kind}"))
            acts[-1].apply()
        start = time.perf_counter()
        errors = in_parallel(FaultAct.revert, acts)
        together.append((kind, time.perf_counter() - start))
        failed = [e for e in errors if e is not None]
        if failed or ledger.pending():
            raise RuntimeError(f"20 x {kind}: {len(failed)} revert(s) failed, {len(ledger.pending())} pending: "
                               f"{failed[:1]}")
    return together


def main() -> int:
    configure("console", 0)  # logs to stderr, the tables to stdout
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tries", type=int, default=20)
    args = parser.parse_args()
    engine = DockerEngine.connect()
    client = engine.client
    net = client.networks.create(f"chaoskit-bench-{uuid.uuid4().hex[:6]}", labels=LABELS)
    made: list = []
    try:
        web, backends, web_port, proxy_port = start_services(engine, net.name, made)
        rows = effect_times(backends, web, web_port, proxy_port, args.tries)
        sleepers = [client.containers.run("debian:bookworm-slim", ["sleep", "600"], detach=True, labels=LABELS)
                    for _ in range(20)]
        made.extend(sleepers)
        together = revert_together(backends, sleepers)
        running = sum(engine.inspect(s.id)["State"]["Running"] for s in sleepers)

        print(f"| fault ({args.tries} tries) | applied -> effect seen, p50 | reverted -> effect gone, p50 | target |")
        print("|---|---|---|---|")
        for name, a, r, target in rows:
            print(f"| {name} | {a:.1f} ms | {r:.1f} ms | <= {target} ms |")
        print("\n| 20 simultaneous faults of one run | revert all (parallel) | target |\n|---|---|---|")
        for kind, seconds in together:
            print(f"| 20 x {kind} | {seconds:.2f} s | <= 2 s |")
        print(f"\n{running}/20 containers running afterwards")
        return 0
    finally:
        for c in made:
            try:
                c.remove(force=True)
            except Exception:
                pass
        net.remove()


if __name__ == "__main__":
    raise SystemExit(main())
