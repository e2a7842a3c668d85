"""chaoskit doctor against the real engine: versions when all answer, one line when Toxiproxy does not."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from chaoskit.cli import ExitCode

pytestmark = pytest.mark.docker


def doctor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chaoskit", "doctor", *args], capture_output=True, text=True, timeout=60)


def test_doctor_reports_versions(engine, toxiproxy):
    """With both up, doctor prints the engine's and Toxiproxy's versions, as lines or (--json) as JSON."""
    result = doctor("--toxiproxy", toxiproxy.api_url, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["toxiproxy"] == "2.12.0"
    assert report["docker"] == engine.version()["Version"]
    text = doctor("--toxiproxy", toxiproxy.api_url)
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines() == [f"docker engine: {report['docker']} (API {report['docker_api']})",
                                        "toxiproxy: 2.12.0"]


def test_toxiproxy_url_from_the_environment(engine, toxiproxy):
    """CHAOSKIT_TOXIPROXY_URL is --toxiproxy's default."""
    result = subprocess.run([sys.executable, "-m", "chaoskit", "doctor", "--json"], capture_output=True, text=True,
                            timeout=60, env={**os.environ, "CHAOSKIT_TOXIPROXY_URL": toxiproxy.api_url})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["toxiproxy"] == "2.12.0"


def test_toxiproxy_down_is_one_line(engine):
    """With Toxiproxy unreachable, doctor prints one line naming its URL and exits ERROR."""
    result = doctor("--toxiproxy", "http://127.0.0.1:1")
    assert result.returncode == ExitCode.ERROR
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Toxiproxy at http://127.0.0.1:1 did not answer" in lines[0]
