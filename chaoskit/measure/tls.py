"""TLS for the load generator: client contexts, sessions resumed on reconnect, failures in one line.

asyncio's ``create_connection`` (uvloop's too) takes an ``SSLContext`` but no
session to resume: each connection's ``SSLObject`` is made by the context's
``wrap_bio``. :class:`ResumingContext` offers there the last session a
connection to the same server received, so a reconnect (a server closing
keep-alive connections, a burst opening more) costs an abbreviated handshake
instead of a full one. One context per host:port, since a session belongs to
one server.
"""

from __future__ import annotations

import ssl
from typing import Any

from chaoskit.errors import LoadGeneratorFailed
from chaoskit.model.load import TlsSpec

__all__ = ["ResumingContext", "client_context", "describe_tls_error", "is_tls_error"]

# OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH.
_NAME_MISMATCH = (62, 64)


class ResumingContext(ssl.SSLContext):
    """A client context that offers its last remembered session on every new connection."""

    session: ssl.SSLSession | None = None

    def wrap_bio(self, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO, server_side: bool = False,
                 server_hostname: str | bytes | None = None, session: ssl.SSLSession | None = None) -> ssl.SSLObject:
        return super().wrap_bio(incoming, outgoing, server_side, server_hostname, session or self.session)

    def remember(self, ssl_object: Any) -> None:
        """Keep the session of a connection that completed a request (TLS 1.3 tickets come after the handshake)."""
        session = ssl_object.session if ssl_object is not None else None
        if session is not None and (session.has_ticket or session.id):
            self.session = session


def client_context(tls: TlsSpec) -> ResumingContext:
    """A context for ``tls``; unreadable or invalid files fail the load with one line saying which."""
    context = ResumingContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        if tls.ca is not None:
            context.load_verify_locations(cafile=tls.ca)
        else:
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
        if tls.cert is not None:
            context.load_cert_chain(tls.cert, tls.key)
    except (OSError, ssl.SSLError) as exc:
        which = "load.tls.ca" if tls.ca is not None and not _loaded_ca(context) else "load.tls.cert/key"
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else getattr(exc, "reason", None) or exc
        raise LoadGeneratorFailed(f"{which} could not be loaded: {reason}") from exc
    if not tls.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    # HTTP/1.1 only: the generator does not speak HTTP/2.
    context.set_alpn_protocols(["http/1.1"])
    return context


def _loaded_ca(context: ssl.SSLContext) -> bool:
    return bool(context.cert_store_stats().get("x509_ca"))


def is_tls_error(exc: BaseException) -> bool:
    """A TLS handshake or certificate failure (not a refused or reset TCP connection)."""
    return isinstance(exc, ssl.SSLError | ssl.CertificateError)


def describe_tls_error(exc: BaseException, where: str, name: str) -> str:
    """One line a user can act on for a TLS failure connecting to ``where`` (host:port) as ``name``."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        message = exc.verify_message or exc.reason or str(exc)
        if exc.verify_code in _NAME_MISMATCH:
            return (f"TLS: the certificate of {where} is not valid for {name!r} ({message}); "
                    f"set load.tls.server_name to a name it holds")
        return (f"TLS: the certificate of {where} is not trusted ({message}); "
                f"set load.tls.ca to the CA that signed it, or load.tls.verify: false")
    reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
    if reason == "WRONG_VERSION_NUMBER":
        return f"TLS: the handshake with {where} failed ({reason}): does it speak TLS on that port?"
    return f"TLS: the handshake with {where} failed ({reason})"
