"""The Chaos Monkey on the cluster: a short, time-scaled, unleashed run over the sample stack's opted-in pods."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaoskit.cli.monkey import run_monkey
from chaoskit.run.ledger import Ledger
from tests.integration.kubernetes.conftest import NAMESPACE, ROOT, Cluster
from tests.integration.kubernetes_backend.conftest import agent  # noqa: F401  (the node agent, for container.kill)

pytestmark = pytest.mark.kubernetes

CONFIG = ROOT / "experiments" / "kubernetes" / "monkey.yaml"
OPTED_IN = {"api", "worker", "redis"}


def _monkey(tmp_path: Path, stack: Cluster, kill: str):
    ledger = tmp_path / "ledger.jsonl"
    # 600x: a Deployment's mean time between kills is 2 s of real time; max_concurrent 1 keeps them apart.
    report = run_monkey(CONFIG, variables={"kill": kill, "rate": 100, "kubeconfig": str(stack.kubeconfig)},
                        duration_s=20.0, leashed=False, time_scale=600, ignore_schedule=True,
                        journal_path=tmp_path / "monkey.json", ledger_path=str(ledger))
    assert report.stopped_by == "duration" and report.kills, report
    for kill in report.kills:
        assert kill["group"].split("/")[-1] in OPTED_IN  # postgres, toxiproxy and nginx never opted in
        assert kill["verdict"] is not None and kill["back_at"] is not None and not kill["stopped"], kill
    assert Ledger(str(ledger)).pending() == []
    return report


def _pods(stack: Cluster) -> dict[str, object]:
    return {p.metadata.uid: p for p in stack.core.list_namespaced_pod(NAMESPACE).items}


def test_the_monkey_deletes_opted_in_pods_and_judges_each(stack: Cluster, tmp_path: Path) -> None:
    """Each kill deletes one pod of an opted-in Deployment, waits for its replacement, and is judged."""
    report = _monkey(tmp_path, stack, "pod.delete")
    alive = _pods(stack)
    for kill in report.kills:
        assert kill["kind"] == "pod.delete" and kill["container_id"] not in alive


def test_the_monkey_kills_containers_through_the_agent(stack: Cluster, agent: None, tmp_path: Path) -> None:  # noqa: F811
    """container.kill: the node agent kills the main process, the kubelet restarts it in the same pod."""
    before = {uid: p.status.container_statuses[0].restart_count for uid, p in _pods(stack).items()}
    report = _monkey(tmp_path, stack, "container.kill")
    after = _pods(stack)
    for kill in report.kills:
        assert kill["kind"] == "container.kill" and kill["how"].startswith("kubernetes: kill")
        pod = after[kill["container_id"]]  # the same pod, restarted in place
        assert pod.status.container_statuses[0].restart_count > before[kill["container_id"]]
