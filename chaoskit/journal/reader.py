"""Reading journals: one file in, one frozen record out, or :class:`JournalUnreadable` naming the file and the fault.

Both shapes a writer leaves are read: the finished document (one JSON
object) and the JSON lines of a journal whose writer never finished (see
:mod:`chaoskit.journal.writer`). In lines, a last line cut short by the crash
is dropped (the record says ``truncated``); any other line that is not a
whole record makes the file unreadable, as does a value of the wrong type
anywhere the reports look. Unknown keys are ignored, so journals from a newer
chaoskit still read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from chaoskit.errors import JournalUnreadable
from chaoskit.journal.records import (
    Check,
    Event,
    ExperimentRecord,
    Facts,
    GamedayItem,
    GamedayRecord,
    LoadRecord,
    MonkeyRecord,
    Observation,
    Outcome,
    ProbeDefinition,
    RunRecord,
    Step,
)

__all__ = ["Record", "parse_journal", "read_journal"]

Record = RunRecord | GamedayRecord | MonkeyRecord
_T = TypeVar("_T")


def read_journal(path: str | Path) -> Record:
    """The journal at ``path``, parsed; :class:`JournalUnreadable` says which file and what is wrong."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise JournalUnreadable(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JournalUnreadable(f"{path}: not a journal: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    data, truncated = _document(str(path), text)
    return parse_journal(data, str(path), truncated)


def parse_journal(data: Any, path: str = "", truncated: bool = False) -> Record:
    """A journal document already decoded from JSON (what :func:`read_journal` does after reading the file)."""
    node = _Node(path, "", data if isinstance(data, Mapping) else _fail_top(path))
    if "gameday" in data:
        return _gameday(node, truncated)
    if data.get("kind") == "monkey":
        return _monkey(node, truncated)
    if "experiment" in data or "run_id" in data or "verdict" in data:
        return _run(node, truncated)
    raise JournalUnreadable(f"{path}: neither a run, monkey nor game-day journal "
                            f"(keys: {', '.join(sorted(map(str, data))) or 'none'})")


def _fail_top(path: str) -> NoReturn:
    raise JournalUnreadable(f"{path}: not a journal (expected a JSON object)")


# -- the file: one document, or lines -------------------------------------------------


def _loads(text: str) -> Any:
    """JSON, with the failures a hostile file can cause (depth, huge numbers) as ValueError."""
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc


def _document(path: str, text: str) -> tuple[Any, bool]:
    if not text.strip():
        raise JournalUnreadable(f"{path}: not a journal: the file is empty")
    try:
        return _loads(text), False
    except ValueError as whole:
        first, _, _ = text.partition("\n")
        try:
            header = _loads(first)
        except ValueError:
            raise JournalUnreadable(f"{path}: not a JSON journal: {whole}") from whole
        if not isinstance(header, dict):
            raise JournalUnreadable(f"{path}: not a JSON journal: {whole}") from whole
        return _replay(path, header, text.split("\n")[1:])


def _replay(path: str, document: dict[str, Any], lines: list[str]) -> tuple[dict[str, Any], bool]:
    """The header with every appended item put in its list; a cut-short last line is dropped."""
    last = len(lines) - 1
    for index, line in enumerate(lines):
        number = index + 2
        if index == last and not line:
            break  # the file ends with a newline: every line is whole
        try:
            record = _loads(line)
        except ValueError as exc:
            if index == last:
                return document, True  # the write the crash interrupted
            raise JournalUnreadable(f"{path}: line {number}: not JSON: {exc}") from exc
        key = record.get("append") if isinstance(record, dict) else None
        if not isinstance(key, str) or "item" not in record or not isinstance(document.get(key), list):
            raise JournalUnreadable(f"{path}: line {number}: expected {{\"append\": LIST, \"item\": ...}} "
                                    f"naming one of the header's lists")
        document[key].append(record["item"])
    return document, False


# -- typed values ----------------------------------------------------------------------


class _Node:
    """A JSON object of the journal, with where it is, so every complaint names the file and the key."""

    def __init__(self, path: str, where: str, data: Mapping[str, Any]):
        self.path, self.where, self.data = path, where, data

    def fail(self, key: str, expected: str) -> NoReturn:
        shown = repr(self.data.get(key))
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise JournalUnreadable(f"{self.path}: {self.where}{key}: expected {expected}, got {shown}")

    def _get(self, key: str, test: Callable[[Any], bool], expected: str) -> Any:
        value = self.data.get(key)
        if value is not None and not test(value):
            self.fail(key, expected)
        return value

    def text(self, key: str) -> str:
        return self._get(key, lambda v: isinstance(v, str), "text") or ""

    def optional_text(self, key: str) -> str | None:
        return self._get(key, lambda v: isinstance(v, str), "text")

    def number(self, key: str) -> float | None:
        value = self._get(key, _is_number, "a finite number")
        return None if value is None else float(value)

    def required_number(self, key: str) -> float:
        value = self.number(key)
        if value is None:
            self.fail(key, "a finite number")
        return value

    def integer(self, key: str) -> int | None:
        return self._get(key, lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer")

    def flag(self, key: str) -> bool:
        return bool(self.optional_flag(key))

    def optional_flag(self, key: str) -> bool | None:
        return self._get(key, lambda v: isinstance(v, bool), "true or false")

    def mapping(self, key: str) -> Mapping[str, Any]:
        return self._get(key, lambda v: isinstance(v, dict), "an object") or {}

    def child(self, key: str) -> _Node:
        return _Node(self.path, f"{self.where}{key}.", self.mapping(key))

    def texts(self, key: str) -> tuple[str, ...]:
        return tuple(self._get(key, lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
                               "a list of texts") or ())

    def maps(self, key: str) -> tuple[Mapping[str, Any], ...]:
        return tuple(self._get(key, lambda v: isinstance(v, list) and all(isinstance(i, dict) for i in v),
                               "a list of objects") or ())

    def nodes(self, key: str, parse: Callable[[_Node], _T]) -> tuple[_T, ...]:
        return tuple(parse(_Node(self.path, f"{self.where}{key}[{i}].", item))
                     for i, item in enumerate(self.maps(key)))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# -- run journals ----------------------------------------------------------------------------

_EVENT_KEYS = frozenset({"t", "at", "event"})


def _event(node: _Node) -> Event:
    name = node.text("event")
    if not name:
        node.fail("event", "the event's name")
    return Event(node.required_number("t"), name, node.text("at"),
                 {k: v for k, v in node.data.items() if k not in _EVENT_KEYS})


def _observation(node: _Node) -> Observation:
    return Observation(probe=node.text("probe"), t=node.required_number("t"), phase=node.text("phase").upper(),
                       ok=node.flag("ok"), inconclusive=node.flag("inconclusive"), detection=node.flag("detection"),
                       value=node.data.get("value"), detail=node.text("detail"), hypothesis=node.text("hypothesis"))


def _probe(node: _Node) -> ProbeDefinition:
    name = node.text("name")
    if not name:
        node.fail("name", "the probe's name")
    metric = node.text("metric")
    checks = node.nodes("checks", lambda c: Check(c.text("subject") or metric, c.mapping("tolerance")))
    return ProbeDefinition(name, node.text("type"), metric, checks)


def _step(node: _Node) -> Step:
    return Step(fault=node.text("fault"), name=node.text("name"), params=node.mapping("params"),
                target=node.data.get("target"), start=node.number("start") or 0.0, duration=node.number("duration"))


def _experiment(node: _Node) -> ExperimentRecord:
    steady = node.child("steady_state")
    phases = node.child("phases")
    return ExperimentRecord(
        title=node.text("title"), description=node.text("description"), tags=node.texts("tags"),
        source=node.text("source"), hypothesis=steady.text("title"), probes=steady.nodes("probes", _probe),
        method=node.nodes("method", _step), phases={k: phases.required_number(k) for k in phases.data},
    )


def _outcome(node: _Node) -> Outcome | None:
    name = node.optional_text("verdict")
    if name is None:
        return None
    return Outcome(verdict=name, reasons=node.texts("reasons"), violations=node.maps("violations"),
                   time_to_detect_s=node.number("time_to_detect_s"), time_to_recover_s=node.number("time_to_recover_s"),
                   stopped_by=node.text("stopped_by"))


def _load(node: _Node) -> LoadRecord:
    return LoadRecord(info={k: v for k, v in node.data.items() if k not in ("buckets", "comparisons")},
                      buckets=node.maps("buckets"), comparisons=node.maps("comparisons"))


def _run(node: _Node, truncated: bool) -> RunRecord:
    facts = node.child("facts")
    return RunRecord(
        path=node.path, run_id=node.text("run_id"), chaoskit=node.text("chaoskit"),
        started_at=node.text("started_at"), finished_at=node.text("finished_at"),
        environment=node.mapping("environment"), experiment=_experiment(node.child("experiment")),
        events=node.nodes("events", _event), observations=node.nodes("observations", _observation),
        outcome=_outcome(node.child("verdict")),
        facts=Facts(fault_applied_at=facts.number("fault_applied_at"), reverted_at=facts.number("reverted_at"),
                    stopped_by=facts.text("stopped_by"), measurement_problems=facts.texts("measurement_problems")),
        load=_load(node.child("load")) if node.data.get("load") is not None else None,
        prometheus=node.maps("prometheus"), truncated=truncated,
    )


# -- game days and monkeys --------------------------------------------------------------------


def _item(node: _Node) -> GamedayItem:
    return GamedayItem(file=node.text("file"), title=node.text("title"), verdict=node.optional_text("verdict"),
                       exit_code=node.integer("exit_code"), reasons=node.texts("reasons"), journal=node.text("journal"),
                       expected=node.optional_text("expected"))


def _gameday(node: _Node, truncated: bool) -> GamedayRecord:
    return GamedayRecord(
        path=node.path, title=node.text("gameday") or "game day", source=node.text("source"),
        started_at=node.text("started_at"), finished_at=node.text("finished_at"),
        verdict=node.optional_text("verdict"), exit_code=node.integer("exit_code"), planned=node.integer("planned"),
        items=node.nodes("experiments", _item), truncated=truncated,
        as_expected=node.optional_flag("as_expected"),
        summary=node.text("summary"), surprises=node.texts("surprises"),
    )


def _monkey(node: _Node, truncated: bool) -> MonkeyRecord:
    return MonkeyRecord(
        path=node.path, run_id=node.text("run_id"), title=node.text("title"), started_at=node.text("started_at"),
        finished_at=node.text("finished_at"), events=node.nodes("events", _event), kills=node.maps("kills"),
        summary=node.mapping("summary"), verdict=node.optional_text("verdict"), reasons=node.texts("reasons"),
        truncated=truncated,
    )
