"""The dead-man switch, `chaoskit halt` and a ledger that never gets stuck, against real Docker and real Toxiproxy.

Every test has a private ledger (CHAOSKIT_LEDGER) and a private state directory
(CHAOSKIT_HOME), so `chaoskit halt` here never touches another session's runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chaoskit.journal import read_journal
from chaoskit.run.ledger import Ledger
from tests.integration.run.web_experiment import write_experiment
from tests.support import wait_until

pytestmark = pytest.mark.docker

DEAD_MAN_S = 3


def chaoskit(tmp_path: Path, *args: str) -> subprocess.Popen:
    """A real `chaoskit` process in a process group of its own (so the whole group can be SIGKILLed)."""
    env = {**os.environ, "CHAOSKIT_LEDGER": str(tmp_path / "ledger.jsonl"), "CHAOSKIT_HOME": str(tmp_path / "home")}
    return subprocess.Popen([sys.executable, "-m", "chaoskit", "--log-format", "json", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def finish(proc: subprocess.Popen, timeout: float = 60) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def guarded_experiment(tmp_path: Path, fault_s: int = 60, name: str = "latency-300.yaml") -> Path:
    path = tmp_path / name
    path.write_text(write_experiment(tmp_path, 300, fault_s=fault_s).read_text()
                    + f"safety: {{dead_man: {DEAD_MAN_S}s}}\n")
    return path


def start_mid_fault(tmp_path: Path, web, toxiproxy, journal: Path) -> subprocess.Popen:
    proc = chaoskit(tmp_path, "run", str(guarded_experiment(tmp_path)), *web.vars, "--journal", str(journal))
    wait_until(lambda: Ledger(tmp_path / "ledger.jsonl").pending(), what="the fault to be recorded")
    wait_until(lambda: toxiproxy.client.proxy("web").toxics, what="toxic on the server")
    return proc


def live_run(tmp_path: Path) -> dict:
    runs = list((tmp_path / "home" / "runs").glob("*.json"))
    assert len(runs) == 1
    return json.loads(runs[0].read_text())


def test_sigkill_of_the_whole_process_group_is_reverted_by_the_guard(tmp_path, web, toxiproxy):
    """SIGKILL to the controller's process group mid-fault: the guard removes the toxic within dead_man + 2 s,
    with nobody running rollback; the ledger says the guard did it; the journal is readable and crashed."""
    journal = tmp_path / "j.json"
    proc = start_mid_fault(tmp_path, web, toxiproxy, journal)
    guard_pid = live_run(tmp_path)["guard_pid"]
    killed = time.monotonic()
    os.killpg(proc.pid, signal.SIGKILL)
    wait_until(lambda: not toxiproxy.client.proxy("web").toxics, what="toxic removed by the guard",
               timeout_s=DEAD_MAN_S + 2)
    reverted_in = time.monotonic() - killed
    proc.wait(timeout=10)
    assert reverted_in <= DEAD_MAN_S + 2
    entries = Ledger(tmp_path / "ledger.jsonl").entries()
    assert [(e.pending, e.reverted_by) for e in entries] == [(False, "guard")]
    wait_until(lambda: "guard.reverted" in journal.read_text(), what="the guard's journal event", timeout_s=5)
    record = read_journal(journal)
    assert record.crashed
    guard_event = [e for e in record.events if e.name == "guard.reverted"][0]
    assert [line.split(" (")[0] for line in guard_event.fields["reverted"]] == ["latency toxic on proxy web"]
    wait_until(lambda: subprocess.run(["ps", "-p", str(guard_pid)], capture_output=True).returncode != 0,
               what="the guard to exit", timeout_s=5)


def test_a_frozen_controller_is_reverted_after_dead_man(tmp_path, web, toxiproxy):
    """SIGSTOP mid-fault (the controller lives but stops beating): the guard reverts after dead_man seconds."""
    proc = start_mid_fault(tmp_path, web, toxiproxy, tmp_path / "j.json")
    stopped = time.monotonic()
    proc.send_signal(signal.SIGSTOP)
    try:
        wait_until(lambda: not toxiproxy.client.proxy("web").toxics, what="toxic removed by the guard",
                   timeout_s=DEAD_MAN_S + 2)
        reverted_in = time.monotonic() - stopped
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.send_signal(signal.SIGCONT)
        proc.wait(timeout=10)
    # Silence counts from the last beat, which came up to a quarter of dead_man before the stop.
    assert DEAD_MAN_S * 0.75 - 0.25 <= reverted_in <= DEAD_MAN_S + 2


def test_when_the_guard_dies_too_rollback_still_restores(tmp_path, web, toxiproxy):
    """Controller and guard both SIGKILLed: the toxic stays, `run` refuses, `chaoskit rollback` removes it, twice safely."""
    proc = start_mid_fault(tmp_path, web, toxiproxy, tmp_path / "j.json")
    os.kill(live_run(tmp_path)["guard_pid"], signal.SIGKILL)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    time.sleep(DEAD_MAN_S + 1)
    assert len(toxiproxy.client.proxy("web").toxics) == 1

    code, out, err = finish(chaoskit(tmp_path, "run", str(guarded_experiment(tmp_path)), *web.vars,
                                     "--journal", str(tmp_path / "j2.json")))
    assert code == 6 and "chaoskit rollback" in out + err

    code, out, err = finish(chaoskit(tmp_path, "rollback"))
    assert code == 0, err
    assert "reverted: latency toxic on proxy web" in out
    assert toxiproxy.client.proxy("web").toxics == ()
    code, out, err = finish(chaoskit(tmp_path, "rollback"))
    assert code == 0 and f"nothing to roll back in {tmp_path / 'ledger.jsonl'}" in out


def test_halt_stops_the_run_and_reverts(tmp_path, web, toxiproxy):
    """`chaoskit halt` mid-fault: the run aborts (exit 4, finished journal), the toxic is gone, nothing pending."""
    journal = tmp_path / "j.json"
    proc = start_mid_fault(tmp_path, web, toxiproxy, journal)
    code, out, err = finish(chaoskit(tmp_path, "halt", "--grace", "10"))
    assert code == 0, out + err
    assert "stopping: run" in out
    run_code, run_out, run_err = finish(proc)
    assert run_code == 4, run_out + run_err
    assert toxiproxy.client.proxy("web").toxics == ()
    assert not Ledger(tmp_path / "ledger.jsonl").pending()
    record = read_journal(journal)
    assert not record.crashed and json.loads(journal.read_text())["verdict"]["verdict"] == "ABORTED"


def test_sigint_then_sigterm_at_once_ends_aborted_with_a_journal(tmp_path, web, toxiproxy):
    """SIGINT followed within a millisecond by SIGTERM: ABORTED (exit 4), a finished journal, the toxic gone."""
    journal = tmp_path / "j.json"
    proc = start_mid_fault(tmp_path, web, toxiproxy, journal)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGTERM)
    code, out, err = finish(proc)
    assert code == 4, out + err
    assert json.loads(journal.read_text())["verdict"]["verdict"] == "ABORTED"
    assert toxiproxy.client.proxy("web").toxics == ()


def test_two_runs_started_together_do_not_both_inject(tmp_path, web, toxiproxy):
    """Two runs on one ledger 0.3 s apart: one refuses, naming the run in progress; one toxic at most, ever."""
    first = chaoskit(tmp_path, "run", str(guarded_experiment(tmp_path, fault_s=4, name="a.yaml")), *web.vars,
                     "--journal", str(tmp_path / "a.json"))
    time.sleep(0.3)
    second = chaoskit(tmp_path, "run", str(guarded_experiment(tmp_path, fault_s=4, name="b.yaml")), *web.vars,
                      "--journal", str(tmp_path / "b.json"))
    most = 0
    while first.poll() is None or second.poll() is None:
        most = max(most, len(toxiproxy.client.proxy("web").toxics))
        time.sleep(0.05)
    results = sorted([finish(first), finish(second)], key=lambda r: r[0])
    assert most == 1
    assert results[0][0] == 1  # the 300 ms latency breaks the 150 ms tolerance: FAILURE
    assert results[1][0] == 6 and "in progress" in results[1][1] + results[1][2]
    assert toxiproxy.client.proxy("web").toxics == ()


def test_a_ledger_with_a_gone_target_and_a_corrupt_line_does_not_get_stuck(tmp_path, web, toxiproxy):
    """Controller and guard killed mid `network.down`, then the proxy deleted and a line corrupted: rollback marks
    the proxy gone, names the corrupt line (exit 6); `--forget` it, and the next run starts with no file edit."""
    import requests

    path = tmp_path / "down.yaml"
    text = guarded_experiment(tmp_path).read_text()
    path.write_text(text.replace("network.latency", "network.down").replace(", latency_ms: 300", ""))
    proc = chaoskit(tmp_path, "run", str(path), *web.vars, "--journal", str(tmp_path / "j.json"))
    wait_until(lambda: Ledger(tmp_path / "ledger.jsonl").pending(), what="the fault to be recorded")
    wait_until(lambda: not toxiproxy.client.proxy("web").enabled, what="the proxy disabled")
    os.kill(live_run(tmp_path)["guard_pid"], signal.SIGKILL)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert requests.delete(f"{toxiproxy.api_url}/proxies/web", timeout=5).status_code == 204
    with (tmp_path / "ledger.jsonl").open("a") as out:
        out.write('{"crc":"00000000","op":"pending","id":"mangled"}\n')

    code, out, err = finish(chaoskit(tmp_path, "rollback"))
    assert code == 6
    assert "gone (marked reverted): take proxy web down" in out
    name = err.split("--forget ")[1].split("`")[0]
    assert name.startswith("line-")
    code, out, err = finish(chaoskit(tmp_path, "rollback", "--forget", name))
    assert code == 0 and "forgotten" in out
    code, out, err = finish(chaoskit(tmp_path, "rollback"))
    assert code == 0 and "nothing to roll back" in out
    Ledger(tmp_path / "ledger.jsonl").claim("next-run")  # what `chaoskit run` does first: no longer refused


@pytest.mark.timeout(120)
def test_a_sigkilled_monkey_s_kill_is_reverted_by_starting_the_container(run_container, tmp_path):
    """The monkey SIGKILLed while a container it killed is down for 60 s: its guard starts the container again
    within the default dead_man + 2 s; the ledger is clean and the journal reads back as crashed."""
    import uuid

    from tests.integration.test_monkey import start_targets, write_config

    tag = uuid.uuid4().hex[:8]
    targets, sentinel = start_targets(run_container, 2, tag)
    config = write_config(tmp_path, tag, sentinel.name, leashed=False, kill="{downtime: 60s}", mean="1m")
    journal = tmp_path / "monkey.json"
    proc = chaoskit(tmp_path, "monkey", str(config), "--seed", "2", "--time-scale", "600", "--journal", str(journal))
    try:
        wait_until(lambda: Ledger(tmp_path / "ledger.jsonl").pending(), what="a kill recorded", timeout_s=30)
        wait_until(lambda: any(not c.reload() and not c.attrs["State"]["Running"] for c in targets),
                   what="a killed container", timeout_s=10)
    finally:
        killed = time.monotonic()
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    wait_until(lambda: all(not c.reload() and c.attrs["State"]["Running"] for c in targets),
               what="the killed container started again by the guard", timeout_s=12)
    assert time.monotonic() - killed <= 12
    assert not Ledger(tmp_path / "ledger.jsonl").pending()
    wait_until(lambda: "guard.reverted" in journal.read_text(), what="the guard's journal event", timeout_s=5)
    assert read_journal(journal).crashed


def test_rollback_leaves_a_live_run_s_fault_unless_forced_and_the_guard_exits_with_its_run(tmp_path, web, toxiproxy):
    """`chaoskit rollback` during a run: refused (exit 6, the toxic stays); with --force, reverted. The run still ends
    with a finished journal, and its guard exits with it."""
    proc = chaoskit(tmp_path, "run", str(guarded_experiment(tmp_path, fault_s=8)), *web.vars,
                    "--journal", str(tmp_path / "j.json"))
    wait_until(lambda: toxiproxy.client.proxy("web").toxics, what="toxic on the server")
    guard_pid = live_run(tmp_path)["guard_pid"]
    code, out, err = finish(chaoskit(tmp_path, "rollback"))
    assert code == 6 and "left to its run" in err and "--force" in err
    assert len(toxiproxy.client.proxy("web").toxics) == 1
    code, out, err = finish(chaoskit(tmp_path, "rollback", "--force"))
    assert code == 0 and "reverted: latency toxic on proxy web" in out
    assert toxiproxy.client.proxy("web").toxics == ()
    run_code, run_out, run_err = finish(proc)
    assert run_code in (0, 1), run_out + run_err
    assert not read_journal(tmp_path / "j.json").crashed
    wait_until(lambda: subprocess.run(["ps", "-p", str(guard_pid)], capture_output=True).returncode != 0,
               what="the guard to exit with its run", timeout_s=5)
    assert not list((tmp_path / "home" / "runs").glob("*.json"))
