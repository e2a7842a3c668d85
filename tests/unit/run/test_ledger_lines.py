"""The ledger's line format: checksummed JSON that reads without re-encoding."""

from __future__ import annotations

import json

import pytest

from chaoskit.run.ledger_lines import decode, encode, problem_name


def test_a_line_round_trips_and_stays_json() -> None:
    """encode() then decode() gives the record back; the line is plain JSON with a crc field first."""
    line = encode({"op": "pending", "id": "x", "revert": {"a": [1, 2]}})
    assert line.startswith(b'{"crc":"') and line.endswith(b"\n")
    assert decode(line.rstrip(b"\n")) == {"op": "pending", "id": "x", "revert": {"a": [1, 2]}}
    assert json.loads(line)["op"] == "pending"


def test_any_changed_byte_fails_the_checksum() -> None:
    """One altered byte anywhere after the checksum is caught."""
    line = encode({"op": "pending", "id": "abc"}).rstrip(b"\n")
    for index in range(len(b'{"crc":"12345678",'), len(line) - 1):
        altered = line[:index] + bytes([line[index] ^ 0x01]) + line[index + 1:]
        with pytest.raises(ValueError):
            decode(altered)


def test_lines_without_a_checksum_are_read_as_they_are() -> None:
    """Ledgers written before checksums stay readable."""
    assert decode(b'{"op":"reverted","id":"x","at":1}') == {"op": "reverted", "id": "x", "at": 1}


def test_problem_names_are_stable() -> None:
    assert problem_name(b"{broken") == problem_name(b"{broken") != problem_name(b"{broken2")
