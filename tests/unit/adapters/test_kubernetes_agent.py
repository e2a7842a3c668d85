"""The node agent's node-side pieces: finding a container's cgroup, its main process, matching processes."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
from pathlib import Path

import pytest

AGENT = Path(__file__).resolve().parents[3] / "compose" / "kubernetes" / "agent" / "chaoskit_agent.py"


@pytest.fixture(scope="module")
def agent():
    spec = importlib.util.spec_from_file_location("chaoskit_agent", AGENT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cgroup_dirs_under_the_pod_in_each_hierarchy(agent, tmp_path, monkeypatch):
    """cgroupfs (v1) layouts by QoS class are found; a same-named directory of another pod is not."""
    monkeypatch.setattr(agent, "CGROUP_ROOT", str(tmp_path))
    for d in ("freezer/kubepods/burstable/podu-1/cid9", "pids/kubepods/burstable/podu-1/cid9", "pids/kubepods/podu-2/cid9"):
        (tmp_path / d).mkdir(parents=True)
    assert sorted(Path(d).parts[-5] for d in agent.cgroup_dirs("u-1", "cid9")) == ["freezer", "pids"]
    with pytest.raises(LookupError, match="no cgroup"):
        agent.cgroup_dirs("u-3", "cid9")


def test_main_process_and_matching_with_descendants(agent):
    """The main process is the one whose parent is outside the set; a marker matches a shell and its children."""
    shell = subprocess.Popen(["sh", "-c", ": agent-test-marker; sleep 30 & sleep 30 & wait"])
    children: set[int] = set()
    try:
        for _ in range(50):
            children = {int(p) for p in Path(f"/proc/{shell.pid}/task/{shell.pid}/children").read_text().split()}
            if len(children) == 2:
                break
            subprocess.run(["sleep", "0.05"])
        pids = {shell.pid, *children}
        assert agent.main_pid(pids) == shell.pid
        assert agent.matching(pids, {"cmdline": "agent-test-marker"}) == [shell.pid]
        assert agent.matching(pids, {"cmdline": "agent-test-marker", "descendants": True}) == sorted(pids)
        assert agent.matching(pids, {"name": "sleep"}) == sorted(children)
    finally:
        for pid in children:
            os.kill(pid, signal.SIGKILL)
        shell.kill()
        shell.wait()
