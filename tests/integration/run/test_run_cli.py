"""`chaoskit run` end to end against real containers and the real Toxiproxy: verdicts, rollback, signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.run.web_experiment import write_experiment
from tests.support import wait_until

pytestmark = pytest.mark.docker

def chaoskit(*args: str, ledger: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "CHAOSKIT_LEDGER": str(ledger)}
    return subprocess.Popen([sys.executable, "-m", "chaoskit", "--log-format", "json", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def finish(proc: subprocess.Popen, timeout: float = 60) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def test_harmless_fault_is_tolerated(tmp_path, web, toxiproxy):
    """A 1 ms latency toxic keeps the page inside its 150 ms tolerance: TOLERATED, exit 0, toxic gone."""
    journal = tmp_path / "j.json"
    code, out, err = finish(chaoskit("run", str(write_experiment(tmp_path, 1)), *web.vars, "--journal", str(journal),
                                     ledger=tmp_path / "ledger.jsonl"))
    assert code == 0, out + err
    assert out.startswith("TOLERATED")
    data = json.loads(journal.read_text())
    events = [e["event"] for e in data["events"]]
    assert events.index("fault.applied") < events.index("fault.reverted")
    assert data["environment"]["toxiproxy"]["version"] == "2.12.0"
    assert toxiproxy.client.proxy("web").toxics == ()


def test_harmful_fault_is_a_failure(tmp_path, web, toxiproxy):
    """A 300 ms latency toxic breaks the 150 ms tolerance: FAILURE, exit 1, naming the probe; toxic gone."""
    code, out, err = finish(chaoskit("run", str(write_experiment(tmp_path, 300)), *web.vars,
                                     "--journal", str(tmp_path / "j.json"), ledger=tmp_path / "ledger.jsonl"))
    assert code == 1, out + err
    assert out.startswith("FAILURE")
    assert "'page'" in out
    assert toxiproxy.client.proxy("web").toxics == ()


def test_dry_run_applies_nothing(tmp_path, web, toxiproxy):
    """--dry-run prints the plan and leaves the proxy untouched."""
    code, out, err = finish(chaoskit("run", "--dry-run", str(write_experiment(tmp_path, 300)), *web.vars,
                                     ledger=tmp_path / "ledger.jsonl"))
    assert code == 0, err
    assert "latency toxic on proxy web" in out
    assert toxiproxy.client.proxy("web").toxics == ()
    assert not (tmp_path / "ledger.jsonl").exists() or (tmp_path / "ledger.jsonl").read_text() == ""


def test_missing_proxy_is_one_line_error_and_nothing_applied(tmp_path, web, toxiproxy):
    """A method naming a proxy that does not exist ends in ERROR (exit 6) before any fault is applied."""
    path = tmp_path / "missing.yaml"
    path.write_text(write_experiment(tmp_path, 300).read_text().replace("proxy: web", "proxy: nope"))
    code, out, err = finish(chaoskit("run", str(path), *web.vars, "--journal", str(tmp_path / "j.json"),
                                     ledger=tmp_path / "ledger.jsonl"))
    assert code == 6
    assert "nope" in out
    assert "fault.applied" not in err


def wait_for_applied(ledger: Path, timeout_s: float = 20) -> None:
    wait_until(lambda: ledger.exists() and '"op": "pending"' in ledger.read_text().replace('"op":"pending"', '"op": "pending"'),
               what="the fault to be recorded", timeout_s=timeout_s)


def test_sigint_reverts_within_two_seconds(tmp_path, web, toxiproxy):
    """SIGINT mid-fault: the toxic is gone within 2 s, the run exits ABORTED and the journal is written."""
    ledger, journal = tmp_path / "ledger.jsonl", tmp_path / "j.json"
    proc = chaoskit("run", str(write_experiment(tmp_path, 300, fault_s=60)), *web.vars, "--journal", str(journal),
                    ledger=ledger)
    wait_for_applied(ledger)
    wait_until(lambda: toxiproxy.client.proxy("web").toxics, what="toxic on the server")
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    wait_until(lambda: not toxiproxy.client.proxy("web").toxics, what="toxic removed", timeout_s=10)
    reverted_in = time.monotonic() - sent
    code, out, err = finish(proc)
    assert reverted_in <= 2.0
    assert code == 4, out + err
    assert json.loads(journal.read_text())["verdict"]["verdict"] == "ABORTED"


def test_invalid_experiment_exits_2_naming_the_line(tmp_path, web, toxiproxy):
    """An unknown fault type is reported with file:line and nothing is applied."""
    path = tmp_path / "bad.yaml"
    path.write_text(write_experiment(tmp_path, 300).read_text().replace("network.latency", "network.latencyy"))
    code, out, err = finish(chaoskit("run", str(path), *web.vars, ledger=tmp_path / "ledger.jsonl"))
    assert code == 2
    assert f"{path}:" in err and "network.latencyy" in err
    assert toxiproxy.client.proxy("web").toxics == ()


def test_extra_rollback_actions_run_after_the_revert(tmp_path, web, toxiproxy):
    """A `toxiproxy.reset` rollback removes a toxic chaoskit did not add, once the run's own fault is reverted."""
    from chaoskit.adapters.toxiproxy import Toxic

    toxiproxy.client.add_toxic("web", Toxic(name="left-by-someone", type="latency", attributes={"latency": 1}))
    path = tmp_path / "with-rollback.yaml"
    path.write_text(write_experiment(tmp_path, 1).read_text() + "rollbacks:\n  - type: toxiproxy.reset\n")
    code, out, err = finish(chaoskit("run", str(path), *web.vars, "--journal", str(tmp_path / "j.json"),
                                     ledger=tmp_path / "ledger.jsonl"))
    assert code == 0, out + err
    assert toxiproxy.client.proxy("web").toxics == ()
    events = [e["event"] for e in json.loads((tmp_path / "j.json").read_text())["events"]]
    assert events.index("fault.reverted") < events.index("rollback.done")
