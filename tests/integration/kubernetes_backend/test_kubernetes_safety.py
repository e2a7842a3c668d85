"""Safety on the cluster: rollback from the ledger in another process, and the agents' dead-man switch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chaoskit.adapters.backends import Backends
from chaoskit.adapters.kubernetes.lease import LEASE_DURATION_S
from chaoskit.faults.catalogue import build
from chaoskit.run.ledger import FaultRecord, Ledger
from chaoskit.run.observe import resolve
from chaoskit.run.wiring import rollback_pending
from chaoskit.targets import Selector

pytestmark = pytest.mark.kubernetes

ROOT = Path(__file__).resolve().parents[3]


def test_rollback_reverts_a_pause_from_the_ledger_record(backends, namespace, tmp_path):
    """The record (fault + Backends.record()) is all `chaoskit rollback` needs to thaw the pod."""
    target = resolve(backends, Selector(owner="cache", count=1), None, 3).chosen[0].ref()
    fault = build("container.pause", {}, target)
    ledger_path = tmp_path / "ledger.jsonl"
    revert = {**fault.record(), **backends.record()}
    assert revert["target"]["where"]["pod_uid"] and revert["kubernetes"]["namespace"] == namespace
    Ledger(ledger_path).record_pending(FaultRecord("run-1", fault.kind, revert, target.name))
    fault.apply(backends)
    assert backends.targets.state(target) == "paused"
    reverted, failed = rollback_pending(str(ledger_path))
    assert (len(reverted), failed) == (1, [])
    assert backends.targets.state(target) == "running"


# A controller that freezes a pod and then hangs until it is killed (the bench uses it too).
PAUSE_THEN_HANG = """
import json, sys, time
from chaoskit.adapters.backends import Backends
from chaoskit.targets.container import TargetRef
backends = Backends(kubernetes=json.loads(sys.argv[1]))
backends.targets.pause(TargetRef.from_dict(json.loads(sys.argv[2])))
print("paused", flush=True)
time.sleep(600)
"""


def test_the_agent_thaws_when_the_controllers_lease_expires(backends, namespace):
    """A controller SIGKILLed while a pod is frozen: the agent thaws it within the lease duration + 2 s."""
    target = resolve(backends, Selector(owner="cache", count=1), None, 4).chosen[0].ref()
    controller = subprocess.Popen(
        [sys.executable, "-c", PAUSE_THEN_HANG, json.dumps(backends.kubernetes), json.dumps(target.to_dict())],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert controller.stdout is not None and controller.stdout.readline().strip() == "paused"
        assert backends.targets.state(target) == "paused"
        controller.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        while backends.targets.state(target) == "paused":
            assert time.monotonic() - killed < LEASE_DURATION_S + 2, "the agent did not thaw in time"
            time.sleep(0.1)
    finally:
        controller.kill()
        controller.wait()
        backends.targets.unpause(target)
    assert backends.targets.exec(target, ["echo", "awake"]) == (0, "awake\n")
