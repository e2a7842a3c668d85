"""The monkey's loop against a fake engine and a fake clock: leash, kills and restarts, ledger, journal, stop."""

from __future__ import annotations

import json
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest
from structlog.testing import capture_logs

from chaoskit.adapters.docker_backend import DockerBackend
from chaoskit.model.probes import Hypothesis
from chaoskit.run.ledger import Ledger
from chaoskit.verdict import Phase, ProbeResult, Verdict
from chaoskit.schedule.monkey import Monkey
from chaoskit.schedule.monkey_config import KillSpec, MonkeyConfig, MonkeyPolicy, MonkeySettings
from chaoskit.journal import MonkeyJournal
from chaoskit.schedule.monkey_observer import NoProbes
from chaoskit.schedule.monkey_verdict import Round
from chaoskit.testing import FakeClock

EPOCH = 1_749_024_000.0  # Wednesday 2025-06-04 08:00 UTC


class FakeEngine:
    """Just enough of DockerEngine for container.kill and its revert, and the sparse list."""

    def __init__(self, names: list[str]):
        self.running = {f"id-{n}": True for n in names}
        self.names = {f"id-{n}": n for n in names}
        self.pids = {cid: 100 + i for i, cid in enumerate(self.running)}  # a new main process on every start
        self.next_pid = 1000
        self.kills: list[tuple[float, str]] = []
        self.most_down = 0
        self.clock: FakeClock | None = None

    def list_summaries(self, labels: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"Id": cid, "Names": [f"/{self.names[cid]}"], "State": "running" if up else "exited",
                 "Status": "Up 1 second" if up else "Exited (137)",
                 "Labels": {"chaoskit.monkey": "true", "com.docker.compose.project": "demo",
                            "com.docker.compose.service": self.names[cid].rsplit("-", 1)[0]}}
                for cid, up in self.running.items()]

    def inspect(self, cid: str) -> dict[str, Any]:
        up = self.running[cid]
        return {"State": {"Running": up, "Paused": False, "Pid": self.pids[cid] if up else 0},
                "HostConfig": {"RestartPolicy": {"Name": "always"}}}

    def kill(self, cid: str, signal: str) -> None:
        self.running[cid] = False
        self.kills.append((self.clock.now if self.clock else 0.0, self.names[cid]))
        self.most_down = max(self.most_down, sum(not up for up in self.running.values()))

    def start(self, cid: str) -> None:
        self.running[cid] = True
        self.next_pid += 1
        self.pids[cid] = self.next_pid


class OutageObserver(NoProbes):
    def observe(self, t: float, phase: Phase) -> Round:
        return Round(t, (ProbeResult("error rate", phase, t, ok=False, detail="0.5 > max 0.01"),))


def make_config(**policy_changes: Any) -> MonkeyConfig:
    policy = MonkeyPolicy(opt_in={"chaoskit.monkey": "true"}, mean_time_between_kills_s=4.0, project="demo",
                          leashed=False, max_concurrent=1)
    return MonkeyConfig(title="fake", policy=replace(policy, **policy_changes), steady_state=Hypothesis("none", ()),
                        kill=KillSpec(downtime_s=2.0), baseline_s=0.0, probe_interval_s=1.0, recovery_budget_s=10.0)


def run(tmp_path, *, config: MonkeyConfig | None = None, seed: int = 7, duration: float = 60.0, abort_at: float | None = None,
        observer: Any = None, names: list[str] | None = None):
    engine = FakeEngine(names or ["api-1", "api-2", "worker-1", "redis-1"])
    clock = FakeClock(epoch=EPOCH, min_sleep=1e-3, interrupt_at=abort_at)
    engine.clock = clock
    backends = SimpleNamespace(engine=engine, targets=DockerBackend(engine), docker_host=None, toxiproxy_url="http://127.0.0.1:8474", record=lambda: {"docker_host": None})
    ledger = Ledger(tmp_path / "ledger.jsonl")
    journal = MonkeyJournal(tmp_path / "monkey.json", {"title": "fake", "seed": seed})
    monkey = Monkey(config or make_config(), backends, ledger, journal,  # type: ignore[arg-type]
                    MonkeySettings(seed=seed, duration_s=duration), observer=observer or NoProbes(), clock=clock,
                    wall_clock=clock.wall, sleep=clock.sleep)
    report = monkey.run()
    return report, engine, ledger, json.loads((tmp_path / "monkey.json").read_text())


def test_leashed_logs_would_be_kills_and_kills_nothing(tmp_path):
    """Leashed: monkey.would_kill events are logged and journaled; the engine is never asked to kill."""
    with capture_logs() as logs:
        report, engine, ledger, journal = run(tmp_path, config=make_config(leashed=True))
    assert engine.kills == [] and ledger.entries() == []
    assert report.would_kills > 0 and report.kills == () and report.verdict is Verdict.TOLERATED
    assert sum(e["event"] == "monkey.would_kill" for e in logs) == report.would_kills
    assert any(e["event"] == "monkey.would_kill" for e in journal["events"])


def test_unleashed_kills_restarts_and_judges_each_kill(tmp_path):
    """Each kill is in the ledger, restarted after its downtime, marked reverted and judged with a time to recover."""
    with capture_logs() as logs:
        report, engine, ledger, journal = run(tmp_path)
    assert len(engine.kills) >= 3
    assert all(engine.running.values())
    entries = ledger.entries()
    assert len(entries) == len(engine.kills) and not ledger.pending()
    assert {e.fault for e in entries} == {"container.kill"} and all("docker_host" in e.revert for e in entries)
    assert [k["verdict"] for k in journal["kills"]] == ["TOLERATED"] * len(engine.kills)
    assert all(k["time_to_recover_s"] is not None and k["downtime_s"] >= 2.0 for k in journal["kills"])
    assert sum(e["event"] == "monkey.kill" for e in logs) == len(engine.kills)
    assert report.exit_code == 0 and journal["stopped_by"] == "duration"


def test_never_more_than_max_concurrent_down(tmp_path):
    """However often groups fire, no more containers are down at once than max_concurrent."""
    for limit in (1, 2):
        config = make_config(mean_time_between_kills_s=0.5, max_concurrent=limit, grouping="container")
        _, engine, _, journal = run(tmp_path / str(limit), config=config, duration=30.0)
        assert engine.most_down == limit
        assert journal["summary"]["skipped"].get("max_concurrent", 0) > 0


def test_min_interval_spaces_kills_of_a_group(tmp_path):
    """With a 20 s minimum, kills of the single group are at least 20 s of schedule time apart."""
    config = make_config(mean_time_between_kills_s=1.0, min_time_between_kills_s=20.0)
    _, engine, _, _ = run(tmp_path, config=config, names=["redis-1"], duration=90.0)
    times = [t for t, _ in engine.kills]
    assert len(times) >= 3 and all(b - a >= 20.0 for a, b in zip(times, times[1:]))


def test_time_scale_compresses_the_schedule_clock(tmp_path):
    """At time scale 10 a 20 s minimum interval is 2 s of real time (kills are closer than 20 s)."""
    config = make_config(mean_time_between_kills_s=10.0, min_time_between_kills_s=20.0, grouping="container",
                         max_concurrent=4)
    engine = FakeEngine(["redis-1"])
    clock = FakeClock(epoch=EPOCH, min_sleep=1e-3)
    engine.clock = clock
    backends = SimpleNamespace(engine=engine, targets=DockerBackend(engine), docker_host=None, toxiproxy_url="", record=lambda: {"docker_host": None})
    monkey = Monkey(config, backends, Ledger(tmp_path / "l.jsonl"), MonkeyJournal(None, {}),  # type: ignore[arg-type]
                    MonkeySettings(seed=3, duration_s=60.0, time_scale=10.0), observer=NoProbes(), clock=clock,
                    wall_clock=clock.wall, sleep=clock.sleep)
    monkey.run()
    gaps = [b - a for (a, _), (b, _) in zip(engine.kills, engine.kills[1:])]
    assert len(engine.kills) >= 4 and min(gaps) < 20.0


def test_no_kill_during_an_outage(tmp_path):
    """While the steady state is violated, fired groups are skipped with reason outage and nothing is killed."""
    report, engine, _, journal = run(tmp_path, observer=OutageObserver(), duration=20.0)
    assert engine.kills == []
    assert report.skipped.get("outage", 0) > 0
    assert any(e["event"] == "monkey.skipped" and e["reason"] == "outage" for e in journal["events"])


def test_signal_mid_run_restarts_everything_and_writes_the_journal(tmp_path):
    """SIGTERM while a container is down: it is started again, the ledger is clean, the kill is not called a pass."""
    config = make_config(mean_time_between_kills_s=0.5, max_concurrent=4, grouping="container")
    config = replace(config, kill=KillSpec(downtime_s=30.0))
    report, engine, ledger, journal = run(tmp_path, config=config, abort_at=3.0)
    assert engine.kills and all(engine.running.values())
    assert not ledger.pending()
    assert journal["stopped_by"] == "interrupted by SIGTERM"
    assert {k["verdict"] for k in journal["kills"]} == {"INCONCLUSIVE"}
    assert report.verdict is Verdict.TOLERATED and "no kill was judged" in report.reasons[0]


def test_same_seed_same_kills(tmp_path):
    """Two runs with the same seed over the same world kill the same containers at the same times."""
    first = run(tmp_path / "a", seed=11)[1].kills
    second = run(tmp_path / "b", seed=11)[1].kills
    other = run(tmp_path / "c", seed=12)[1].kills
    assert first == second and first != other


def test_unleashed_refuses_a_dirty_ledger(tmp_path):
    """A pending entry from an earlier run stops an unleashed monkey before it kills anything."""
    from chaoskit.run.ledger import FaultRecord

    Ledger(tmp_path / "ledger.jsonl").record_pending(FaultRecord("old", "container.kill", {"kind": "container.kill"}))
    report, engine, _, journal = run(tmp_path)
    assert engine.kills == [] and report.verdict is Verdict.ERROR and "rollback" in report.reasons[0]


@pytest.mark.parametrize("leashed", [True, False])
def test_override_of_the_leash(tmp_path, leashed):
    """--leashed/--unleashed override the file's leashed:."""
    engine = FakeEngine(["redis-1"])
    clock = FakeClock(epoch=EPOCH, min_sleep=1e-3)
    backends = SimpleNamespace(engine=engine, targets=DockerBackend(engine), docker_host=None, toxiproxy_url="", record=lambda: {"docker_host": None})
    monkey = Monkey(make_config(leashed=not leashed), backends, Ledger(tmp_path / "l.jsonl"), MonkeyJournal(None, {}),  # type: ignore[arg-type]
                    MonkeySettings(seed=1, leashed=leashed, duration_s=10.0), observer=NoProbes(), clock=clock,
                    wall_clock=lambda: EPOCH, sleep=clock.sleep)
    monkey.run()
    assert (engine.kills == []) is leashed


class StaleListEngine(FakeEngine):
    """Lists redis-1 as running while it is already down (the list is a moment old)."""

    def list_summaries(self, labels: dict[str, Any]) -> list[dict[str, Any]]:
        summaries = super().list_summaries(labels)
        for summary in summaries:
            summary["State"] = "running"
        return summaries


def test_a_container_gone_since_the_list_is_skipped_not_an_error(tmp_path):
    """A victim that stopped between the list and the kill is a skip (reason gone), not a failed kill."""
    engine = StaleListEngine(["redis-1"])
    engine.running["id-redis-1"] = False
    clock = FakeClock(epoch=EPOCH, min_sleep=1e-3)
    backends = SimpleNamespace(engine=engine, targets=DockerBackend(engine), docker_host=None, toxiproxy_url="", record=lambda: {"docker_host": None})
    journal = MonkeyJournal(None, {})
    monkey = Monkey(make_config(mean_time_between_kills_s=0.5), backends, Ledger(tmp_path / "l.jsonl"), journal,  # type: ignore[arg-type]
                    MonkeySettings(seed=1, duration_s=5.0), observer=NoProbes(), clock=clock, wall_clock=lambda: EPOCH,
                    sleep=clock.sleep)
    report = monkey.run()
    assert report.kills == () and report.skipped.get("gone", 0) >= 1
    assert report.verdict is Verdict.TOLERATED and Ledger(tmp_path / "l.jsonl").entries() == []
