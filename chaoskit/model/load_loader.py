"""The ``load:`` block of an experiment (and of a monkey config): rate, connections, users, requests, TLS.

Part of the experiment's checker (:class:`chaoskit.model.loader.ExperimentChecker`
mixes it in); every problem recorded with file:line and key path.
"""

from __future__ import annotations

from typing import Literal, cast

from chaoskit.model.checker import Checker, describe_kind
from chaoskit.model.load import LoadSpec, RequestSpec, TlsSpec, UserDistribution, check_tls
from chaoskit.model.source import Located

__all__ = ["LOAD_KEYS", "LoadChecker", "REQUEST_KEYS"]

LOAD_KEYS = ("rate", "ramp", "timeout", "connections", "max_connections", "seed", "users", "requests", "max_lag",
             "realtime", "keep_cpus_awake", "tls")
REQUEST_KEYS = ("name", "url", "method", "weight", "json", "headers", "ok_status", "capture")
# Far beyond what one controller can drive, and small enough that nothing is allocated for them in vain.
MAX_RATE = 1_000_000  # requests per second
MAX_CONNECTIONS = 100_000
MAX_USERS = 10_000_000


class LoadChecker(Checker):
    def load(self, node: Located) -> LoadSpec | None:
        keys = self.mapping(node, LOAD_KEYS, required=("rate", "requests"))
        if keys is None:
            return None
        before = self.count()
        rate = self.number(keys["rate"], above=0, maximum=MAX_RATE) if "rate" in keys else None
        ramp = self.duration(keys["ramp"]) if "ramp" in keys else 0.0
        timeout = self.duration(keys["timeout"], positive=True) if "timeout" in keys else 2.0
        connections = self.number(keys["connections"], minimum=1, integer=True, maximum=MAX_CONNECTIONS) if "connections" in keys else 64
        max_connections = (
            self.number(keys["max_connections"], minimum=1, integer=True, maximum=MAX_CONNECTIONS)
            if "max_connections" in keys
            else max(LoadSpec.max_connections, connections or 1)
        )
        if connections is not None and max_connections is not None and max_connections < connections:
            self.problem(keys["max_connections"], f"expected max_connections >= connections ({connections})")
        seed = self.number(keys["seed"], minimum=0, integer=True) if "seed" in keys else 0
        max_lag = self.duration(keys["max_lag"], positive=True) if "max_lag" in keys else None
        realtime = self.on_off_auto(keys["realtime"]) if "realtime" in keys else False
        awake = self.on_off_auto(keys["keep_cpus_awake"]) if "keep_cpus_awake" in keys else False
        users = self.users(keys["users"]) if "users" in keys else UserDistribution()
        tls = check_tls(self, keys["tls"]) if "tls" in keys else TlsSpec()
        requests = None
        if "requests" in keys:
            items = self.items(keys["requests"], nonempty=True)
            if items is not None:
                requests = tuple(self.request(item, i) for i, item in enumerate(items))
        # A missing required key was recorded before ``before`` was counted: check the parts too.
        if self.count() != before or rate is None or requests is None:
            return None
        # No problem was recorded, so every part was built (none is None).
        return LoadSpec(
            rate=cast(float, rate),
            requests=cast(tuple[RequestSpec, ...], requests),
            timeout_s=cast(float, timeout),
            ramp_s=cast(float, ramp),
            connections=cast(int, connections),
            max_connections=cast(int, max_connections),
            users=cast(UserDistribution, users),
            seed=cast(int, seed),
            max_lag_s=max_lag,
            realtime=cast("bool | Literal['auto']", realtime),
            keep_cpus_awake=cast("bool | Literal['auto']", awake),
            tls=cast(TlsSpec, tls),
        )

    def on_off_auto(self, node: Located) -> bool | Literal["auto"] | None:
        if node.value == "auto":
            return "auto"
        if not isinstance(node.value, bool):
            self.problem(node, f"expected true, false or auto; got {describe_kind(node.value)}")
            return None
        return node.value

    def users(self, node: Located) -> UserDistribution | None:
        keys = self.mapping(node, ("count", "zipf_exponent"))
        if keys is None:
            return None
        count = self.number(keys["count"], minimum=1, integer=True, maximum=MAX_USERS) if "count" in keys else UserDistribution.count
        zipf = (
            self.number(keys["zipf_exponent"], minimum=0) if "zipf_exponent" in keys else UserDistribution.zipf_exponent
        )
        return UserDistribution(count, zipf) if count is not None and zipf is not None else None

    def request(self, node: Located, index: int) -> RequestSpec | None:
        keys = self.mapping(node, REQUEST_KEYS, required=("url",))
        if keys is None:
            return None
        before = self.count()
        url = self.url(keys["url"]) if "url" in keys else None
        method = self.http_method(keys["method"]) if "method" in keys else "GET"
        name = self.text(keys["name"]) if "name" in keys else f"{method} {url}"
        weight = self.number(keys["weight"], above=0) if "weight" in keys else 1.0
        headers = self.string_map(keys["headers"]) if "headers" in keys else {}
        body = keys["json"].plain() if "json" in keys else None
        # A top-level key of each successful JSON answer to keep (ids of acknowledged writes, for write audits).
        capture = self.text(keys["capture"]) if "capture" in keys else None
        ok_status: tuple[int, ...] | None = (200, 201)
        if "ok_status" in keys:
            raw = keys["ok_status"]
            elements = raw.value if isinstance(raw.value, list) else [raw]
            statuses = [self.number(e, minimum=100, integer=True, maximum=599) for e in elements]
            ok_status = tuple(statuses) if all(s is not None for s in statuses) and statuses else None  # type: ignore[arg-type]
            if not statuses:
                self.problem(raw, "expected a status code or a list of them")
        if self.count() != before:
            return None
        return RequestSpec(name, url, method, weight, body, headers or {}, ok_status, capture)  # type: ignore[arg-type]
