"""The load generator over TLS against a real TLS server on 127.0.0.1, with a CA made in the test."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chaoskit.errors import LoadGeneratorFailed
from chaoskit.measure import LoadGenerator, summarize
from chaoskit.model.load import LoadSpec, RequestSpec, TlsSpec
from tests.support import make_tls_ca, wait_until

COMPOSE = Path(__file__).resolve().parents[2] / "compose"


class TlsServer:
    """An HTTP/1.1 server over TLS in its own thread; it closes every connection after ``close_after`` answers."""

    def __init__(self, cert: Path, key: Path, close_after: int):
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.close_after = close_after
        self.handshakes = 0
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)

    def __enter__(self) -> TlsServer:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.context))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()
        server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.handshakes += 1
        try:
            for answered in range(1, self.close_after + 1):
                await reader.readuntil(b"\r\n\r\n")
                close = answered == self.close_after
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n%s\r\nok"
                             % (b"Connection: close\r\n" if close else b""))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_tls_ca(tmp_path_factory.mktemp("tls"), ("localhost", "127.0.0.1"))


@pytest.fixture
def server(ca: dict[str, Path]) -> Iterator[TlsServer]:
    with TlsServer(ca["cert"], ca["key"], close_after=20) as running:
        yield running


def run(spec: LoadSpec, seconds: float) -> LoadGenerator:
    generator = LoadGenerator(spec, max_duration_s=seconds + 5)
    generator.start()
    try:
        time.sleep(seconds)
    finally:
        generator.stop()
    return generator


def test_https_load_is_answered_and_reconnects_resume_the_tls_session(server: TlsServer, ca: dict[str, Path]):
    """Every request over TLS is answered; connections the server closes are replaced with resumed sessions."""
    spec = LoadSpec(rate=200, connections=4, tls=TlsSpec(ca=str(ca["ca"])),
                    requests=(RequestSpec("read", f"https://localhost:{server.port}/x/{{user}}"),))
    generator = run(spec, 2.0)
    total = summarize(generator.buckets())
    diagnostics = generator.diagnostics()
    assert generator.error is None and total.sent >= 350
    assert total.succeeded == total.sent and not total.errors
    # About 400 requests, 20 per connection: some 20 reconnects, and each offers the last session.
    assert diagnostics["connects"] >= 15
    assert diagnostics["tls_resumed"] >= diagnostics["connects"] - spec.connections - 2


@pytest.mark.parametrize("tls, says", [
    (TlsSpec(), "is not trusted"),  # the system's CAs do not know the test CA
    (None, "is not valid for 'wrong.example'"),  # the test CA, but a name the certificate does not hold
])
def test_a_tls_failure_fails_the_start_in_one_line(server: TlsServer, ca: dict[str, Path], tls: TlsSpec | None,
                                                   says: str):
    """An untrusted certificate or a name mismatch stops the load before it starts, with one actionable line."""
    tls = tls or TlsSpec(ca=str(ca["ca"]), server_name="wrong.example")
    spec = LoadSpec(rate=50, connections=2, tls=tls, requests=(RequestSpec("r", f"https://127.0.0.1:{server.port}/"),))
    generator = LoadGenerator(spec, max_duration_s=5)
    with pytest.raises(LoadGeneratorFailed) as failure:
        generator.start(timeout_s=10)
    message = str(failure.value)
    assert message.startswith("TLS: the certificate of 127.0.0.1:") and says in message and "\n" not in message
    assert "load.tls." in message  # and it says what to set


def test_verify_false_talks_to_an_untrusted_server(server: TlsServer):
    """With verify: false the certificate is not checked (a test service with a self-made certificate)."""
    spec = LoadSpec(rate=100, connections=2, tls=TlsSpec(verify=False),
                    requests=(RequestSpec("r", f"https://127.0.0.1:{server.port}/"),))
    total = summarize(run(spec, 1.0).buckets())
    assert total.sent > 0 and total.succeeded == total.sent


def test_plain_http_against_a_tls_port_is_one_line_too(ca: dict[str, Path], server: TlsServer):
    """An https:// URL to a port that does not speak TLS is named as such."""
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]

        def answer_in_plain_http() -> None:
            conn, _ = listener.accept()
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            conn.close()

        threading.Thread(target=answer_in_plain_http, daemon=True).start()
        spec = LoadSpec(rate=10, connections=1, tls=TlsSpec(ca=str(ca["ca"])),
                        requests=(RequestSpec("r", f"https://127.0.0.1:{port}/"),))
        with pytest.raises(LoadGeneratorFailed, match="TLS: the handshake with 127.0.0.1:.* failed"):
            LoadGenerator(spec, max_duration_s=5).start(timeout_s=10)


def test_an_unreadable_ca_fails_when_the_generator_is_made(tmp_path: Path):
    """A CA file that is not a certificate is refused at once, naming load.tls.ca."""
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    spec = LoadSpec(rate=10, tls=TlsSpec(ca=str(bad)), requests=(RequestSpec("r", "https://127.0.0.1:1/"),))
    with pytest.raises(LoadGeneratorFailed, match="load.tls.ca could not be loaded"):
        LoadGenerator(spec)


@pytest.mark.docker
def test_the_sample_stacks_nginx_serves_https_with_the_certificate_set_up_made(
        run_container: Callable[..., Any], tmp_path: Path):
    """compose/nginx.conf and its entrypoint, as the sample stack runs them: HTTPS on 443 with the mounted
    certificate, and every request of a load over it answered."""
    ca = make_tls_ca(tmp_path, ("localhost", "nginx", "127.0.0.1"))
    container = run_container(
        "chaoskit/nginx", entrypoint=["/bin/sh", "/etc/nginx/chaoskit-entrypoint.sh"],
        extra_hosts={"api": "127.0.0.1"},  # the upstream must resolve; /nginx/health does not use it
        volumes={str(COMPOSE / "nginx.conf"): {"bind": "/etc/nginx/nginx.conf", "mode": "ro"},
                 str(COMPOSE / "nginx-entrypoint.sh"): {"bind": "/etc/nginx/chaoskit-entrypoint.sh", "mode": "ro"},
                 str(tmp_path): {"bind": "/etc/chaoskit/tls", "mode": "ro"}},
        ports={"443/tcp": ("127.0.0.1", None)})
    base = f"https://localhost:{container.ports['443/tcp'][0]['HostPort']}"
    trusted = ssl.create_default_context(cafile=str(ca["ca"]))
    wait_until(lambda: urllib.request.urlopen(base + "/nginx/health", timeout=1, context=trusted).status == 200,
               what="nginx over TLS")
    spec = LoadSpec(rate=200, connections=4, tls=TlsSpec(ca=str(ca["ca"])),
                    requests=(RequestSpec("health", base + "/nginx/health"),))
    total = summarize(run(spec, 1.5).buckets())
    assert total.sent >= 250 and total.succeeded == total.sent


@pytest.mark.docker
def test_a_run_whose_load_fails_tls_is_an_error_in_one_line(run_container: Callable[..., Any], server: TlsServer,
                                                             tmp_path: Path):
    """`chaoskit run` against an untrusted certificate: ERROR (exit 6, not FAILURE's 1), one line saying what to
    set, no traceback, and no fault applied."""
    target = run_container("chaoskit/nginx")
    experiment = tmp_path / "https.yaml"
    experiment.write_text(f"""\
title: https untrusted
phases: {{warmup: 0s, baseline: 2s, fault: 2s, recovery: 2s}}
load:
  rate: 20
  requests:
    - {{name: read, url: "https://localhost:{server.port}/"}}
steady_state:
  title: answers
  probes:
    - {{name: errors, type: load, metric: error_rate, tolerance: {{max: 0.01}}}}
method:
  - fault: container.pause
    target: {{name: {target.name}}}
""")
    env = {**os.environ, "CHAOSKIT_LEDGER": str(tmp_path / "ledger.jsonl")}
    done = subprocess.run([sys.executable, "-m", "chaoskit", "--log-format", "json", "run", str(experiment),
                           "--journal", str(tmp_path / "j.json")], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 6, done.stdout + done.stderr
    assert done.stdout.startswith("ERROR")
    assert "is not trusted" in done.stdout and "set load.tls.ca" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr and "fault.applied" not in done.stderr
