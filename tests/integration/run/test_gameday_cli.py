"""`chaoskit gameday` end to end against real containers and the real Toxiproxy: expectations and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.integration.run.web_experiment import write_experiment

pytestmark = pytest.mark.docker


def gameday(folder: Path, entries: str, web, ledger: Path) -> subprocess.CompletedProcess:
    path = folder / "day.yaml"
    path.write_text(f"title: Web game day\nexperiments:\n{entries}")
    return subprocess.run([sys.executable, "-m", "chaoskit", "--log-format", "json", "gameday", str(path), "--now",
                           "--journal-dir", str(folder / "journals"), *web.vars],
                          env={**os.environ, "CHAOSKIT_LEDGER": str(ledger)}, capture_output=True, text=True,
                          timeout=180)


def test_an_expected_failure_makes_the_day_as_expected(tmp_path, web, toxiproxy):
    """1 ms of latency TOLERATED, 300 ms an expected FAILURE: "2 of 2 as expected", exit 0, JUnit all green."""
    write_experiment(tmp_path, 1)
    write_experiment(tmp_path, 300)
    result = gameday(tmp_path, "  - experiment: latency-1.yaml\n"
                               "  - {experiment: latency-300.yaml, expect: FAILURE}\n", web, tmp_path / "ledger.jsonl")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "game day: 2 of 2 as expected (worst verdict FAILURE)" in result.stdout
    day = json.loads((tmp_path / "journals" / "gameday.json").read_text())
    assert day["as_expected"] is True and [e["verdict"] for e in day["experiments"]] == ["TOLERATED", "FAILURE"]
    junit = ET.parse(tmp_path / "journals" / "junit.xml").getroot()
    assert junit.get("failures") == "0" and junit.get("errors") == "0" and junit.get("tests") == "2"
    assert toxiproxy.client.proxy("web").toxics == ()


def test_a_wrong_expectation_exits_non_zero_and_is_named(tmp_path, web, toxiproxy):
    """300 ms of latency with no expectation (so TOLERATED): a surprise FAILURE, named, exit 1."""
    write_experiment(tmp_path, 300)
    result = gameday(tmp_path, "  - experiment: latency-300.yaml\n", web, tmp_path / "ledger.jsonl")
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    assert "game day: 0 of 1 as expected" in result.stdout
    assert ("surprise: Web behind a proxy, 300 ms (latency-300.yaml): expected TOLERATED, got FAILURE"
            in result.stdout)
    assert toxiproxy.client.proxy("web").toxics == ()
