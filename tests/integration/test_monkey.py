"""The monkey against the real engine, in compressed time: leashed kills nothing, unleashed kills and restarts,
a restart policy brings a crashed container back, SIGTERM mid-run leaves nothing killed, and a main process
gone before its host signal is a failed kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from chaoskit.adapters.backends import Backends
from chaoskit.model.probes import Hypothesis
from chaoskit.run.ledger import FaultRecord, Ledger
from chaoskit.verdict import Verdict
from chaoskit.cli.monkey import run_monkey
from chaoskit.schedule.monkey import Monkey
from chaoskit.schedule.monkey_config import MonkeyConfig, MonkeyPolicy, MonkeySettings
from chaoskit.journal import MonkeyJournal
from chaoskit.schedule.monkey_observer import NoProbes
from tests.support import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.timeout(120)]

IMAGE = "debian:bookworm-slim"


def start_targets(run_container, count: int, tag: str, **kwargs: Any) -> tuple[list[Any], Any]:
    """``count`` opted-in sleepers and one sentinel that is not opted in (the steady state watches it)."""
    targets = [run_container(IMAGE, ["sleep", "infinity"], labels={"chaoskit.test.monkey": tag}, network_mode="none",
                             **kwargs) for _ in range(count)]
    # Its own compose-project label scopes the probe's listing to this test: an unscoped listing races
    # with other sessions removing their containers (DockerEngine.list_containers inspects each one).
    sentinel = run_container(IMAGE, ["sleep", "infinity"], network_mode="none",
                             labels={"com.docker.compose.project": f"monkey-{tag}"})
    return targets, sentinel


def write_config(tmp_path: Path, tag: str, sentinel: str, *, leashed: bool, kill: str = "{downtime: 1s}",
                 mean: str = "10m", minimum: str = "1m") -> Path:
    path = tmp_path / "monkey.yaml"
    path.write_text(textwrap.dedent(f"""\
        title: monkey over test sleepers
        leashed: {str(leashed).lower()}
        opt_in: {{chaoskit.test.monkey: "{tag}"}}
        grouping: container
        mean_time_between_kills: {mean}
        min_time_between_kills: {minimum}
        max_concurrent: 1
        tick: 200ms
        kill: {kill}
        baseline: 0s
        probe_interval: 500ms
        recovery_budget: 20s
        steady_state:
          title: the sentinel keeps running
          probes:
            - {{name: sentinel, type: container, target: {{name: {sentinel}, project: monkey-{tag}}}}}
        """))
    return path


def started_at(container: Any) -> str:
    container.reload()
    return container.attrs["State"]["StartedAt"]


def test_leashed_kills_nothing(run_container, tmp_path):
    """Leashed, every decision is a would-be kill: no container restarted, nothing in the ledger."""
    tag = uuid.uuid4().hex[:8]
    targets, sentinel = start_targets(run_container, 3, tag)
    before = [started_at(c) for c in targets]
    config = write_config(tmp_path, tag, sentinel.name, leashed=True)
    report = run_monkey(config, seed=1, duration_s=4.0, time_scale=600, journal_path=tmp_path / "j.json",
                        ledger_path=str(tmp_path / "ledger.jsonl"))
    assert report.would_kills >= 2 and report.kills == ()
    assert [started_at(c) for c in targets] == before
    assert all(c.attrs["State"]["Running"] for c in targets)
    assert Ledger(tmp_path / "ledger.jsonl").entries() == []
    journal = json.loads((tmp_path / "j.json").read_text())
    assert journal["leashed"] is True and any(e["event"] == "monkey.would_kill" for e in journal["events"])


def test_unleashed_kills_restarts_and_judges(run_container, tmp_path):
    """Unleashed in compressed time: real kills, each restarted after its downtime, judged, ledger clean."""
    tag = uuid.uuid4().hex[:8]
    targets, sentinel = start_targets(run_container, 3, tag)
    before = {c.name: started_at(c) for c in targets}
    config = write_config(tmp_path, tag, sentinel.name, leashed=False)
    report = run_monkey(config, seed=3, duration_s=8.0, time_scale=600, journal_path=tmp_path / "j.json",
                        ledger_path=str(tmp_path / "ledger.jsonl"))
    killed = {k["container"] for k in report.kills}
    assert len(report.kills) >= 2, report
    assert all(k["verdict"] == "TOLERATED" and k["time_to_recover_s"] is not None for k in report.kills), report.kills
    assert all(k["downtime_s"] >= 1.0 for k in report.kills)
    # No restart policy: a crash and a manual stop are the same, so the main process is killed from the host.
    assert {k["kind"] for k in report.kills} == {"process.kill"}
    after = {c.name: started_at(c) for c in targets}
    assert all(c.attrs["State"]["Running"] for c in targets)
    assert {name for name in after if after[name] != before[name]} == killed
    ledger = Ledger(tmp_path / "ledger.jsonl")
    assert len(ledger.entries()) == len(report.kills) and not ledger.pending()
    assert report.verdict is Verdict.TOLERATED


def test_downtime_holds_against_a_restart_policy(run_container, tmp_path):
    """A container with restart: always is killed through the API, stays down for the downtime, then chaoskit starts it."""
    tag = uuid.uuid4().hex[:8]
    targets, sentinel = start_targets(run_container, 1, tag, restart_policy={"Name": "always"})
    config = write_config(tmp_path, tag, sentinel.name, leashed=False, kill="{downtime: 2s}", mean="100ms",
                          minimum="0s")
    report = run_monkey(config, seed=5, duration_s=4.0, time_scale=1, journal_path=tmp_path / "j.json",
                        ledger_path=str(tmp_path / "ledger.jsonl"))
    kill = report.kills[0]
    assert kill["kind"] == "container.kill" and kill["how"].startswith("engine API")
    assert kill["downtime_s"] >= 2.0 and kill["verdict"] == "TOLERATED"
    targets[0].reload()
    assert targets[0].attrs["RestartCount"] == 0 and targets[0].attrs["State"]["Running"]
    assert not Ledger(tmp_path / "ledger.jsonl").pending()


def test_restart_policy_brings_a_crashed_container_back(run_container, tmp_path):
    """restart: policy crashes the main process from the host, so restart: always brings it back by itself."""
    tag = uuid.uuid4().hex[:8]
    targets, sentinel = start_targets(run_container, 1, tag, restart_policy={"Name": "always"})
    config = write_config(tmp_path, tag, sentinel.name, leashed=False, kill="{restart: policy}", mean="100ms",
                          minimum="0s")
    report = run_monkey(config, seed=5, duration_s=3.0, time_scale=1, journal_path=tmp_path / "j.json",
                        ledger_path=str(tmp_path / "ledger.jsonl"))
    assert report.kills and report.kills[0]["kind"] == "process.kill" and report.kills[0]["how"].startswith("host")
    assert report.kills[0]["verdict"] == "TOLERATED"
    targets[0].reload()
    assert targets[0].attrs["RestartCount"] >= 1 and targets[0].attrs["State"]["Running"]
    assert not Ledger(tmp_path / "ledger.jsonl").pending()


def test_sigterm_mid_run_leaves_nothing_killed(run_container, tmp_path):
    """SIGTERM while a killed container is down: the monkey starts it again, clears the ledger, writes its journal."""
    tag = uuid.uuid4().hex[:8]
    targets, sentinel = start_targets(run_container, 2, tag)
    config = write_config(tmp_path, tag, sentinel.name, leashed=False, kill="{downtime: 60s}", mean="1m")
    ledger_path, journal = tmp_path / "ledger.jsonl", tmp_path / "j.json"
    code = "from chaoskit.cli.monkey import monkey; monkey()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(config), "--seed", "2", "--time-scale", "600", "--journal", str(journal),
         "--ledger", str(ledger_path)],
        cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        ledger = Ledger(ledger_path)
        wait_until(lambda: ledger.pending(), what="a kill recorded in the ledger", timeout_s=30)
        wait_until(lambda: any(not c.reload() and not c.attrs["State"]["Running"] for c in targets),
                   what="a killed container", timeout_s=10)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = output.decode()
    assert all(not c.reload() and c.attrs["State"]["Running"] for c in targets), text
    assert not Ledger(ledger_path).pending(), text
    data = json.loads(journal.read_text())
    assert data["stopped_by"] == "interrupted by SIGTERM"
    assert data["kills"] and data["kills"][0]["verdict"] == "INCONCLUSIVE"
    assert proc.returncode == 0, text


class _KilledWhileRecorded(Ledger):
    """A real ledger whose write of the kill also stops the target: its main process dies after the check, before the signal."""

    def __init__(self, path: Path, container: Any):
        super().__init__(path)
        self.container = container

    def record_pending(self, record: FaultRecord) -> str:
        entry = super().record_pending(record)
        self.container.kill()  # through the API: returns once the process is gone
        return entry


def test_a_main_process_gone_before_the_signal_is_a_failed_kill_not_a_signal(run_container, tmp_path):
    """The main process dies between the check and the host signal: nothing is signalled, the kill fails, it is undone."""
    tag = uuid.uuid4().hex[:8]
    (target,), _ = start_targets(run_container, 1, tag)
    policy = MonkeyPolicy(opt_in={"chaoskit.test.monkey": tag}, mean_time_between_kills_s=1e-9, grouping="container",
                          max_concurrent=1, leashed=False)
    config = MonkeyConfig(title="gone", policy=policy, steady_state=Hypothesis("none", ()), baseline_s=0.0)
    ledger = _KilledWhileRecorded(tmp_path / "ledger.jsonl", target)
    monkey = Monkey(config, Backends(), ledger, MonkeyJournal(None, {"title": "gone"}), MonkeySettings(seed=1),
                    observer=NoProbes())
    (record,) = monkey.execute(monkey.plan_tick(0))
    assert record.how.startswith("host") and "gone before the signal" in (record.apply_error or "")
    assert record.reverted and not ledger.pending()
    assert not target.reload() and target.attrs["State"]["Running"]  # started again by the revert
