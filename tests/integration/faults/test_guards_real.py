"""Blast-radius guards and command timeouts against the real engine: what a dry run would hit, and what
a command past its timeout leaves behind (nothing)."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
import time
import uuid

import psutil
import pytest

from chaoskit.adapters.backends import Backends
from chaoskit.adapters.docker_backend import DockerBackend
from chaoskit.errors import ApplyFailed, ChaoskitError, CommandTimedOut
from chaoskit.faults.catalogue import build, signatures
from chaoskit.model.experiment import Action
from chaoskit.model.loader import parse_experiment
from chaoskit.model.probes import CommandProbe
from chaoskit.model.tolerance import Check, Equals
from chaoskit.run.observe import observe
from chaoskit.run.rollbacks import play
from chaoskit.run.wiring import plan_experiment
from chaoskit.targets import Selector
from chaoskit.targets.container import COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL, TargetRef
from tests.conftest import SESSION
from tests.support import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.timeout(180)]

IMAGE = "debian:bookworm-slim"


@pytest.fixture
def projects(run_container):
    """Project A: redis (no opt-in label) and api (opted in); project B: a prod-redis. Names are unique per test."""
    a, b = f"cktest-a-{uuid.uuid4().hex[:6]}", f"cktest-b-{uuid.uuid4().hex[:6]}"

    def start(project: str, service: str, name: str, **labels: str):
        return run_container(IMAGE, ["sleep", "600"], name=name, network_mode="none",
                             labels={COMPOSE_PROJECT_LABEL: project, COMPOSE_SERVICE_LABEL: service, **labels})

    return {
        "a": a, "b": b,
        "redis": start(a, "redis", f"{a}-redis-1"),
        "api": start(a, "api", f"{a}-api-1", **{"chaoskit.enabled": "true"}),
        "prod": start(b, "redis", f"prod-redis-{b}"),
    }


def plan(tmp_path, toxiproxy, project: str, target: str, environment: str = "") -> list[str]:
    text = textwrap.dedent(f"""\
        title: blast radius
        environment: {{compose_project: {project}, toxiproxy_url: "{toxiproxy.api_url}"{environment}}}
        phases: {{warmup: 0s, baseline: 1s, fault: 2s, recovery: 1s}}
        steady_state:
          title: h
          probes:
            - {{name: up, type: http, url: "http://127.0.0.1:9/", tolerance: {{status: 200}}}}
        method:
          - fault: container.kill
            target: {target}
        """)
    experiment = parse_experiment(text, source="blast.yaml", fault_params=signatures())
    return plan_experiment(experiment, seed=1, ledger_path=str(tmp_path / "ledger.jsonl"))


def test_dry_run_counts_the_blast_radius_within_the_project(tmp_path, toxiproxy, projects):
    """A *redis* glob in project A picks A's redis only, and the dry run says "1 of 2 containers"."""
    lines = plan(tmp_path, toxiproxy, projects["a"], '{name: "*redis*", count: 1}')
    assert "blast radius: 1 of 2 containers" in lines
    assert any(f"kill {projects['a']}-redis-1" in line for line in lines)
    assert not any("prod-redis" in line for line in lines)
    ledger = tmp_path / "ledger.jsonl"
    assert not ledger.exists() or ledger.read_text() == ""


def test_scope_any_reaches_other_projects_and_says_so(tmp_path, toxiproxy, projects):
    """scope: any (with uncapped: true) reaches B's prod-redis too; the radius counts the whole engine."""
    target = f'{{name: "*redis*", labels: {{chaoskit.test.session: "{SESSION}"}}, scope: any, uncapped: true}}'
    lines = plan(tmp_path, toxiproxy, projects["a"], target)
    assert any(f"kill prod-redis-{projects['b']}" in line for line in lines)
    summary = next(line for line in lines if line.startswith("blast radius:"))
    assert summary.startswith("blast radius: 2 of ") and "in the engine" in "\n".join(lines)


def test_required_label_keeps_faults_off_containers_without_it(tmp_path, toxiproxy, projects):
    """With require_label, a selector over the whole project hits only the opted-in api."""
    lines = plan(tmp_path, toxiproxy, projects["a"], "{project: " + projects["a"] + ", count: 2}",
                 ", require_label: chaoskit.enabled=true")
    assert "blast radius: 1 of 2 containers" in lines
    assert any(f"kill {projects['a']}-api-1" in line for line in lines)


def test_exec_past_its_timeout_is_killed_with_what_it_started(engine, run_container):
    """A command that would run 300 s raises CommandTimedOut after ~1 s; its shell and both sleeps are gone."""
    container = run_container(IMAGE, ["sleep", "600"])
    backend = DockerBackend(engine)
    started = time.monotonic()
    with pytest.raises(CommandTimedOut, match="did not finish within 1s"):
        backend.exec(TargetRef(container.id, container.name), ["sh", "-c", "sleep 300 & sleep 301; echo done"],
                     timeout_s=1.0)
    assert time.monotonic() - started < 5

    def left() -> list[str]:
        return [" ".join(psutil.Process(pid).cmdline()) for pid in engine.pids(container.id)]

    # Killed processes leave the engine's list once reaped, a moment after the kill.
    wait_until(lambda: left() == ["sleep 600"], what="the killed command to be reaped", timeout_s=3)
    assert backend.exec(TargetRef(container.id, container.name), ["echo", "ok"], timeout_s=5.0) == (0, "ok\n")


def test_command_probe_and_rollback_timeouts_are_enforced(engine, run_container):
    """A command probe past its timeout is a violation that says so; a rollback command past its timeout fails."""
    project = f"cktest-{uuid.uuid4().hex[:6]}"
    run_container(IMAGE, ["sleep", "600"], labels={COMPOSE_PROJECT_LABEL: project, COMPOSE_SERVICE_LABEL: "db"})
    backends = Backends(targets=DockerBackend(engine))
    probe = CommandProbe("slow", Selector(service="db"), "sleep 30", (Check("exit_code", Equals(0)),), timeout_s=1.0)
    started = time.monotonic()
    reading = observe(probe, backends, project)
    assert not reading.judgement.ok and "did not finish within 1s" in reading.judgement.reason
    action = Action("command", {"cmd": "sleep 30", "timeout": 1.0}, Selector(service="db"))
    with pytest.raises(ChaoskitError, match="did not finish within 1s"):
        play(action, backends, project)
    assert time.monotonic() - started < 10


def test_host_wide_process_kill_needs_scope_host(tmp_path):
    """Without a target and without scope: host nothing is signalled; with scope: host the named process dies."""
    name = f"ck-{uuid.uuid4().hex[:8]}"
    binary = tmp_path / name
    shutil.copy(shutil.which("sleep"), binary)
    process = subprocess.Popen([str(binary), "60"])
    try:
        with pytest.raises(ApplyFailed, match="scope: host"):
            build("process.kill", {"name": name}).prepare(Backends())
        assert process.poll() is None
        fault = build("process.kill", {"name": name, "scope": "host"})
        fault.prepare(Backends())
        fault.apply(Backends())
        assert process.wait(timeout=5) == -9
    finally:
        process.kill()
