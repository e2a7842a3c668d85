"""Helpers shared by tests (not fixtures: those live in conftest.py)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def wait_until(ready: Callable[[], object], what: str, timeout_s: float = 20.0) -> None:
    """Poll ``ready`` until it returns truthy without raising.

    A published port accepts connections (docker-proxy) before the server
    behind it listens, so readiness is an answer, not an open port.
    """
    deadline = time.monotonic() + timeout_s
    last: BaseException | None = None
    while True:
        try:
            if ready():
                return
            last = None
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            last = exc
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout_s} s") from last
        time.sleep(0.1)


def make_tls_ca(directory: Path, names: Sequence[str] = ("localhost", "127.0.0.1")) -> dict[str, Path]:
    """A throwaway CA and a server certificate it signed for ``names`` (DNS names or IPs), made with openssl.

    Returns the paths of ``ca`` (certificate), ``cert`` and ``key`` (the server's).
    """
    ca_key, ca, key, csr, cert = (directory / n for n in ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt"))
    san = ",".join(f"IP:{n}" if n.replace(".", "").isdigit() else f"DNS:{n}" for n in names)
    quiet = {"check": True, "capture_output": True}
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca),
                    "-days", "2", "-subj", "/CN=chaoskit test CA"], **quiet)
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
                    "-subj", f"/CN={names[0]}"], **quiet)
    extensions = directory / "server.ext"
    extensions.write_text(f"subjectAltName={san}\n")
    subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
                    "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(extensions)], **quiet)
    return {"ca": ca, "cert": cert, "key": key}
