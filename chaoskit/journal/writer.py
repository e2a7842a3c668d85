"""Writing journals: appended and fsync'd record by record while the run lasts, one JSON document once it ends.

While a run, monkey or game day is going, its journal file is JSON lines:
the first line is the document's header (what is known at the start, with
its lists empty), each later line ``{"append": LIST, "item": {...}}`` adds
one item to one of those lists. Every line is flushed and fsync'd as it is
written, so a run killed with SIGKILL (or a host that lost power) leaves a
journal readable up to its last record. When the run ends, the whole
document is written in one piece (atomically, over the lines), which is the
shape every finished journal has: one JSON object. A journal still in lines
therefore means the writer never finished: the reader marks it crashed.

Every record passes through :meth:`JournalFile._encode`, which replaces the
run's secrets (header values, URL passwords, ``${env:...}`` values, secret
variables) with ``***``: a journal, and every report rendered from it, never
holds them.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from chaoskit import __version__
from chaoskit.journal.encode import now, plain
from chaoskit.log import redact

__all__ = ["GamedayJournal", "JournalFile", "MonkeyJournal", "RunJournal", "append_if_unfinished"]

Clock = Callable[[], float]


class JournalFile:
    """One journal document, mirrored to ``path`` line by line; ``path`` None keeps it in memory (tests, benches).

    ``secrets``: values written as ``***`` wherever they occur."""

    def __init__(self, path: str | Path | None, header: Mapping[str, Any], secrets: frozenset[str] = frozenset()):
        self.path = Path(path) if path is not None else None
        self.secrets = secrets
        self.data: dict[str, Any] = self._encode(header)
        self._file = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("w", encoding="utf-8")
            self._line(self.data)

    def append(self, key: str, item: Mapping[str, Any]) -> None:
        """Add ``item`` to the list ``key``; it is on disk when this returns."""
        item = self._encode(item)
        self.data.setdefault(key, []).append(item)
        if self._file is not None:
            self._line({"append": key, "item": item})

    def finish(self, fields: Mapping[str, Any]) -> Path | None:
        """Add the closing ``fields`` and replace the lines with the finished document (atomically)."""
        self.data.update(self._encode(fields))
        if self.path is None:
            return None
        if self._file is not None:
            self._file.close()
            self._file = None
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with tmp.open("w", encoding="utf-8") as out:
            # Written piece by piece: a Streamed list (a day of load buckets) is never in memory whole.
            for chunk in json.JSONEncoder(indent=1, default=str).iterencode(self.data):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        return self.path

    def _encode(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The one way a record becomes JSON values: plain, then the secrets masked."""
        return redact(plain(dict(record)), self.secrets)

    def _line(self, record: Mapping[str, Any]) -> None:
        assert self._file is not None
        # One line per record: a newline inside a value is escaped by JSON, so a line is a whole record.
        self._file.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())


def append_if_unfinished(path: str | Path, key: str, item: Mapping[str, Any]) -> bool:
    """Add one item to a journal another process is writing, if it is still in lines; False if finished or absent.

    For a run's guard: its controller died mid-run, so the journal is still lines.
    A finished journal (one JSON document) is left alone.
    """
    try:
        with open(path, "rb+") as handle:
            if handle.read(2) != b'{"':  # a finished document starts '{' then a newline (indent=1)
                return False
            size = handle.seek(0, os.SEEK_END)
            tail_at = handle.seek(max(0, size - (1 << 20)))
            whole_to = handle.read().rfind(b"\n")
            if whole_to < 0:
                return False
            # A line cut short by the kill is dropped (the reader would stop there): ours follows the last whole one.
            handle.truncate(tail_at + whole_to + 1)
            handle.seek(0, os.SEEK_END)
            handle.write((json.dumps({"append": key, "item": plain(dict(item))}, default=str,
                                     separators=(",", ":")) + "\n").encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
    except FileNotFoundError:
        return False
    return True


class _Timed:
    """Events stamped with the run's clock (``t``, seconds since start) and the wall clock (``at``)."""

    file: JournalFile

    def __init__(self, elapsed: Clock | None):
        self._elapsed = elapsed or (lambda: 0.0)

    @property
    def path(self) -> Path | None:
        return self.file.path

    @property
    def data(self) -> dict[str, Any]:
        return self.file.data

    def bind_clock(self, elapsed: Clock) -> None:
        self._elapsed = elapsed

    def event(self, name: str, **fields: Any) -> None:
        self.file.append("events", {"t": round(self._elapsed(), 3), "at": now(), "event": name, **fields})


class RunJournal(_Timed):
    """An experiment run's journal: the experiment, environment, events, observations, then verdict, facts, load
    and Prometheus readings."""

    def __init__(self, experiment: Any, path: str | Path | None, elapsed: Clock | None = None,
                 environment: Mapping[str, Any] | None = None):
        super().__init__(elapsed)
        self.run_id = uuid.uuid4().hex[:12]
        secrets = getattr(experiment, "secrets", frozenset())
        self.file = JournalFile(path, {
            "chaoskit": __version__, "run_id": self.run_id, "experiment": _without_secrets(experiment),
            "environment": environment or {}, "started_at": now(), "events": [], "observations": [],
        }, secrets)

    def observation(self, observation: Any) -> None:
        self.file.append("observations", plain(observation))

    def finish(self, verdict: Any, facts: Any, load: Mapping[str, Any] | None = None,
               prometheus: list[Mapping[str, Any]] | None = None) -> Path | None:
        """Close the journal; ``prometheus``: each Prometheus probe's readings and figures (chaoskit.run.readings)."""
        closing: dict[str, Any] = {
            "finished_at": now(), "verdict": verdict,
            "facts": {k: v for k, v in plain(facts).items() if k != "results"},  # results: already observations
        }
        if load is not None:
            closing["load"] = load
        if prometheus is not None:
            closing["prometheus"] = prometheus
        return self.file.finish(closing)


def _without_secrets(experiment: Any) -> Any:
    """The experiment as journaled: its ``secrets`` field left out (masked, it would only say how many)."""
    fields = plain(experiment)
    if isinstance(fields, dict):
        fields.pop("secrets", None)
    return fields


class MonkeyJournal(_Timed):
    """A monkey's journal (``"kind": "monkey"``): its header, events and judged kills, then summary and verdict.

    Times ``t`` are seconds since the monkey started (real time); ``virtual_at``
    in events is the monkey's schedule clock (compressed by ``--time-scale``).
    """

    def __init__(self, path: str | Path | None, header: Mapping[str, Any], elapsed: Clock | None = None):
        super().__init__(elapsed)
        self.run_id = f"monkey-{uuid.uuid4().hex[:8]}"
        self.file = JournalFile(path, {"kind": "monkey", "chaoskit": __version__, "run_id": self.run_id,
                                       **header, "started_at": now(), "events": [], "kills": []})

    def kill(self, record: Mapping[str, Any]) -> None:
        """A judged kill."""
        self.file.append("kills", record)

    def finish(self, **fields: Any) -> Path | None:
        return self.file.finish({"finished_at": now(), **fields})


class GamedayJournal:
    """A game day's journal: what it plans, one entry per experiment as it ends, then the combined outcome."""

    def __init__(self, path: str | Path, title: str, source: str, planned: int, secrets: frozenset[str] = frozenset()):
        self.file = JournalFile(path, {"gameday": title, "source": source, "started_at": now(), "planned": planned,
                                       "experiments": []}, secrets)

    def entry(self, file: str, title: str, verdict: str, exit_code: int, reasons: list[str],
              journal: str | None, expected: str = "TOLERATED") -> None:
        """One experiment's result and the verdict it expected; ``journal`` is its run journal's name, relative
        to the game day's folder."""
        self.file.append("experiments", {"file": file, "title": title, "verdict": verdict, "exit_code": exit_code,
                                         "expected": expected, "reasons": reasons, "journal": journal})

    def finish(self, verdict: str, exit_code: int, as_expected: bool, summary: str, surprises: list[str]) -> Path:
        """``verdict`` the worst of the entries'; ``exit_code`` the game day's (0 when ``as_expected``)."""
        path = self.file.finish({"finished_at": now(), "verdict": verdict, "exit_code": exit_code,
                                 "as_expected": as_expected, "summary": summary, "surprises": surprises})
        assert path is not None
        return path
