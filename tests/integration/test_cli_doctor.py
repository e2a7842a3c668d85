"""chaoskit doctor against the real engine: versions when all answer, one line when Toxiproxy does not."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from chaoskit.cli import EXIT_ERROR

pytestmark = pytest.mark.docker


def doctor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chaoskit", "doctor", *args], capture_output=True, text=True, timeout=60)


def test_doctor_reports_versions(engine, toxiproxy):
    """With both up, doctor prints the engine's and Toxiproxy's versions as JSON."""
    result = doctor("--toxiproxy", toxiproxy.api_url)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["toxiproxy"] == "2.12.0"
    assert report["docker"] == engine.version()["Version"]


def test_toxiproxy_down_is_one_line(engine):
    """With Toxiproxy unreachable, doctor prints one line naming its URL and exits ERROR."""
    result = doctor("--toxiproxy", "http://127.0.0.1:1")
    assert result.returncode == EXIT_ERROR
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Toxiproxy at http://127.0.0.1:1 did not answer" in lines[0]
