"""FaultAct: recorded before applied, marked reverted only after the revert returned, failures recorded; the only writer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import chaoskit
from chaoskit.adapters.backends import Backends
from chaoskit.errors import RevertFailed, TargetNotFound
from chaoskit.run.acts import FaultAct, in_parallel
from chaoskit.run.ledger import Ledger
from chaoskit.testing import FakeFaults, FaultCall

ROOT = Path(chaoskit.__file__).resolve().parent


def act_on(tmp_path: Path, **fail: int | bool) -> tuple[FaultAct, Ledger, FakeFaults]:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    faults = FakeFaults(ledger, **fail)  # type: ignore[arg-type]
    return FaultAct(faults("fake.fault", {}), Backends("unix:///fake.sock"), ledger, "run-1"), ledger, faults


def test_apply_records_first_and_revert_marks_after(tmp_path: Path) -> None:
    """The fault sees itself pending when applied and when reverted; afterwards the entry is reverted."""
    act, ledger, faults = act_on(tmp_path)
    act.apply()
    token = faults.built[0].token
    (entry,) = ledger.pending()
    assert entry.run_id == "run-1" and entry.fault == "fake.fault" and entry.revert["token"] == token
    assert entry.revert["docker_host"] == "unix:///fake.sock"  # where to revert it from another process
    assert act.revert() is True
    assert faults.calls == [FaultCall("apply", token, True), FaultCall("revert", token, True)]
    assert not ledger.pending() and act.reverted
    assert act.revert() is False and len(faults.calls) == 2  # done once; nothing to do again


def test_a_failed_apply_stays_recorded_for_its_revert(tmp_path: Path) -> None:
    """An apply that raises leaves the act pending: it may have half-happened."""
    act, ledger, _ = act_on(tmp_path, fail_apply=True)
    with pytest.raises(Exception, match="told to fail"):
        act.apply()
    assert act.pending and len(ledger.pending()) == 1


def test_a_failed_revert_is_recorded_and_raised(tmp_path: Path) -> None:
    """The entry stays pending with the error; a later revert that works closes it."""
    act, ledger, _ = act_on(tmp_path, revert_failures=1)
    act.apply()
    with pytest.raises(RevertFailed):
        act.revert()
    (entry,) = ledger.pending()
    assert entry.revert_attempts_failed == 1 and "told to fail" in (entry.last_error or "")
    assert act.revert() is True and not ledger.pending()


def test_a_gone_target_counts_as_reverted_only_when_asked(tmp_path: Path) -> None:
    """TargetNotFound is a failure by default; with on_gone it is handed over and the entry is closed."""
    act, ledger, faults = act_on(tmp_path)
    act.apply()

    def gone(backends: Backends) -> None:
        raise TargetNotFound("removed meanwhile")

    faults.built[0].revert = gone  # type: ignore[method-assign]
    with pytest.raises(TargetNotFound):
        act.revert()
    assert ledger.pending()[0].revert_attempts_failed == 1
    seen: list[str] = []
    assert act.revert(on_gone=lambda exc: seen.append(str(exc))) is True
    assert seen == ["removed meanwhile"] and not ledger.pending()


def test_an_act_rebuilt_from_its_entry_reverts_it(tmp_path: Path) -> None:
    """What `chaoskit rollback` does: the pending entry is enough to rebuild the fault and its backends."""
    ledger = Ledger(tmp_path / "ledger.jsonl")
    from chaoskit.faults.catalogue import build

    fault = build("network.latency", {"proxy": "api", "latency_ms": 100})
    act = FaultAct(fault, Backends(None, "http://127.0.0.1:1"), ledger, "run-2")
    act.record()
    (entry,) = ledger.pending()
    rebuilt = FaultAct.from_entry(entry, ledger)
    assert rebuilt.pending and rebuilt.fault.token == fault.token and rebuilt.fault.kind == "network.latency"
    assert rebuilt.backends.toxiproxy_url == "http://127.0.0.1:1"


def test_in_parallel_tries_every_item_and_hands_back_each_error() -> None:
    """One failure does not stop the others; errors come back in the items' order."""
    done: list[int] = []

    def work(n: int) -> None:
        done.append(n)
        if n % 2:
            raise ValueError(n)

    errors = in_parallel(work, [1, 2, 3, 4])
    assert sorted(done) == [1, 2, 3, 4]
    assert [type(e).__name__ if e else None for e in errors] == ["ValueError", None, "ValueError", None]
    assert in_parallel(work, [3]) and isinstance(in_parallel(work, [3])[0], ValueError)


def _callers(name: str) -> list[str]:
    """Modules of chaoskit/ and bench/ (the ledger itself aside) that call ``<something>.name(...)``."""
    found = []
    for path in [*ROOT.rglob("*.py"), *(ROOT.parent / "bench").glob("*.py")]:
        if path == ROOT / "run" / "ledger.py":
            continue
        tree = ast.parse(path.read_text())
        if any(isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == name
               for node in ast.walk(tree)):
            found.append(path.relative_to(ROOT.parent).as_posix())
    return found


@pytest.mark.parametrize("write", ["record_pending", "mark_reverted", "record_revert_failure"])
def test_the_act_is_the_only_code_that_writes_the_ledger(write: str) -> None:
    """Pending, reverted and failed records are written by chaoskit/run/acts.py alone (runner, monkey, rollback use it)."""
    assert _callers(write) == ["chaoskit/run/acts.py"]
