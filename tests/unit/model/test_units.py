"""Units: durations, sizes, fractions and signals as people write them."""

from __future__ import annotations

import pytest

from chaoskit.model.units import (
    parse_bytes,
    parse_duration,
    parse_fraction,
    parse_signal,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10s", 10.0),
        ("500ms", 0.5),
        ("2m", 120.0),
        ("1m30s", 90.0),
        ("250us", 0.00025),
        ("1h", 3600.0),
        (3, 3.0),
        (0.25, 0.25),
        ("1.5", 1.5),
        (" 2 s ", 2.0),
        (0, 0.0),
    ],
)
def test_duration_accepts_units_and_plain_seconds(text: object, seconds: float) -> None:
    """Durations with s/ms/m/h/us units, compound forms and bare numbers become seconds."""
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["10x", "s", "", "-1s", -2, True, None, [1], "1s2x", "nan", "inf"])
def test_duration_rejects_what_is_not_one(text: object) -> None:
    """Unknown units, negatives, booleans and non-finite values are refused with what was expected."""
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [(4096, 4096), ("512MiB", 512 * 1024**2), ("1.5GB", 1_500_000_000), ("10k", 10_000), ("1gib", 1024**3), ("7", 7)],
)
def test_bytes_accepts_si_and_binary_prefixes(text: object, size: int) -> None:
    """Sizes accept SI (kB, MB) and binary (KiB, MiB) prefixes case-insensitively."""
    assert parse_bytes(text) == size


@pytest.mark.parametrize("text", ["12 parsecs", "-1", -5, True, "MB"])
def test_bytes_rejects_nonsense(text: object) -> None:
    """Unknown units, negative sizes and booleans are refused."""
    with pytest.raises(ValueError, match="size"):
        parse_bytes(text)


def test_fraction_reads_percentages() -> None:
    """'5%' is 0.05 and a bare number is taken as a fraction."""
    assert parse_fraction("5%") == pytest.approx(0.05)
    assert parse_fraction(0.2) == 0.2
    assert parse_fraction("0.5") == 0.5
    with pytest.raises(ValueError):
        parse_fraction("lots")


@pytest.mark.parametrize(
    ("given", "name"),
    [("SIGKILL", "SIGKILL"), ("kill", "SIGKILL"), ("TERM", "SIGTERM"), (9, "SIGKILL"), ("15", "SIGTERM")],
)
def test_signal_names_are_canonical(given: object, name: str) -> None:
    """Signals given by name, short name or number come out as SIGNAME."""
    assert parse_signal(given) == name


@pytest.mark.parametrize("given", ["SIGNOPE", 999, 1.5, None])
def test_signal_rejects_unknown(given: object) -> None:
    """Unknown signal names and numbers are refused."""
    with pytest.raises(ValueError, match="signal"):
        parse_signal(given)
