"""The one chokepoint for a Toxiproxy server (verified against 2.12.0).

This speaks Toxiproxy's HTTP API with ``requests`` directly rather than
through toxiproxy-python 0.1.1, whose gaps would break chaoskit's guarantees:
it sets no request timeouts (a hung server hangs the run), it raises only on
400/404/409 (a 503 from a half-finished toxic removal passes silently, so a
revert would be recorded that never happened), and its host and port are
class-level globals (one server per process). toxiproxy-python stays in the
test suite as an independent reader of the server's state.

The server's known hang: removing a toxic (or /reset) while connections are
open can block for the handler's 25 s limit and answer 503 while the removal
finishes in the background. Removal here therefore uses a short request
timeout, treats a timeout or 503 as "maybe in progress", re-reads the proxy
and retries until the toxic is gone or the deadline passes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from chaoskit.errors import BackendError, TargetNotFound, ToxiproxyUnavailable

if TYPE_CHECKING:  # imported by the client, not here: faults import Toxic, and validating needs no HTTP library
    import requests

__all__ = ["ProxyState", "Toxic", "ToxiproxyClient"]


@dataclass(frozen=True)
class Toxic:
    name: str
    type: str
    stream: str = "downstream"
    toxicity: float = 1.0
    attributes: dict[str, Any] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "stream": self.stream,
                "toxicity": self.toxicity, "attributes": dict(self.attributes)}

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Toxic:
        return cls(name=data["name"], type=data["type"], stream=data.get("stream", "downstream"),
                   toxicity=float(data.get("toxicity", 1.0)), attributes=dict(data.get("attributes") or {}))


@dataclass(frozen=True)
class ProxyState:
    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: tuple[Toxic, ...] = ()

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ProxyState:
        return cls(name=data["name"], listen=data["listen"], upstream=data["upstream"],
                   enabled=bool(data["enabled"]),
                   toxics=tuple(Toxic.from_api(t) for t in data.get("toxics") or ()))


class ToxiproxyClient:
    """A Toxiproxy server at ``url``; the constructor does no I/O."""

    def __init__(self, url: str = "http://127.0.0.1:8474", timeout_s: float = 5.0,
                 removal_deadline_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.removal_deadline_s = removal_deadline_s
        self._clock = clock
        import requests

        self._http = requests.Session()
        # Toxiproxy answers 403 to a User-Agent that looks like a browser.
        self._http.headers["User-Agent"] = "chaoskit"

    def _call(self, method: str, path: str, what: str, ok: tuple[int, ...], json: Any = None,
              timeout_s: float | None = None) -> requests.Response:
        import requests

        try:
            # A redirect means the path was rewritten on the way: never follow it to another endpoint.
            response = self._http.request(method, self.url + path, json=json, timeout=timeout_s or self.timeout_s,
                                          allow_redirects=False)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise ToxiproxyUnavailable(f"{what}: Toxiproxy at {self.url} did not answer ({type(exc).__name__})") from exc
        if response.status_code in ok:
            return response
        if response.status_code == 404:
            raise TargetNotFound(f"{what}: not found on Toxiproxy at {self.url}")
        raise BackendError(f"{what}: Toxiproxy at {self.url} answered {response.status_code}: {response.text.strip()[:200]}")

    def version(self) -> str:
        text = self._call("GET", "/version", "version", (200,)).text.strip()
        # 2.x answers {"version": "2.12.0"}; older servers answered the bare string.
        return str(json.loads(text)["version"]) if text.startswith("{") else text

    def proxies(self) -> dict[str, ProxyState]:
        data = self._call("GET", "/proxies", "list proxies", (200,)).json()
        return {name: ProxyState.from_api(p) for name, p in data.items()}

    def proxy(self, name: str) -> ProxyState:
        return ProxyState.from_api(self._call("GET", f"/proxies/{_segment(name)}", f"proxy {name!r}", (200,)).json())

    def create_proxy(self, name: str, listen: str, upstream: str) -> ProxyState:
        """Create a proxy; an existing one with the same name is returned as it is."""
        response = self._call("POST", "/proxies", f"create proxy {name!r}", (201, 409),
                              json={"name": name, "listen": listen, "upstream": upstream, "enabled": True})
        return self.proxy(name) if response.status_code == 409 else ProxyState.from_api(response.json())

    def set_enabled(self, proxy: str, enabled: bool) -> None:
        """Enable or disable a proxy ("down" is not a toxic: a disabled proxy refuses connections)."""
        self._call("POST", f"/proxies/{_segment(proxy)}", f"{'enable' if enabled else 'disable'} proxy {proxy!r}",
                   (200,), json={"enabled": enabled})

    def add_toxic(self, proxy: str, toxic: Toxic) -> None:
        """Add a toxic; idempotent: one of the same name that is already there counts as added."""
        response = self._call("POST", f"/proxies/{_segment(proxy)}/toxics", f"add toxic {toxic.name!r} to {proxy!r}",
                              (200, 409), json=toxic.to_api())
        if response.status_code == 409 and not any(t.name == toxic.name for t in self.proxy(proxy).toxics):
            raise BackendError(f"add toxic {toxic.name!r} to {proxy!r}: Toxiproxy answered 409 but has no such toxic")

    def remove_toxic(self, proxy: str, name: str) -> None:
        """Remove a toxic and return only once the server no longer lists it (idempotent)."""
        deadline = self._clock() + self.removal_deadline_s
        while True:
            try:
                self._call("DELETE", f"/proxies/{_segment(proxy)}/toxics/{_segment(name)}",
                           f"remove toxic {name!r} from {proxy!r}", (204, 404))
                return
            except (ToxiproxyUnavailable, BackendError) as exc:
                # A timeout or 503 may mean the removal is still finishing on the server.
                last_error = exc
            try:
                if not any(t.name == name for t in self.proxy(proxy).toxics):
                    return
            except TargetNotFound:
                return
            except (ToxiproxyUnavailable, BackendError) as exc:
                last_error = exc
            if self._clock() >= deadline:
                raise last_error
            time.sleep(0.2)

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._call("POST", "/reset", "reset", (204,), timeout_s=30.0)


def _segment(name: str) -> str:
    """``name`` as one URL path segment, so that no name reaches another endpoint.

    The server decodes ``%2F`` before routing and cleans ``..`` away (with a
    redirect), so a name with a slash, or a bare ``.``/``..``, cannot be
    encoded safely: it is refused. Anything else (``?``, ``#``, ``%``) is quoted.
    """
    if "/" in name or name.strip(".") == "":
        raise BackendError(f"{name!r} is not a Toxiproxy name that can be addressed safely (no '/', not '.' or '..')")
    return quote(name, safe="")
