"""``load.tls``: parsed into a TlsSpec at load time; wrong keys, types and missing files are file:line problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaoskit.errors import ExperimentInvalid
from chaoskit.model import load_experiment, parse_experiment
from chaoskit.model.load import TlsSpec

from .catalogue import SIGNATURES

TEMPLATE = """\
title: t
environment: {{compose_project: chaoskit}}
phases: {{warmup: 0s, baseline: 10s, fault: 20s, recovery: 10s}}
load:
  rate: 100
  tls: {tls}
  requests:
    - {{name: read, url: "https://127.0.0.1:8443/timeline/{{user}}"}}
steady_state:
  title: h
  probes:
    - {{name: p99, type: load, metric: p99, tolerance: 250ms}}
method:
  - fault: container.kill
    target: {{service: redis}}
"""


def write(tmp_path: Path, tls: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(TEMPLATE.format(tls=tls))
    return path


def test_without_tls_verification_is_on_with_the_system_cas() -> None:
    """No tls block: verify against the system's CAs, the URL's host as the name."""
    text = TEMPLATE.replace("  tls: {tls}\n", "").format()
    assert parse_experiment(text, fault_params=SIGNATURES).load.tls == TlsSpec()  # type: ignore[union-attr]


def test_files_are_taken_from_the_experiments_directory(tmp_path: Path) -> None:
    """Relative ca/cert/key paths resolve beside the experiment file, so the two travel together."""
    for name in ("ca.pem", "client.pem", "client.key"):
        (tmp_path / name).write_text("x")
    path = write(tmp_path, "{ca: ca.pem, cert: client.pem, key: client.key, server_name: api.example}")
    tls = load_experiment(path, fault_params=SIGNATURES).load.tls  # type: ignore[union-attr]
    assert tls == TlsSpec(True, str(tmp_path / "ca.pem"), str(tmp_path / "client.pem"), str(tmp_path / "client.key"),
                          "api.example")


@pytest.mark.parametrize("tls, problem", [
    ("{ca: missing.pem}", "load.tls.ca: no such file"),
    ("{verify: maybe}", "load.tls.verify: expected true or false"),
    ("{key: k.pem}", "load.tls.key: a client key needs its certificate (cert)"),
    ("{sni: x}", "load.tls.sni: unknown key"),
    ("[ca.pem]", "load.tls: expected a mapping"),
])
def test_problems_name_the_file_line_and_key(tmp_path: Path, tls: str, problem: str) -> None:
    """Each mistake is reported at the tls line with its key, before anything runs."""
    (tmp_path / "k.pem").write_text("x")
    path = write(tmp_path, tls)
    with pytest.raises(ExperimentInvalid) as invalid:
        load_experiment(path, fault_params=SIGNATURES)
    messages = [str(p) for p in invalid.value.problems]
    assert any(m.startswith(f"{path}:6: {problem}") for m in messages), messages
