"""The service's knobs, read once from the environment.

Every resilience knob defaults to the resilient setting; switching one off is
how a user makes the matching experiment fail (a fault that becomes a
failure). The README's knobs table lists the same names. Pure: parsing takes
a mapping, so tests pass a dict instead of touching ``os.environ``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Settings", "SettingsError"]

_TRUE = {"1", "on", "true", "yes"}
_FALSE = {"0", "off", "false", "no"}


class SettingsError(ValueError):
    """An environment variable has a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    # Where the dependencies are: the compose file points both at Toxiproxy.
    db_dsn: str = "host=toxiproxy port=5432 user=postgres dbname=postgres"
    redis_host: str = "toxiproxy"
    redis_port: int = 6379
    # Resilience knobs.
    cache_timeout_ms: int = 250
    db_timeout_ms: int = 1000
    cache_fallback: bool = True
    retries: int = 1
    breaker: bool = True
    breaker_failures: int = 10  # of the last 20 cache calls
    breaker_cooldown_ms: int = 1000
    fanout_recovery: bool = True
    celebrity_threshold: int = 2000
    # Shape of the caches and the API.
    cache_cap: int = 800
    # Twitter's API answered 20 tweets per home-timeline page by default.
    default_limit: int = 20
    max_text: int = 280
    db_pool_size: int = 10
    db_max_waiting: int = 20
    # Bulkhead of the SQL fallback of reads, per replica: running, and waiting to run.
    fallback_concurrency: int = 4
    fallback_queue: int = 8
    outbox_delay_ms: int = 2000
    worker_concurrency: int = 4
    port: int = 8080
    metrics_dir: str = "/run/timeline"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read ``TIMELINE_<FIELD>`` for every field; unset means the default above."""
        values: dict[str, object] = {}
        for name, default in cls.__dataclass_fields__.items():
            raw = env.get(f"TIMELINE_{name.upper()}")
            if raw is None or raw == "":
                continue
            kind = type(default.default)
            values[name] = _parse(name, raw, kind)
        settings = cls(**values)  # type: ignore[arg-type]
        settings._check()
        return settings

    def _check(self) -> None:
        for name in ("cache_timeout_ms", "db_timeout_ms", "cache_cap", "default_limit", "max_text",
                     "db_pool_size", "worker_concurrency", "breaker_failures", "fallback_concurrency"):
            if getattr(self, name) < 1:
                raise SettingsError(f"TIMELINE_{name.upper()} must be at least 1")
        if self.breaker_failures > 20:
            raise SettingsError("TIMELINE_BREAKER_FAILURES counts failures among the last 20 calls: at most 20")
        if self.db_max_waiting < 0:
            raise SettingsError("TIMELINE_DB_MAX_WAITING must be 0 (unbounded) or more")
        if self.retries < 0:
            raise SettingsError("TIMELINE_RETRIES must be 0 or more")
        if self.default_limit > self.cache_cap:
            raise SettingsError("TIMELINE_DEFAULT_LIMIT must not exceed TIMELINE_CACHE_CAP")

    @property
    def cache_timeout_s(self) -> float:
        return self.cache_timeout_ms / 1000

    @property
    def db_timeout_s(self) -> float:
        return self.db_timeout_ms / 1000


def _parse(name: str, raw: str, kind: type) -> object:
    key = f"TIMELINE_{name.upper()}"
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise SettingsError(f"{key}={raw!r}: expected on or off")
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{key}={raw!r}: expected an integer") from None
    return raw
