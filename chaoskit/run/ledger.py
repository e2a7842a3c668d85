"""The rollback ledger: a durable, append-only record of every fault that may still be applied.

Applying a fault and recording how to revert it are one act
(:class:`chaoskit.run.acts.FaultAct`, the only writer): it calls
:meth:`Ledger.record_pending` (written and fsynced, the directory too when the
file is created) *before* it touches the target, and :meth:`Ledger.mark_reverted`
after the revert succeeded. Whatever a crash, SIGKILL or power cut leaves behind
is in :meth:`Ledger.pending`, which ``chaoskit rollback`` reverts and
``chaoskit run`` refuses to start over (:meth:`Ledger.require_clean`).

Format: JSON lines, one operation each, replayed in order::

    {"op":"pending","id":"…","run_id":"…","fault":"container.kill","target":"…","revert":{…},"at":1700000000.1,"pid":42,"host":"…"}
    {"op":"revert_failed","id":"…","error":"…","at":…}
    {"op":"reverted","id":"…","at":…}

A crash mid-write can leave a torn last line: it is skipped when reading (its
fault was never applied, since the write had not returned), and the next
append starts on a fresh line. Writers take an exclusive ``flock`` on a
sidecar ``.lock`` file (not the ledger itself, so compaction can replace the
ledger by rename), so two processes never interleave lines.

Default location: ``$CHAOSKIT_LEDGER``; else ``/var/lib/chaoskit/ledger.jsonl``
when that directory is writable (or creatable); else
``$XDG_STATE_HOME/chaoskit/ledger.jsonl`` (``~/.local/state/...``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
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

__all__ = ["ENV_VAR", "FaultRecord", "Ledger", "LedgerEntry", "default_ledger_path"]

ENV_VAR = "CHAOSKIT_LEDGER"
SYSTEM_PATH = Path("/var/lib/chaoskit/ledger.jsonl")
_FORMAT = 1

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
    reverted_at: float | None = None
    revert_attempts_failed: int = 0
    last_error: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def pending(self) -> bool:
        return self.reverted_at is None

    def owner_alive(self) -> bool | None:
        """Whether the recording process still runs (None: recorded on another host, cannot tell).

        A pending entry whose owner is alive may belong to a run in progress, not a crash.
        """
        if self.pid is None or self.host != socket.gethostname():
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def describe(self) -> str:
        target = f" on {self.target}" if self.target else ""
        alive = ", still running" if self.owner_alive() else ""
        return f"{self.fault}{target} (run {self.run_id}, pid {self.pid} on {self.host or '?'}{alive})"


def default_ledger_path(env: Mapping[str, str] | None = None) -> Path:
    """Where the ledger lives by default (see the module docstring)."""
    env = os.environ if env is None else env
    if env.get(ENV_VAR):
        return Path(env[ENV_VAR]).expanduser()
    if _can_write_under(SYSTEM_PATH.parent):
        return SYSTEM_PATH
    state_home = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "state")
    return Path(state_home) / "chaoskit" / "ledger.jsonl"


def _can_write_under(directory: Path) -> bool:
    probe = directory
    while not probe.exists():  # the nearest existing ancestor decides whether we can create it
        if probe.parent == probe:
            return False
        probe = probe.parent
    return probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)


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
        line = {
            "v": _FORMAT,
            "op": "pending",
            "id": entry_id,
            "run_id": record.run_id,
            "fault": record.fault,
            "target": record.target,
            "revert": dict(record.revert),
            "at": self._clock(),
            "pid": os.getpid(),
            "host": socket.gethostname(),
        }
        with self._locked(exclusive=True):
            self._append(line)
        log.debug("ledger.recorded", id=entry_id, run_id=record.run_id, fault=record.fault, target=record.target)
        return entry_id

    def mark_reverted(self, entry_id: str) -> bool:
        """Record that ``entry_id`` was reverted; False if it already was (idempotent). KeyError if unknown."""
        with self._locked(exclusive=True):
            entry = self._read().get(entry_id)
            if entry is None:
                raise KeyError(f"no ledger entry {entry_id!r} in {self.path}")
            if not entry.pending:
                return False
            self._append({"v": _FORMAT, "op": "reverted", "id": entry_id, "at": self._clock()})
        log.debug("ledger.reverted", id=entry_id)
        return True

    def record_revert_failure(self, entry_id: str, error: str) -> None:
        """Note a failed revert attempt; the entry stays pending (``chaoskit rollback`` shows the error)."""
        with self._locked(exclusive=True):
            if entry_id not in self._read():
                raise KeyError(f"no ledger entry {entry_id!r} in {self.path}")
            self._append({"v": _FORMAT, "op": "revert_failed", "id": entry_id, "error": error, "at": self._clock()})

    def compact(self) -> int:
        """Drop reverted entries (rewrite + atomic rename); returns how many were dropped."""
        with self._locked(exclusive=True):
            entries = self._read()
            keep = [e for e in entries.values() if e.pending]
            dropped = len(entries) - len(keep)
            if dropped == 0:
                return 0
            lines = []
            for e in keep:
                lines.append(
                    {
                        "v": _FORMAT,
                        "op": "pending",
                        "id": e.id,
                        "run_id": e.run_id,
                        "fault": e.fault,
                        "target": e.target,
                        "revert": dict(e.revert),
                        "at": e.recorded_at,
                        "pid": e.pid,
                        "host": e.host,
                        **e.extra,
                    }
                )
                if e.revert_attempts_failed:
                    lines.append(
                        {
                            "v": _FORMAT,
                            "op": "revert_failed",
                            "id": e.id,
                            "error": e.last_error,
                            "at": e.recorded_at,
                            "count": e.revert_attempts_failed,
                        }
                    )
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            data = b"".join(_encode(line) for line in lines)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            _fsync_dir(self.path.parent)
        log.info("ledger.compacted", path=str(self.path), dropped=dropped, kept=len(keep))
        return dropped

    # -- reading ---------------------------------------------------------------------------

    def entries(self) -> list[LedgerEntry]:
        """Every entry, reverted or not, in the order recorded."""
        with self._locked(exclusive=False):
            return list(self._read().values())

    def pending(self, run_id: str | None = None) -> list[LedgerEntry]:
        """Entries not yet reverted (of one run, if given), in the order recorded."""
        return [e for e in self.entries() if e.pending and (run_id is None or e.run_id == run_id)]

    def require_clean(self) -> None:
        """LedgerNotClean, saying what is pending and how to fix it, unless nothing is pending."""
        pending = self.pending()
        if pending:
            listed = "; ".join(e.describe() for e in pending[:5]) + (
                f"; ... ({len(pending) - 5} more)" if len(pending) > 5 else ""
            )
            raise LedgerNotClean(
                f"{len(pending)} un-reverted fault(s) from an earlier run in {self.path}: {listed}. "
                f"Run `chaoskit rollback` to revert them first."
            )

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
        data = _encode(line)  # fails on anything not JSON-serialisable, before a byte is written
        created = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            if not created and not _ends_with_newline(self.path):
                # A torn line from a crash: start ours on a fresh line so it stays readable.
                data = b"\n" + data
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(self.path.parent)  # the file's name must survive a crash too

    def _read(self) -> dict[str, LedgerEntry]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        entries: dict[str, LedgerEntry] = {}
        lines = raw.split(b"\n")
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                op = json.loads(text)
                if not isinstance(op, dict):
                    raise ValueError("not an object")
                self._apply(entries, op)
            except (ValueError, KeyError, TypeError) as exc:
                torn = number == len(lines)  # the last chunk, with no newline after it
                log.warning(
                    "ledger.torn_line" if torn else "ledger.bad_line", path=str(self.path), line=number, error=str(exc)
                )
        return entries

    @staticmethod
    def _apply(entries: dict[str, LedgerEntry], op: dict[str, Any]) -> None:
        kind, entry_id = op["op"], op["id"]
        if kind == "pending":
            known = {"v", "op", "id", "run_id", "fault", "target", "revert", "at", "pid", "host"}
            entries[entry_id] = LedgerEntry(
                id=entry_id,
                run_id=op["run_id"],
                fault=op["fault"],
                revert=op["revert"],
                target=op.get("target", ""),
                recorded_at=op["at"],
                pid=op.get("pid"),
                host=op.get("host", ""),
                extra={k: v for k, v in op.items() if k not in known},
            )
        elif kind == "reverted" and entry_id in entries:
            entries[entry_id] = replace(entries[entry_id], reverted_at=op["at"])
        elif kind == "revert_failed" and entry_id in entries:
            entry = entries[entry_id]
            entries[entry_id] = replace(
                entry,
                revert_attempts_failed=entry.revert_attempts_failed + int(op.get("count", 1)),
                last_error=op.get("error"),
            )
        elif kind not in ("pending", "reverted", "revert_failed"):
            raise ValueError(f"unknown op {kind!r}")


def _encode(line: Mapping[str, Any]) -> bytes:
    try:
        return (json.dumps(line, separators=(",", ":"), sort_keys=True, allow_nan=False) + "\n").encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise TypeError(f"ledger entries must be JSON-serialisable: {exc}") from exc


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return True
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


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
