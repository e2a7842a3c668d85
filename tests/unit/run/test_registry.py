"""The host-wide state: where it lives, the index of ledgers, the runs in progress."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from chaoskit.run.registry import (
    LiveRun,
    default_ledger_path,
    known_ledgers,
    live_runs,
    process_started,
    registered_run,
    remember_ledger,
    state_dir,
)


def test_chaoskit_home_holds_the_default_ledger(tmp_path: Path) -> None:
    """CHAOSKIT_HOME moves the state directory and the default ledger; CHAOSKIT_LEDGER still wins for the ledger."""
    env = {"CHAOSKIT_HOME": str(tmp_path)}
    assert state_dir(env) == tmp_path and default_ledger_path(env) == tmp_path / "ledger.jsonl"
    assert default_ledger_path({**env, "CHAOSKIT_LEDGER": "/x/l.jsonl"}) == Path("/x/l.jsonl")


def test_the_index_names_each_ledger_once_and_forgets_deleted_ones(tmp_path: Path) -> None:
    """remember_ledger() is idempotent; known_ledgers() lists the default ledger and existing indexed ones."""
    env = {"CHAOSKIT_HOME": str(tmp_path / "home")}
    kept, deleted = tmp_path / "kept.jsonl", tmp_path / "deleted.jsonl"
    for ledger in (kept, deleted):
        ledger.write_text("")
        remember_ledger(ledger, env)
    remember_ledger(kept, env)
    deleted.unlink()
    remember_ledger(tmp_path / "new.jsonl", env)
    assert (tmp_path / "home" / "ledgers").read_text().splitlines() == [str(kept), str(tmp_path / "new.jsonl")]
    assert known_ledgers(env) == [kept]


def test_runs_are_listed_while_registered_and_dead_ones_swept(tmp_path: Path) -> None:
    """A registered run is live while its process runs; a file left by a dead process is removed."""
    env = {"CHAOSKIT_HOME": str(tmp_path)}
    me = LiveRun("mine", os.getpid(), process_started(os.getpid()), "l.jsonl", None, None)
    dead = subprocess.Popen(["true"])
    dead.wait()
    with registered_run(me, env), registered_run(LiveRun("dead", dead.pid, None, "l.jsonl", None), env):
        assert [run.run_id for run in live_runs(env)] == ["mine"]
        assert not (tmp_path / "runs" / "dead.json").exists()
    assert live_runs(env) == []
