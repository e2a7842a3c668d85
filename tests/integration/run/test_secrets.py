"""`chaoskit run` and `chaoskit report` keep secrets out of every output, and `--var` cannot inject shell commands.

Real runs: a real Toxiproxy and nginx container (the fault), a local HTTP server on 127.0.0.1 (the load and the
probe, which also proves the secrets were sent where they belong), the real CLI in a subprocess.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker

HEADER_SECRET = "hdr-Zq81SecretHeader"
URL_SECRET = "url-Kp27SecretPassword"
ENV_SECRET = "env-Wm55SecretFromEnv"
VAR_SECRET = "var-Tx93SecretVariable"
SECRETS = (HEADER_SECRET, URL_SECRET, ENV_SECRET, VAR_SECRET)

EXPERIMENT = """
title: Secrets stay out of every output
description: reads the API with a token
variables:
  local: 127.0.0.1:0
  toxiproxy: http://127.0.0.1:8474
  token: {{secret: true, default: placeholder}}
environment: {{toxiproxy_url: "${{toxiproxy}}"}}
phases: {{warmup: 0s, baseline: 2s, fault: 2s, recovery: 2s}}
# max_lag: this test judges what the outputs hold, not the load generator on a shared machine.
load: {{rate: 20, timeout: 2s, max_lag: 500ms, requests: [{{name: api, url: "http://alice:{url_secret}@${{local}}/api",
       headers: {{X-Api-Key: {header_secret}, Authorization: "Bearer ${{token}}"}}}}]}}
steady_state:
  title: The API answers
  probes:
    - name: api
      type: http
      url: "http://${{local}}/probe?key=${{env:CHAOSKIT_TEST_SECRET}}"
      headers: {{Authorization: "Bearer ${{token}}"}}
      timeout: 2s
      tolerance: {{status: 200}}
method:
  - fault: network.latency
    params: {{proxy: web, latency_ms: 1}}
"""


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.seen.append(f"{self.path} {self.headers.get('Authorization')} {self.headers.get('X-Api-Key')}")
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 that answers 200 and records the path and credentials of every request."""
    handler = type("Handler", (_Recorder,), {"seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}", handler.seen
    server.shutdown()
    server.server_close()


def chaoskit(*args: str, tmp_path: Path, log_format: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHAOSKIT_LEDGER": str(tmp_path / "ledger.jsonl"), "CHAOSKIT_TEST_SECRET": ENV_SECRET}
    return subprocess.run([sys.executable, "-m", "chaoskit", "--log-format", log_format, "-v", *args], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_no_output_holds_a_secret(tmp_path, web, local_server, log_format):
    """A header, a URL password, ${env:...} and a secret variable reach the server but no journal, log or report."""
    address, seen = local_server
    path = tmp_path / "secrets.yaml"
    path.write_text(EXPERIMENT.format(url_secret=URL_SECRET, header_secret=HEADER_SECRET))
    journal = tmp_path / "journal.json"
    run = chaoskit("run", str(path), "--var", f"local={address}", "--var", f"token={VAR_SECRET}",
                   "--var", f"toxiproxy={web.toxiproxy.api_url}", "--journal", str(journal),
                   tmp_path=tmp_path, log_format=log_format)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("TOLERATED")
    # The secrets were used: a masking that changed what is sent would pass the greps below for the wrong reason.
    assert any(f"/probe?key={ENV_SECRET} Bearer {VAR_SECRET}" in line for line in seen)
    assert any(f"/api Bearer {VAR_SECRET} {HEADER_SECRET}" in line for line in seen)
    dry = chaoskit("run", "--dry-run", str(path), "--var", f"local={address}", "--var", f"token={VAR_SECRET}",
                   "--var", f"toxiproxy={web.toxiproxy.api_url}", tmp_path=tmp_path, log_format=log_format)
    assert dry.returncode == 0, dry.stderr
    outputs = {"run stdout": run.stdout, "run stderr": run.stderr, "journal": journal.read_text(),
               "dry-run stdout+stderr": dry.stdout + dry.stderr}
    for fmt in ("html", "junit", "markdown"):
        report = chaoskit("report", str(journal), "--format", fmt, "-o", str(tmp_path / f"report.{fmt}"),
                          tmp_path=tmp_path, log_format=log_format)
        assert report.returncode == 0, report.stderr
        outputs[f"{fmt} report"] = (tmp_path / f"report.{fmt}").read_text()
        outputs[f"{fmt} report stdout+stderr"] = report.stdout + report.stderr
    leaks = [(name, secret) for name, text in outputs.items() for secret in SECRETS if secret in text]
    assert leaks == []
    assert "***" in outputs["journal"]  # masked, not dropped
    assert "api" in outputs["html report"]


INJECTION_EXPERIMENT = """
title: A variable in a shell command stays one word
variables:
  toxiproxy: http://127.0.0.1:8474
  db: postgres
  target: nothing
environment:
  toxiproxy_url: ${toxiproxy}
phases: {warmup: 0s, baseline: 1s, fault: 1s, recovery: 1s}
steady_state:
  title: The command sees the value as one argument
  probes:
    - name: echo
      type: command
      target: {name: "${target}"}
      cmd: "printf '%s|' ${db} > /tmp/seen"
      timeout: 5s
method:
  - fault: network.latency
    params: {proxy: web, latency_ms: 1}
"""


def test_a_var_cannot_inject_a_shell_command(tmp_path, web, engine):
    """--var 'db=x; rm -rf /tmp/canary #' in a string cmd is one quoted word: the canary file in the container
    survives, and the command saw the value whole."""
    container = next(c for c in engine.client.containers.list(filters={"name": f"web-{web.toxiproxy.network}"}))
    assert container.exec_run(["touch", "/tmp/canary"]).exit_code == 0
    path = tmp_path / "inject.yaml"
    path.write_text(INJECTION_EXPERIMENT)
    injected = "x; rm -rf /tmp/canary #"
    run = chaoskit("run", str(path), "--var", f"db={injected}", "--var", f"target={container.name}",
                   "--var", f"toxiproxy={web.toxiproxy.api_url}", "--journal", str(tmp_path / "j.json"),
                   tmp_path=tmp_path, log_format="json")
    assert run.returncode == 0, run.stdout + run.stderr
    assert container.exec_run(["test", "-f", "/tmp/canary"]).exit_code == 0
    assert container.exec_run(["cat", "/tmp/seen"]).output.decode() == f"{injected}|"
