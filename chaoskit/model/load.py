"""The load an experiment applies while measuring: an open model, a weighted request mix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["LoadSpec", "RequestSpec", "TlsSpec", "UserDistribution"]


@dataclass(frozen=True)
class RequestSpec:
    """One kind of request in the mix.

    ``url`` and string values in ``json`` may hold ``{user}`` (a user id drawn
    from the load's user distribution) and ``{seq}`` (a per-run sequence number).
    """

    name: str
    url: str
    method: str = "GET"
    weight: float = 1.0
    json: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Statuses that count as success; anything else is an error outcome.
    ok_status: tuple[int, ...] = (200, 201)
    # A top-level key of successful JSON answers to keep (e.g. "id" of each created
    # tweet), so probes can check afterwards what the system acknowledged.
    capture: str | None = None


@dataclass(frozen=True)
class TlsSpec:
    """How ``https://`` requests speak TLS.

    ``verify`` checks the server's certificate against ``ca`` (a PEM file of
    trusted CAs; the system's store when None) and its name against
    ``server_name`` (the URL's host when None; also sent as SNI). ``cert`` and
    ``key`` are a client certificate and its key, for servers that ask for one.
    """

    verify: bool = True
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    server_name: str | None = None


@dataclass(frozen=True)
class UserDistribution:
    """User ids 1..count, Zipf-skewed (exponent 0 = uniform) as real traffic is."""

    count: int = 10_000
    zipf_exponent: float = 1.0


@dataclass(frozen=True)
class LoadSpec:
    """Constant arrival rate (req/s), reached by a linear ramp of ``ramp_s`` seconds."""

    rate: float
    requests: tuple[RequestSpec, ...]
    timeout_s: float = 2.0
    ramp_s: float = 0.0
    # Connections opened before the load starts; more are opened when every one is
    # busy (real users do not queue behind each other), up to max_connections.
    connections: int = 64
    max_connections: int = 1000
    users: UserDistribution = UserDistribution()
    seed: int = 0
    # The dispatch-lag p99 beyond which a window is not trusted; None derives it from the SLOs.
    max_lag_s: float | None = None
    # Run every thread of the process SCHED_FIFO while the load runs, so neither the system
    # under test nor kernel threads preempt the generator (chaoskit.measure.tuning). True
    # needs root or CAP_SYS_NICE and fails the run without it; "auto" uses it when allowed.
    realtime: bool | Literal["auto"] = False
    # Keep every CPU out of idle halts while the load runs (a kernel CPU latency request, see
    # chaoskit.measure.tuning.keep_cpus_awake). True needs write access to /dev/cpu_dma_latency
    # (root) and fails the run without it; "auto" uses it when allowed.
    keep_cpus_awake: bool | Literal["auto"] = False
    # TLS settings for https:// requests (verification on, the system's CAs, by default).
    tls: TlsSpec = TlsSpec()
