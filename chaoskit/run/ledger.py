"""The rollback ledger: a durable, append-only record of every fault that may still be applied.

Applying a fault and recording how to revert it are one act
(:class:`chaoskit.run.acts.FaultAct`, the only writer of faults): it calls
:meth:`Ledger.record_pending` (written and fsynced, the directory too when the
file is created) *before* it touches the target, and :meth:`Ledger.mark_reverted`
after the revert succeeded. Whatever a crash, SIGKILL or power cut leaves behind
is in :meth:`Ledger.pending`, which the run's guard and ``chaoskit rollback``
revert and ``chaoskit run`` refuses to start over (:meth:`Ledger.claim`).

Format: checksummed JSON lines (:mod:`chaoskit.run.ledger_lines`), one
operation each, replayed in order::

    {"crc":"…","op":"pending","id":"…","run_id":"…","fault":"container.kill","target":"…","revert":{…},"at":…,"pid":42,"started":…,"host":"…"}
    {"crc":"…","op":"revert_failed","id":"…","error":"…","at":…}
    {"crc":"…","op":"reverted","id":"…","at":…,"by":"guard"}
    {"crc":"…","op":"forgotten","id":"…","at":…}
    {"crc":"…","op":"claim","run_id":"…","pid":42,"started":…,"host":"…","at":…}
    {"crc":"…","op":"release","run_id":"…","at":…}

A ``claim`` is a run in progress: :meth:`Ledger.claim` checks that nothing
is pending and no other live run holds a claim, and appends its own, all
under the lock, so two runs started together cannot both inject. Nothing
read from the file blocks the others: a corrupt line or an unknown record is
a :class:`~chaoskit.run.ledger_lines.LedgerProblem` (named, and reported as
not clean) until it is forgotten. Writers take an exclusive ``flock`` on a
sidecar ``.lock`` file (not the ledger itself, so compaction can replace the
ledger by rename), so two processes never interleave lines; operations
compact the file once finished records outnumber live ones, so each stays
fast however many faults the ledger has seen.

Default location: ``$CHAOSKIT_LEDGER``; else ``ledger.jsonl`` in the state
directory (:func:`chaoskit.run.registry.state_dir`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from chaoskit.errors import LedgerNotClean
from chaoskit.log import get_logger
from chaoskit.run.ledger_lines import LedgerProblem, decode, encode, problem_name
from chaoskit.run.registry import default_ledger_path, process_alive, process_started

__all__ = ["FaultRecord", "Ledger", "LedgerEntry", "LedgerProblem", "default_ledger_path"]

_FORMAT = 2
# Compact once this many finished lines are more than the live ones (a 20,000-kill monkey stays fast).
COMPACT_AFTER = 64

log = get_logger("chaoskit.ledger")


@dataclass(frozen=True)
class FaultRecord:
    """What the run knows before applying a fault: enough to revert it from another process."""

    run_id: str
    fault: str
    # Everything the fault's revert needs (container id, proxy and toxic name...); JSON-serialisable.
    revert: Mapping[str, Any]
    target: str = ""  # for people: "chaoskit-redis-1", "proxy postgres"


@dataclass(frozen=True)
class LedgerEntry:
    id: str
    run_id: str
    fault: str
    revert: Mapping[str, Any]
    target: str
    recorded_at: float
    pid: int | None = None
    host: str = ""
    started: float | None = None  # the owner's start time: a reused pid is not the owner
    reverted_at: float | None = None
    reverted_by: str = ""
    forgotten: bool = False
    revert_attempts_failed: int = 0
    last_error: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def pending(self) -> bool:
        return self.reverted_at is None and not self.forgotten

    def owner_alive(self) -> bool | None:
        """Whether the recording process still runs (None: recorded on another host, cannot tell).

        A pending entry whose owner is alive may belong to a run in progress, not a crash.
        """
        return process_alive(self.pid, self.host, self.started)

    def describe(self) -> str:
        target = f" on {self.target}" if self.target else ""
        alive = ", still running" if self.owner_alive() else ""
        return f"{self.fault}{target} (run {self.run_id}, pid {self.pid} on {self.host or '?'}{alive})"


@dataclass
class _State:
    """The ledger replayed: entries, problems (with their raw lines, kept by compaction) and claims."""

    entries: dict[str, LedgerEntry] = field(default_factory=dict)
    problems: dict[str, tuple[LedgerProblem, bytes]] = field(default_factory=dict)
    claims: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    lines: int = 0

    def live_lines(self) -> int:
        return sum(1 for e in self.entries.values() if e.pending) * 2 + len(self.problems) + len(self.claims)


class Ledger:
    """One ledger file. Cheap to construct (touches nothing until used)."""

    def __init__(self, path: Path | str | None = None, *, clock: Callable[[], float] = time.time):
        self.path = Path(path) if path is not None else default_ledger_path()
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._clock = clock

    # -- writing -------------------------------------------------------------------------

    def record_pending(self, record: FaultRecord) -> str:
        """Durably record a fault about to be applied; returns its id. Call BEFORE applying."""
        entry_id = uuid.uuid4().hex
        line = {"v": _FORMAT, "op": "pending", "id": entry_id, "run_id": record.run_id, "fault": record.fault,
                "target": record.target, "revert": dict(record.revert), "at": self._clock(), **_owner()}
        with self._locked(exclusive=True):
            self._append(line)
        log.debug("ledger.recorded", id=entry_id, run_id=record.run_id, fault=record.fault, target=record.target)
        return entry_id

    def mark_reverted(self, entry_id: str, *, by: str = "") -> bool:
        """Record that ``entry_id`` was reverted; False if it already was (idempotent). KeyError if unknown.

        ``by`` names who reverted it when that was not its run (``guard``, ``rollback``, ``halt``).
        """
        with self._locked(exclusive=True):
            state = self._read()
            entry = state.entries.get(entry_id)
            if entry is None:
                raise KeyError(f"no ledger entry {entry_id!r} in {self.path}")
            if not entry.pending:
                return False
            self._append({"v": _FORMAT, "op": "reverted", "id": entry_id, "at": self._clock(),
                          **({"by": by} if by else {})})
            self._compact_if_worth_it(state)
        log.debug("ledger.reverted", id=entry_id, by=by or "run")
        return True

    def record_revert_failure(self, entry_id: str, error: str) -> None:
        """Note a failed revert attempt; the entry stays pending (``chaoskit rollback`` shows the error)."""
        with self._locked(exclusive=True):
            if entry_id not in self._read().entries:
                raise KeyError(f"no ledger entry {entry_id!r} in {self.path}")
            self._append({"v": _FORMAT, "op": "revert_failed", "id": entry_id, "error": error, "at": self._clock()})

    def forget(self, name: str) -> str:
        """Drop a pending entry or a problem line on purpose (nothing is reverted); what was dropped. KeyError if none."""
        with self._locked(exclusive=True):
            state = self._read()
            entry = state.entries.get(name)
            if entry is not None and entry.pending:
                what = entry.describe()
            elif name in state.problems:
                what = state.problems[name][0].describe(self.path)
            else:
                raise KeyError(f"nothing pending is named {name!r} in {self.path}")
            self._append({"v": _FORMAT, "op": "forgotten", "id": name, "at": self._clock()})
            self._compact_if_worth_it(state)
        log.warning("ledger.forgotten", path=str(self.path), name=name, what=what)
        return what

    def claim(self, run_id: str) -> None:
        """Start a run on this ledger: LedgerNotClean unless nothing is pending and no other run is live.

        Checked and written under one lock, so of two runs started together one refuses.
        """
        with self._locked(exclusive=True):
            state = self._read()
            _require_clean(self.path, state)
            for other, claim in state.claims.items():
                if other != run_id and process_alive(claim.get("pid"), claim.get("host", ""), claim.get("started")):
                    raise LedgerNotClean(
                        f"run {other} (pid {claim.get('pid')}) is in progress on ledger {self.path}; runs on one "
                        f"ledger take turns: wait for it, stop it (`chaoskit halt`), or give this one its own ledger")
            self._append({"v": _FORMAT, "op": "claim", "run_id": run_id, "at": self._clock(), **_owner()})

    def release(self, run_id: str) -> None:
        """End a run's claim (idempotent)."""
        with self._locked(exclusive=True):
            state = self._read()
            if run_id in state.claims:
                self._append({"v": _FORMAT, "op": "release", "run_id": run_id, "at": self._clock()})
                self._compact_if_worth_it(state)

    def compact(self) -> int:
        """Drop finished records (rewrite + atomic rename); returns how many lines were dropped."""
        with self._locked(exclusive=True):
            return self._compact(self._read())

    # -- reading ---------------------------------------------------------------------------

    def entries(self) -> list[LedgerEntry]:
        """Every entry, reverted or not, in the order recorded."""
        with self._locked(exclusive=False):
            return list(self._read().entries.values())

    def pending(self, run_id: str | None = None) -> list[LedgerEntry]:
        """Entries not yet reverted (of one run, if given), in the order recorded."""
        return [e for e in self.entries() if e.pending and (run_id is None or e.run_id == run_id)]

    def problems(self) -> list[LedgerProblem]:
        """Lines that cannot be trusted (corrupt, unknown), not forgotten yet."""
        with self._locked(exclusive=False):
            return [problem for problem, _ in self._read().problems.values()]

    def require_clean(self) -> None:
        """LedgerNotClean, saying what is pending and how to fix it, unless nothing is pending or unreadable."""
        with self._locked(exclusive=False):
            _require_clean(self.path, self._read())

    # -- internals ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        created_dirs = _make_dirs(self.path.parent)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            if created_dirs:
                for directory in created_dirs:
                    _fsync_dir(directory.parent)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def _append(self, line: Mapping[str, Any]) -> None:
        data = encode(line)  # fails on anything not JSON-serialisable, before a byte is written
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data  # a torn line from a crash: start ours on a fresh line so it stays readable
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if not size:
            _fsync_dir(self.path.parent)  # the file's name must survive a crash too

    def _read(self) -> _State:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return _State()
        state = _State()
        lines = raw.split(b"\n")
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            state.lines += 1
            try:
                _replay(state, decode(text))
            except (ValueError, KeyError, TypeError) as exc:
                if number == len(lines):  # the last chunk, with no newline after it: a write cut short
                    log.warning("ledger.torn_line", path=str(self.path), line=number, error=str(exc))
                    continue
                problem = LedgerProblem(problem_name(text), number, _reason(exc))
                state.problems[problem.name] = (problem, text)
                log.error("ledger.bad_line", path=str(self.path), line=number, name=problem.name, error=problem.reason)
        return state

    def _compact_if_worth_it(self, state: _State) -> None:
        """Compact once finished lines outnumber live ones (and COMPACT_AFTER); ``state`` is from before the op's line."""
        live = state.live_lines()
        if state.lines + 1 - live > max(COMPACT_AFTER, live):
            self._compact(self._read())

    def _compact(self, state: _State) -> int:
        keep: list[bytes] = []
        for e in state.entries.values():
            if not e.pending:
                continue
            keep.append(encode({"v": _FORMAT, "op": "pending", "id": e.id, "run_id": e.run_id, "fault": e.fault,
                                "target": e.target, "revert": dict(e.revert), "at": e.recorded_at, "pid": e.pid,
                                "host": e.host, **({"started": e.started} if e.started is not None else {}),
                                **e.extra}))
            if e.revert_attempts_failed:
                keep.append(encode({"v": _FORMAT, "op": "revert_failed", "id": e.id, "error": e.last_error,
                                    "at": e.recorded_at, "count": e.revert_attempts_failed}))
        keep.extend(text + b"\n" for _, text in state.problems.values())
        keep.extend(encode({"v": _FORMAT, **claim}) for run_id, claim in state.claims.items()
                    if process_alive(claim.get("pid"), claim.get("host", ""), claim.get("started")) is not False)
        dropped = state.lines - len(keep)
        if dropped <= 0:
            return 0
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            _write_all(fd, b"".join(keep))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)
        log.debug("ledger.compacted", path=str(self.path), dropped=dropped, kept=len(keep))
        return dropped


_PENDING_KEYS = {"v", "op", "id", "run_id", "fault", "target", "revert", "at", "pid", "host", "started"}


def _replay(state: _State, op: dict[str, Any]) -> None:
    kind = op["op"]
    entries = state.entries
    if kind == "pending":
        if not isinstance(op["revert"], dict):
            raise TypeError("its revert record is not an object")
        entries[op["id"]] = LedgerEntry(
            id=op["id"], run_id=op["run_id"], fault=op["fault"], revert=op["revert"], target=op.get("target", ""),
            recorded_at=op["at"], pid=op.get("pid"), host=op.get("host", ""), started=op.get("started"),
            extra={k: v for k, v in op.items() if k not in _PENDING_KEYS})
    elif kind == "reverted":
        if op["id"] in entries:
            entries[op["id"]] = replace(entries[op["id"]], reverted_at=op["at"], reverted_by=op.get("by", ""))
    elif kind == "revert_failed":
        if op["id"] in entries:
            entry = entries[op["id"]]
            entries[op["id"]] = replace(entry, revert_attempts_failed=entry.revert_attempts_failed
                                        + int(op.get("count", 1)), last_error=op.get("error"))
    elif kind == "forgotten":
        if op["id"] in entries:
            entries[op["id"]] = replace(entries[op["id"]], forgotten=True)
        state.problems.pop(op["id"], None)
    elif kind == "claim":
        state.claims[op["run_id"]] = {k: op[k] for k in ("op", "run_id", "at", "pid", "host", "started") if k in op}
    elif kind == "release":
        state.claims.pop(op["run_id"], None)
    else:
        raise ValueError(f"unknown record {kind!r}")


def _require_clean(path: Path, state: _State) -> None:
    pending = [e for e in state.entries.values() if e.pending]
    problems = [p for p, _ in state.problems.values()]
    if problems:
        raise LedgerNotClean(
            f"{len(problems)} unreadable record(s) in the ledger: " + "; ".join(p.describe(path) for p in problems[:5])
            + ". Run `chaoskit rollback` to revert what can be read, then forget them.")
    if pending:
        listed = "; ".join(e.describe() for e in pending[:5]) + (
            f"; ... ({len(pending) - 5} more)" if len(pending) > 5 else "")
        raise LedgerNotClean(f"{len(pending)} un-reverted fault(s) from an earlier run in {path}: {listed}. "
                             f"Run `chaoskit rollback` to revert them first.")


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"record without {exc}"
    return f"unreadable record: {exc}" if not str(exc).startswith("unknown") else str(exc)


def _owner() -> dict[str, Any]:
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "started": process_started(pid)}


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _make_dirs(directory: Path) -> list[Path]:
    """mkdir -p; returns the directories created, outermost first (their parents need an fsync)."""
    missing = []
    probe = directory
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o755)
    return list(reversed(missing))


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
