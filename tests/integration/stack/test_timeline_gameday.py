"""The shipped game day, shortened, end to end against a real instance of the sample stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chaoskit.adapters.toxiproxy import ToxiproxyClient
from chaoskit.run.ledger import Ledger

pytestmark = pytest.mark.stack

GAMEDAY = Path(__file__).resolve().parents[3] / "experiments" / "gameday.yaml"
VERDICTS = {"TOLERATED", "FAILURE", "NOT_RECOVERED", "ABORTED", "INCONCLUSIVE"}


def test_short_game_day_runs_every_experiment_and_leaves_nothing_applied(stack, tmp_path):
    """Every experiment of the game day runs to a verdict (none an ERROR), reports are written, nothing is left."""
    ledger = tmp_path / "ledger.jsonl"
    journals = tmp_path / "journals"
    args = ["--var", f"project={stack.project}", "--var", f"api=http://127.0.0.1:{stack.api_port}",
            "--var", f"toxiproxy={stack.toxiproxy_url}", "--var", "users=2000", "--var", "rate=100",
            "--var", "warmup=1s", "--var", "baseline=4s", "--var", "fault=5s", "--var", "recovery=8s"]
    result = subprocess.run([sys.executable, "-m", "chaoskit", "--log-format", "json", "gameday", str(GAMEDAY),
                             "--now", "--journal-dir", str(journals), "--ledger", str(ledger), *args],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode in (0, 1, 3, 4, 5), result.stdout + result.stderr[-4000:]
    day = json.loads((journals / "gameday.json").read_text())
    assert len(day["experiments"]) == 8, day
    assert {e["verdict"] for e in day["experiments"]} <= VERDICTS, day
    assert (journals / "gameday.html").stat().st_size > 0 and (journals / "junit.xml").exists()
    assert " as expected (worst verdict " in result.stdout
    assert Ledger(ledger).pending() == []
    proxies = ToxiproxyClient(stack.toxiproxy_url).proxies()
    assert all(p.enabled and not p.toxics for p in proxies.values()), proxies
    for service in ("api", "worker", "redis", "postgres"):
        assert all(c.status == "running" for c in stack.containers(service)), service
