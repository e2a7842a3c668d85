"""The example plugin package, installed in the venv: a plugin fault is listed, validated, planned, run,
recorded and rolled back after a SIGKILL like a built-in one, against a real container."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chaoskit.adapters.backends import Backends
from chaoskit.adapters.docker_backend import DockerBackend
from chaoskit.errors import ApplyFailed
from chaoskit.faults.catalogue import build, from_record
from chaoskit.targets.container import TargetRef
from tests.integration.run.test_guard import chaoskit, finish, live_run
from tests.integration.run.test_run_cli import chaoskit as chaoskit_with_ledger
from tests.integration.run.test_run_cli import wait_for_applied
from tests.support import wait_until

ROOT = Path(__file__).resolve().parents[3]
PLUGIN = ROOT / "examples" / "chaoskit-example-plugin"
FLAG = "/tmp/maintenance"

EXPERIMENT = """
title: A maintenance flag in one container
phases: {{warmup: 0s, baseline: 1s, fault: {fault_s}s, recovery: 3s}}
steady_state:
  title: No maintenance flag
  probes:
    - name: no flag
      type: command
      target: {{name: {name}}}
      cmd: [sh, -c, "test ! -e {flag}"]
method:
  - name: flag
    fault: example.file_marker
    target: {{name: {name}}}
    params: {{path: {flag}, content: down for maintenance}}
"""


@pytest.fixture(autouse=True)
def installed() -> None:
    assert importlib.util.find_spec("chaoskit_example_plugin"), (
        f"the example plugin is not installed: pip install --no-deps -e {PLUGIN} (./setup.sh does)")


@pytest.fixture
def box(run_container):
    """A labelled throwaway container with sh, for the marker file."""
    return run_container("debian:bookworm-slim", ["sleep", "600"])


def experiment(tmp_path: Path, name: str, fault_s: int) -> Path:
    path = tmp_path / "flag.yaml"
    path.write_text(EXPERIMENT.format(name=name, flag=FLAG, fault_s=fault_s))
    return path


def flag_text(engine, container) -> str | None:
    """The flag file's content in the container, or None when there is none."""
    code, output = engine.exec(container.id, ["cat", FLAG])
    return output if code == 0 else None


def test_faults_lists_the_plugin_with_its_distribution():
    """`chaoskit faults --json` has the plugin's fault after the built-ins, with the package it comes from."""
    result = subprocess.run([sys.executable, "-m", "chaoskit", "faults", "--json"], capture_output=True, text=True,
                            timeout=60, check=True)
    listed = {f["type"]: f for f in json.loads(result.stdout)}
    assert listed["example.file_marker"]["origin"] == "chaoskit-example-plugin 0.1.0"
    assert listed["container.kill"]["origin"] == "built-in" and result.stderr == ""


def test_validate_checks_the_plugin_fault_with_file_and_line(tmp_path):
    """The shipped example and a good step validate; a misspelt parameter is reported at its line."""
    good = experiment(tmp_path, "box", 2)
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("content:", "contents:"))
    shipped = PLUGIN / "maintenance-flag.yaml"
    result = subprocess.run([sys.executable, "-m", "chaoskit", "validate", str(shipped), str(good), str(bad)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"ok: {shipped}" in result.stdout and f"ok: {good}" in result.stdout
    assert f"{bad}:15: method[0].params.contents: unknown parameter for example.file_marker; did you mean " \
           "'content'?" in result.stderr


@pytest.mark.docker
def test_applied_and_reverted_in_a_real_container(engine, box):
    """Applied twice, the flag holds its content; rebuilt from its record and reverted twice, it is gone."""
    backends = Backends(targets=DockerBackend(engine))
    fault = build("example.file_marker", {"path": FLAG, "content": "down"}, TargetRef(box.id, box.name))
    fault.prepare(backends)
    record = json.loads(json.dumps(fault.record()))
    fault.apply(backends)
    fault.apply(backends)
    assert flag_text(engine, box) == "down\n"
    with pytest.raises(ApplyFailed, match="already exists"):
        build("example.file_marker", {"path": FLAG}, TargetRef(box.id, box.name)).prepare(backends)
    rebuilt = from_record(record)
    rebuilt.revert(backends)
    rebuilt.revert(backends)
    assert flag_text(engine, box) is None


@pytest.mark.docker
def test_dry_run_shows_it_and_a_run_applies_and_reverts_it(tmp_path, engine, box):
    """--dry-run plans the plugin fault and applies nothing; a run applies it (the probe sees the flag: FAILURE)
    and reverts it."""
    path, ledger = experiment(tmp_path, box.name, 2), tmp_path / "ledger.jsonl"
    code, out, err = finish(chaoskit_with_ledger("run", "--dry-run", str(path), ledger=ledger))
    assert code == 0, err
    assert f"create marker file {FLAG} in {box.name}" in out and flag_text(engine, box) is None
    journal = tmp_path / "j.json"
    code, out, err = finish(chaoskit_with_ledger("run", str(path), "--journal", str(journal), ledger=ledger))
    assert code == 1 and out.startswith("FAILURE") and "'no flag'" in out, out + err
    assert flag_text(engine, box) is None
    events = [e["event"] for e in json.loads(journal.read_text())["events"]]
    assert events.index("fault.applied") < events.index("fault.reverted")


@pytest.mark.docker
def test_sigkill_mid_fault_then_rollback_removes_the_flag(tmp_path, engine, box):
    """A run and its dead-man guard SIGKILLed with the plugin fault applied leave the flag; `chaoskit rollback`
    (which loads the plugin to rebuild the fault from the ledger) removes it, and a second rollback finds nothing."""
    ledger = tmp_path / "ledger.jsonl"
    proc = chaoskit(tmp_path, "run", str(experiment(tmp_path, box.name, 60)), "--journal", str(tmp_path / "j.json"))
    wait_for_applied(ledger)
    wait_until(lambda: flag_text(engine, box), what="the flag in the container")
    os.kill(live_run(tmp_path)["guard_pid"], signal.SIGKILL)  # else the guard reverts it first, as it should
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert flag_text(engine, box) == "down for maintenance\n"
    assert '"kind": "example.file_marker"' in ledger.read_text().replace('"kind":"', '"kind": "')

    code, out, err = finish(chaoskit(tmp_path, "rollback"))
    assert code == 0, err
    assert f"reverted: create marker file {FLAG} in {box.name}" in out
    assert flag_text(engine, box) is None
    code, out, err = finish(chaoskit(tmp_path, "rollback"))
    assert code == 0 and "nothing to roll back" in out


def test_the_example_packages_own_tests_pass():
    """The tests docs/plugins.md shows (the fault's on chaoskit.testing's fake backend, the probe's against a
    socket on 127.0.0.1) pass against this chaoskit."""
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(PLUGIN / "tests")],
                            capture_output=True, text=True, timeout=120, cwd=PLUGIN)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 passed" in result.stdout


def test_a_broken_plugin_beside_it_costs_only_itself(tmp_path):
    """An installed distribution whose entry points cannot be used is refused in one warning line each;
    the built-ins and the example plugin are still listed and usable."""
    dist = tmp_path / "acme_chaos-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-chaos\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[chaoskit.faults]\nacme.touch = acme_chaos:Touch\n"
                                           "container.kill = acme_chaos:Kill\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    result = subprocess.run([sys.executable, "-m", "chaoskit", "--log-format", "json", "faults", "--json"],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    listed = {f["type"]: f["origin"] for f in json.loads(result.stdout)}
    assert listed["container.kill"] == "built-in" and "example.file_marker" in listed and "acme.touch" not in listed
    warnings = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(w["event"], w["problem"]) for w in warnings] == [
        ("plugin.refused", "plugin acme-chaos 1.0 (entry point acme.touch = acme_chaos:Touch) refused: "
                           "cannot be loaded: ModuleNotFoundError: No module named 'acme_chaos'"),
        ("plugin.refused", "plugin acme-chaos 1.0 (entry point container.kill = acme_chaos:Kill) refused: "
                           "'container.kill' is a built-in name")]
