"""The load an experiment applies while measuring: an open model, a weighted request mix."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from chaoskit.model.checker import Checker
    from chaoskit.model.source import Located

__all__ = ["TLS_KEYS", "LoadSpec", "RequestSpec", "TlsSpec", "UserDistribution", "check_tls"]

TLS_KEYS = ("verify", "ca", "cert", "key", "server_name")


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


def check_tls(checker: Checker, node: Located) -> TlsSpec | None:
    """``tls:`` as a TlsSpec; problems (unknown keys, files that are not there) with file:line.

    Relative paths are taken from the experiment file's directory, so an
    experiment and its CA can travel together.
    """
    keys = checker.mapping(node, TLS_KEYS)
    if keys is None:
        return None
    before = checker.count()
    verify = checker.boolean(keys["verify"]) if "verify" in keys else True
    server_name = checker.text(keys["server_name"]) if "server_name" in keys else None
    files: dict[str, str | None] = {}
    for name in ("ca", "cert", "key"):
        files[name] = _tls_file(checker, keys[name]) if name in keys else None
    if "key" in keys and "cert" not in keys:
        checker.problem(keys["key"], "a client key needs its certificate (cert)")
    if checker.count() != before:
        return None
    return TlsSpec(bool(verify), files["ca"], files["cert"], files["key"], server_name)


def _tls_file(checker: Checker, node: Located) -> str | None:
    text = checker.text(node)
    if text is None:
        return None
    path = Path(text).expanduser()
    if not path.is_absolute() and Path(checker.source).is_file():
        path = Path(checker.source).parent / path
    if not path.is_file():
        checker.problem(node, f"no such file: {str(path)!r}")
        return None
    return str(path)


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
