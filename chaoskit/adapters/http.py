"""The one chokepoint for HTTP requests made by probes, write audits and rollback actions.

One request per call on a connection of its own (a probe observes what a new
client would meet), with a timeout, redirects followed, and TLS settings for
``https://`` URLs (:class:`TlsSettings`: verification on or off, a CA bundle,
a client certificate, the name to send and verify instead of the URL's host).
``requests`` is imported on first use, so importing chaoskit costs nothing
until a request is made. No answer (refused, reset, timed out, a TLS handshake
that failed, a CA file that cannot be read) is :class:`~chaoskit.errors.HttpUnavailable`.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from chaoskit.errors import HttpUnavailable

__all__ = ["HttpAnswer", "TlsSettings", "request", "status_and_body"]


class TlsSettings(Protocol):
    """What an ``https://`` request is told (the model's ``TlsSpec`` has these attributes)."""

    verify: bool
    ca: str | None
    cert: str | None
    key: str | None
    server_name: str | None


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes
    elapsed_s: float  # from sending to the whole body read

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def request(method: str, url: str, *, timeout_s: float, headers: Mapping[str, str] | None = None,
            json: Any = None, tls: TlsSettings | None = None) -> HttpAnswer:
    """Send one request and read the whole answer; ``HttpUnavailable`` says why none came."""
    import requests

    start = time.perf_counter()
    try:
        with requests.Session() as session:
            if tls is not None and tls.server_name:
                session.mount("https://", _server_name_adapter(tls.server_name))
            response = session.request(method, url, headers=dict(headers or {}), json=json, timeout=timeout_s,
                                       **_tls_arguments(tls))
            body = response.content
    except requests.exceptions.SSLError as exc:
        raise HttpUnavailable(f"{method} {url}: TLS: {_innermost(exc)}") from exc
    except requests.exceptions.Timeout as exc:
        raise HttpUnavailable(f"{method} {url}: no answer within {timeout_s:g} s") from exc
    except (requests.RequestException, OSError) as exc:
        # OSError: requests reports a CA bundle or client certificate it cannot read as one.
        raise HttpUnavailable(f"{method} {url}: {_innermost(exc)}") from exc
    return HttpAnswer(response.status_code, body, time.perf_counter() - start)


def status_and_body(method: str, url: str, body: Any, timeout_s: float,
                    tls: TlsSettings | None = None) -> tuple[int, bytes]:
    """``(status, body)``, or ``(0, why)`` when no answer came: the write audits' one-function seam."""
    try:
        answer = request(method, url, timeout_s=timeout_s, json=body, tls=tls,
                         headers={"User-Agent": "chaoskit"})
    except HttpUnavailable as exc:
        return 0, str(exc).encode()
    return answer.status, answer.body


def _tls_arguments(tls: TlsSettings | None) -> dict[str, Any]:
    if tls is None:
        return {}
    if not tls.verify:
        # The experiment asked for no verification: urllib3's warning on every request would only be noise.
        warnings.filterwarnings("ignore", message="Unverified HTTPS request")
    arguments: dict[str, Any] = {"verify": (tls.ca or True) if tls.verify else False}
    if tls.cert:
        arguments["cert"] = (tls.cert, tls.key) if tls.key else tls.cert
    return arguments


def _server_name_adapter(server_name: str) -> Any:
    """A transport adapter that sends ``server_name`` in the TLS handshake (SNI) and verifies the certificate
    against it, whatever host the URL names (a service reached by address, or through a tunnel)."""
    from requests.adapters import HTTPAdapter

    class ServerNameAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["server_hostname"] = server_name
            kwargs["assert_hostname"] = server_name
            super().init_poolmanager(*args, **kwargs)

    return ServerNameAdapter()


def _innermost(exc: BaseException) -> str:
    """The most specific message of a chain of wrapped library errors (urllib3's reasons are deep)."""
    seen = exc
    while True:
        reason = getattr(seen, "reason", None)
        inner = reason if isinstance(reason, BaseException) else seen.__context__
        if inner is None or inner is seen:
            break
        seen = inner
    return str(seen) or type(seen).__name__
