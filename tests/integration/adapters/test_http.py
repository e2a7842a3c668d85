"""HTTP through the adapter against real servers on 127.0.0.1: TLS with a CA, a server name and a client
certificate made here with openssl, and errors translated into chaoskit's tree."""

from __future__ import annotations

import http.server
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from chaoskit.adapters import http as adapter
from chaoskit.errors import BackendError, HttpUnavailable
from chaoskit.model.experiment import Action
from chaoskit.model.load import TlsSpec
from chaoskit.model.probes import HttpProbe
from chaoskit.model.tolerance import Check, InRange
from chaoskit.run.observe import observe
from chaoskit.run.rollbacks import play

pytestmark = pytest.mark.timeout(60)

NAME = "service.chaoskit.test"  # the only name in the server's certificate (no IP address)


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA, a server certificate for NAME and a client certificate, all signed by the CA."""
    d = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=chaoskit test CA", cwd=d)
    for who, extension in (("server", f"subjectAltName=DNS:{NAME}"), ("client", "extendedKeyUsage=clientAuth")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{who}.key", "-out", f"{who}.csr",
                "-subj", f"/CN={who}", cwd=d)
        (d / f"{who}.ext").write_text(extension + "\n")
        openssl("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{who}.pem", "-days", "2", "-extfile", f"{who}.ext", cwd=d)
    return Pki(d / "ca.pem", d / "server.pem", d / "server.key", d / "client.pem", d / "client.key")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        status = int(self.path.strip("/") or 200)
        body = f"status {status}".encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class Server:
    url: str
    names: list[str | None]  # the server name each TLS client sent (SNI)


def serve(context: ssl.SSLContext | None) -> Iterator[Server]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    names: list[str | None] = []
    if context is not None:
        context.sni_callback = lambda sock, name, ctx: names.append(name)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if context is not None else "http"
    try:
        yield Server(f"{scheme}://127.0.0.1:{server.server_address[1]}", names)
    finally:
        server.shutdown()
        server.server_close()


def server_context(pki: Pki, client_certificates: bool) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    if client_certificates:
        context.load_verify_locations(pki.ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


@pytest.fixture
def https(pki: Pki) -> Iterator[Server]:
    yield from serve(server_context(pki, client_certificates=False))


@pytest.fixture
def mutual(pki: Pki) -> Iterator[Server]:
    yield from serve(server_context(pki, client_certificates=True))


@pytest.fixture
def plain() -> Iterator[Server]:
    yield from serve(None)


def test_the_server_is_verified_against_the_ca_under_its_name(https: Server, pki: Pki):
    """With the CA and the certificate's name, the answer comes; the name went in the handshake (SNI)."""
    answer = adapter.request("GET", https.url + "/200", timeout_s=5, tls=TlsSpec(ca=str(pki.ca), server_name=NAME))
    assert (answer.status, answer.text) == (200, "status 200") and answer.elapsed_s > 0
    assert https.names == [NAME]


@pytest.mark.parametrize(
    ("tls", "said"),
    [
        (None, "certificate verify failed"),  # the system's store does not know the test CA
        (TlsSpec(), "certificate verify failed"),
        ("ca", "127.0.0.1"),  # the CA, but the URL's host is not the certificate's name
        ("wrong name", "other.chaoskit.test"),
    ],
)
def test_a_server_that_cannot_be_verified_gives_no_answer(https: Server, pki: Pki, tls, said: str):
    """Unknown CA, or a name the certificate does not hold: HttpUnavailable, a BackendError saying TLS and why."""
    spec = {"ca": TlsSpec(ca=str(pki.ca)), "wrong name": TlsSpec(ca=str(pki.ca), server_name="other.chaoskit.test")}
    with pytest.raises(HttpUnavailable) as info:
        adapter.request("GET", https.url, timeout_s=5, tls=spec.get(tls, tls))
    assert isinstance(info.value, BackendError)
    assert str(info.value).startswith(f"GET {https.url}: TLS: ") and said in str(info.value), str(info.value)


def test_verification_can_be_turned_off(https: Server):
    """verify: false speaks to a server whatever its certificate."""
    assert adapter.request("GET", https.url + "/204", timeout_s=5, tls=TlsSpec(verify=False)).status == 204


def test_a_client_certificate_is_presented_when_asked(mutual: Server, pki: Pki):
    """A server that requires a client certificate refuses a client without one, and answers one with it."""
    verified = TlsSpec(ca=str(pki.ca), server_name=NAME)
    with pytest.raises(HttpUnavailable):
        adapter.request("GET", mutual.url, timeout_s=5, tls=verified)
    with_cert = TlsSpec(ca=str(pki.ca), cert=str(pki.client_cert), key=str(pki.client_key), server_name=NAME)
    assert adapter.request("GET", mutual.url, timeout_s=5, tls=with_cert).status == 200


def test_unreadable_tls_files_are_no_answer_saying_which(https: Server, tmp_path: Path):
    """A CA bundle that does not exist is reported as such, not as a traceback."""
    with pytest.raises(HttpUnavailable, match="ca.pem"):
        adapter.request("GET", https.url, timeout_s=5, tls=TlsSpec(ca=str(tmp_path / "ca.pem")))


def test_refused_and_silent_servers_are_no_answer():
    """Nothing listening, or a listener that never answers: HttpUnavailable, the timeout named."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(HttpUnavailable, match=f"^GET http://127.0.0.1:{port}/: "):
        adapter.request("GET", f"http://127.0.0.1:{port}/", timeout_s=2)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        with pytest.raises(HttpUnavailable, match=r"no answer within 0.3 s"):
            adapter.request("GET", url, timeout_s=0.3)
    assert adapter.status_and_body("GET", url, None, 0.3)[0] == 0


def test_an_https_http_probe_observes_through_its_tls_settings(https: Server, pki: Pki):
    """An http probe with tls: holds against the real TLS server; without the CA it fails, the reason saying why."""
    checks = (Check("status", InRange(200, 299)),)
    good = HttpProbe("web", https.url + "/200", checks, tls=TlsSpec(ca=str(pki.ca), server_name=NAME))
    reading = observe(good, None, None)  # type: ignore[arg-type]  # an http probe needs no backend
    assert reading.judgement.ok and reading.subjects["status"] == 200
    bad = observe(HttpProbe("web", https.url, checks), None, None)  # type: ignore[arg-type]
    assert not bad.judgement.ok and bad.subjects["status"] == 0
    assert "TLS: " in bad.judgement.reason and "certificate verify failed" in bad.judgement.reason


def test_a_rollback_http_action_goes_through_the_adapter(plain: Server):
    """A 2xx is done; a 4xx/5xx is a BackendError; no answer is HttpUnavailable naming the rollback."""
    def action(path: str) -> Action:
        return Action("http", {"url": plain.url + path, "method": "POST", "timeout": 5.0}, None, 1)

    play(action("/200"), None, None)  # type: ignore[arg-type]  # an http action needs no backend
    with pytest.raises(BackendError, match="answered 500"):
        play(action("/500"), None, None)  # type: ignore[arg-type]
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    gone = Action("http", {"url": f"http://127.0.0.1:{port}/", "timeout": 2.0}, None, 1)
    with pytest.raises(HttpUnavailable, match=f"^rollback http POST http://127.0.0.1:{port}/"):
        play(gone, None, None)  # type: ignore[arg-type]
