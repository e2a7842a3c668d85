"""The rollback ledger: durable pending records, idempotent reverts, crash tolerance, locking."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
from pathlib import Path

import pytest

from chaoskit.errors import LedgerNotClean
from chaoskit.run import ledger as ledger_module
from chaoskit.run import registry
from chaoskit.run.ledger import FaultRecord, Ledger, default_ledger_path


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def record(run: str = "run-1", fault: str = "container.kill", **revert: object) -> FaultRecord:
    return FaultRecord(run_id=run, fault=fault, revert=revert or {"container": "abc"}, target="chaoskit-redis-1")


def test_pending_until_reverted(tmp_path: Path) -> None:
    """An entry is pending from record_pending until mark_reverted, with its timestamps and revert record."""
    ledger = Ledger(tmp_path / "l.jsonl", clock=Clock())
    entry_id = ledger.record_pending(record(container="abc", signal="SIGKILL"))
    [pending] = ledger.pending()
    assert pending.id == entry_id and pending.revert == {"container": "abc", "signal": "SIGKILL"}
    assert pending.recorded_at == 1001.0 and pending.pid == os.getpid() and pending.target == "chaoskit-redis-1"
    assert ledger.mark_reverted(entry_id) is True
    assert ledger.pending() == [] and ledger.entries()[0].reverted_at == 1002.0


def test_mark_reverted_is_idempotent_and_strict_about_ids(tmp_path: Path) -> None:
    """Reverting twice is harmless (False the second time); an unknown id is a KeyError."""
    ledger = Ledger(tmp_path / "l.jsonl")
    entry_id = ledger.record_pending(record())
    assert ledger.mark_reverted(entry_id) and not ledger.mark_reverted(entry_id)
    assert len((tmp_path / "l.jsonl").read_text().splitlines()) == 2
    with pytest.raises(KeyError):
        ledger.mark_reverted("nope")


def test_written_before_returning_and_readable_by_another_instance(tmp_path: Path) -> None:
    """record_pending has written a complete line when it returns; a fresh Ledger (another process) sees it."""
    path = tmp_path / "state" / "deep" / "l.jsonl"  # directories are created
    entry_id = Ledger(path).record_pending(record(run="r9"))
    line = json.loads(path.read_text().splitlines()[0])
    assert line["op"] == "pending" and line["id"] == entry_id and line["run_id"] == "r9"
    assert [e.id for e in Ledger(path).pending(run_id="r9")] == [entry_id] and Ledger(path).pending(
        run_id="other"
    ) == []


def test_fsyncs_file_and_directory_on_create(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Creating the ledger fsyncs the file and its directory; later appends fsync the file."""
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(ledger_module.os, "fsync", spy)
    path = tmp_path / "l.jsonl"
    ledger = Ledger(path)
    ledger.record_pending(record())
    assert str(path) in synced and str(tmp_path) in synced
    synced.clear()
    ledger.record_pending(record())
    assert synced == [str(path)]


def test_torn_last_line_is_skipped_and_the_next_append_stays_readable(tmp_path: Path) -> None:
    """A crash mid-write leaves a torn last line: reading skips it and the next record starts on a new line."""
    path = tmp_path / "l.jsonl"
    ledger = Ledger(path)
    kept = ledger.record_pending(record())
    with open(path, "ab") as handle:
        handle.write(b'{"op":"pending","id":"torn","run_id":"r","fau')
    assert [e.id for e in ledger.pending()] == [kept]
    after = ledger.record_pending(record())
    assert [e.id for e in ledger.pending()] == [kept, after]


def test_revert_failures_are_kept_on_the_entry(tmp_path: Path) -> None:
    """A failed revert leaves the entry pending with the attempt count and last error."""
    ledger = Ledger(tmp_path / "l.jsonl")
    entry_id = ledger.record_pending(record())
    ledger.record_revert_failure(entry_id, "engine down")
    ledger.record_revert_failure(entry_id, "still down")
    [entry] = ledger.pending()
    assert entry.revert_attempts_failed == 2 and entry.last_error == "still down"


def test_require_clean_says_how_to_fix(tmp_path: Path) -> None:
    """require_clean passes on an empty ledger and otherwise names the faults and `chaoskit rollback`."""
    ledger = Ledger(tmp_path / "l.jsonl")
    ledger.require_clean()
    ledger.record_pending(record(run="crashed"))
    with pytest.raises(
        LedgerNotClean,
        match=r"1 un-reverted fault.*container.kill on chaoskit-redis-1 \(run crashed.*chaoskit rollback",
    ):
        ledger.require_clean()


def test_owner_liveness_is_reported(tmp_path: Path) -> None:
    """An entry knows whether the process that recorded it still runs, so a run in progress is not taken for a crash."""
    ledger = Ledger(tmp_path / "l.jsonl")
    ledger.record_pending(record())
    [mine] = ledger.pending()
    assert mine.owner_alive() is True and "still running" in mine.describe()
    gone = dataclasses.replace(mine, pid=2**22 + 12345)  # above the largest possible pid_max: never a live pid
    assert gone.owner_alive() is False and "still running" not in gone.describe()
    assert dataclasses.replace(mine, host="elsewhere").owner_alive() is None


def test_revert_record_must_be_json(tmp_path: Path) -> None:
    """A revert record that is not JSON-serialisable is refused before anything is written."""
    ledger = Ledger(tmp_path / "l.jsonl")
    with pytest.raises(TypeError, match="JSON-serialisable"):
        ledger.record_pending(FaultRecord("r", "f", {"obj": object()}))
    assert ledger.entries() == []


def test_compaction_keeps_only_pending(tmp_path: Path) -> None:
    """compact() drops reverted entries' lines and keeps pending ones with their ids, times and failures."""
    path = tmp_path / "l.jsonl"
    ledger = Ledger(path, clock=Clock())
    done = ledger.record_pending(record())
    ledger.mark_reverted(done)
    open_id = ledger.record_pending(record(fault="network.latency", proxy="postgres", toxic="t1"))
    ledger.record_revert_failure(open_id, "503")
    before = ledger.pending()
    assert ledger.compact() == 2 and ledger.compact() == 0  # the done entry's two lines
    assert ledger.pending() == before and len(ledger.entries()) == 1
    ledger.mark_reverted(open_id)
    assert ledger.compact() == 3 and path.read_text() == ""


def _append_some(path: str, run: str, n: int) -> None:
    ledger = Ledger(path)
    for i in range(n):
        entry_id = ledger.record_pending(FaultRecord(run, "container.kill", {"i": i, "pad": "x" * 2000}))
        if i % 2:
            ledger.mark_reverted(entry_id)


def _compact_often(path: str, n: int) -> None:
    ledger = Ledger(path)
    for _ in range(n):
        ledger.compact()


def test_concurrent_writers_and_compaction_lose_nothing(tmp_path: Path) -> None:
    """Two appending processes and one compacting process at once: every pending record survives, whole."""
    path = str(tmp_path / "l.jsonl")
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_append_some, args=(path, f"r{i}", 40)) for i in range(2)]
    workers.append(ctx.Process(target=_compact_often, args=(path, 60)))
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    ledger = Ledger(path)
    assert sorted((e.run_id, e.revert["i"]) for e in ledger.pending()) == sorted(
        (f"r{w}", i) for w in range(2) for i in range(0, 40, 2)
    )
    assert all(json.loads(line) for line in Path(path).read_text().splitlines())


def test_default_path_prefers_env_then_system_then_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CHAOSKIT_LEDGER wins; else /var/lib/chaoskit when writable; else the XDG state dir."""
    assert default_ledger_path({"CHAOSKIT_LEDGER": str(tmp_path / "x.jsonl")}) == tmp_path / "x.jsonl"
    monkeypatch.setattr(registry, "SYSTEM_DIR", tmp_path / "var" / "lib" / "chaoskit")
    assert default_ledger_path({}) == tmp_path / "var" / "lib" / "chaoskit" / "ledger.jsonl"
    locked = tmp_path / "ro"
    locked.mkdir(mode=0o500)
    monkeypatch.setattr(registry, "SYSTEM_DIR", locked / "chaoskit")
    monkeypatch.setattr(registry.os, "access", lambda *a: False)  # root can write anywhere; pretend not
    assert default_ledger_path({"HOME": "/home/u"}) == Path("/home/u/.local/state/chaoskit/ledger.jsonl")
    assert default_ledger_path({"XDG_STATE_HOME": "/s"}) == Path("/s/chaoskit/ledger.jsonl")


def test_a_corrupt_line_in_the_middle_is_a_named_problem_not_a_silent_loss(tmp_path: Path) -> None:
    """A flipped byte in a pending record fails its checksum: named with a stable name, reported as not clean."""
    path = tmp_path / "l.jsonl"
    ledger = Ledger(path)
    ledger.record_pending(record(container="first"))
    ledger.record_pending(record(container="second"))
    lines = path.read_bytes().split(b"\n")
    lines[0] = lines[0].replace(b"first", b"fir5t")
    path.write_bytes(b"\n".join(lines))
    [problem] = ledger.problems()
    assert problem.line == 1 and "checksum" in problem.reason
    assert [e.revert["container"] for e in ledger.pending()] == ["second"]
    with pytest.raises(LedgerNotClean, match=f"forget {problem.name}"):
        ledger.require_clean()
    assert Ledger(path).problems() == [problem]  # the same name on every read


def test_an_unknown_record_is_a_problem_and_the_others_still_count(tmp_path: Path) -> None:
    """A well-formed record of an unknown kind is named; the entries around it are read as usual."""
    path = tmp_path / "l.jsonl"
    ledger = Ledger(path)
    ledger.record_pending(record(container="a"))
    with path.open("a") as out:
        out.write('{"op":"teleport","id":"x"}\n')
    ledger.record_pending(record(container="b"))
    assert [p.reason for p in ledger.problems()] == ["unknown record 'teleport'"]
    assert [e.revert["container"] for e in ledger.pending()] == ["a", "b"]


def test_forget_drops_an_entry_or_a_problem_on_purpose(tmp_path: Path) -> None:
    """forget() takes an entry id or a problem's name; afterwards the ledger is clean; an unknown name is a KeyError."""
    path = tmp_path / "l.jsonl"
    ledger = Ledger(path)
    entry_id = ledger.record_pending(record())
    with path.open("a") as out:
        out.write("{not json\n")
    [problem] = ledger.problems()
    assert "container.kill" in ledger.forget(entry_id)
    assert "forget" in ledger.forget(problem.name)
    ledger.require_clean()
    with pytest.raises(KeyError):
        ledger.forget("nothing-by-that-name")


def test_claim_refuses_a_second_live_run_and_a_dirty_ledger(tmp_path: Path) -> None:
    """claim(): one live run per ledger; a claim whose process is gone is stale; pending faults refuse too."""
    path = tmp_path / "l.jsonl"
    ledger = Ledger(path)
    ledger.claim("run-a")
    with pytest.raises(LedgerNotClean, match="run run-a .* is in progress"):
        ledger.claim("run-b")
    ledger.release("run-a")
    ledger.claim("run-b")
    with path.open("ab") as out:  # a claim left by a process that no longer exists
        from chaoskit.run.ledger_lines import encode

        out.write(encode({"op": "claim", "run_id": "dead", "pid": 2**22 + 12345, "host": "", "at": 1.0}))
    ledger.release("run-b")
    ledger.claim("run-c")
    ledger.release("run-c")
    ledger.record_pending(record())
    with pytest.raises(LedgerNotClean, match="un-reverted"):
        ledger.claim("run-d")


def test_operations_stay_fast_after_thousands_of_faults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """5,000 record/revert cycles: compaction keeps the file small, so the last operations are as fast as the first.

    Without fsync (disk speed is bench/deadman_bench.py's to measure): this checks the file's growth.
    """
    import time

    monkeypatch.setattr(ledger_module.os, "fsync", lambda fd: None)
    ledger = Ledger(tmp_path / "l.jsonl")
    keep = ledger.record_pending(record(container="still-applied"))
    for i in range(5_000):
        ledger.mark_reverted(ledger.record_pending(record(container=str(i))))
        if i == 4_900:
            started = time.perf_counter()
    per_op = (time.perf_counter() - started) / 200
    assert len((tmp_path / "l.jsonl").read_bytes().splitlines()) < 200
    assert [e.id for e in ledger.pending()] == [keep]
    assert per_op < 0.010
