"""The ledger's line format: one JSON object per line, led by a CRC-32 of the rest of the line.

::

    {"crc":"1c291ca3","at":1700000000.1,"id":"…","op":"pending",…}

The checksum covers every byte after ``{"crc":"XXXXXXXX",`` up to the end of
the line, so checking it needs no re-encoding (reading 20,000 lines stays
cheap). A line that fails it, or does not parse, is *corrupt*: reported with
a stable name (``line-`` and a digest of its bytes) that ``chaoskit rollback
--forget`` accepts, never skipped in silence. Lines written before checksums
existed (no ``crc``) are read as they are. The one exception is a torn last
line (no newline after it): a crash interrupted its write, so the act it
announced never happened.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["LedgerProblem", "decode", "encode", "problem_name"]

_PREFIX = b'{"crc":"'
_HEAD = len(_PREFIX) + 8 + 2  # {"crc":"XXXXXXXX",


@dataclass(frozen=True)
class LedgerProblem:
    """A line of the ledger that cannot be trusted: corrupt, or a record this version does not know."""

    name: str  # stable: what `chaoskit rollback --forget` takes
    line: int
    reason: str

    def describe(self, path: object) -> str:
        return f"{path}:{self.line}: {self.reason} (forget it with `chaoskit rollback --forget {self.name}`)"


def encode(record: Mapping[str, Any]) -> bytes:
    """One line, checksummed; TypeError for anything not JSON-serialisable (before a byte is written)."""
    if "crc" in record:
        raise TypeError("'crc' is the ledger's own field")
    try:
        body = json.dumps(record, separators=(",", ":"), sort_keys=True, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise TypeError(f"ledger entries must be JSON-serialisable: {exc}") from exc
    rest = body[1:]  # without the opening brace: the line goes on after the checksum
    if rest == b"}":
        raise TypeError("a ledger record cannot be empty")
    return _PREFIX + b"%08x" % zlib.crc32(rest) + b'",' + rest + b"\n"


def decode(raw: bytes) -> dict[str, Any]:
    """The record of one line (without its newline); ValueError says why it cannot be trusted."""
    if raw.startswith(_PREFIX):
        if raw[_HEAD - 2:_HEAD] != b'",':
            raise ValueError("malformed checksum")
        if b"%08x" % zlib.crc32(raw[_HEAD:]) != raw[len(_PREFIX):_HEAD - 2]:
            raise ValueError("checksum mismatch")
    record = json.loads(raw)
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    record.pop("crc", None)
    return record


def problem_name(raw: bytes) -> str:
    """A corrupt line's stable name: the same bytes give the same name, wherever compaction moves them."""
    return "line-" + hashlib.sha256(raw).hexdigest()[:12]
