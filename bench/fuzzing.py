"""Hostile variants of a YAML file, for fuzzing the loaders: bench/fuzz_bench.py and the property tests share them.

Each mutation is one small, plausible way a file goes wrong (a typo, a value of
the wrong type, a YAML 1.1 surprise) or an attack on the parser itself (deep
nesting, an alias bomb, huge numbers). Pure: a seeded ``random.Random`` in,
text out.
"""

from __future__ import annotations

import random
from collections.abc import Callable

__all__ = ["HOSTILE_VALUES", "MUTATIONS", "mutate"]

# Values a field should refuse with a problem, never a traceback.
HOSTILE_VALUES = (
    "yes", "on", "010", "1:30", "1_000", "0b11", ".inf", "-.inf", ".nan", "1e400", "9" * 400, "-1", "0",
    "''", "null", "~", "[]", "{}", "[[[[1]]]]", "{a: {b: {c: 1}}}", '"\\0"', '"' + "x" * 70_000 + '"',
    "!!binary aGVsbG8=", "!!python/object:os.system ls", "&a [*a]", "*undefined", "<<: 3", "2026-12-04",
    '"${undefined}"', '"$${x}"', "'http://'", "'https://[::1'", "1e-400", "true", "-0.0", "0x7fffffffffffffff",
)


def _replace_value(rng: random.Random, lines: list[str]) -> None:
    candidates = [i for i, line in enumerate(lines) if ":" in line and not line.rstrip().endswith(":")]
    if candidates:
        i = rng.choice(candidates)
        key = lines[i].split(":", 1)[0]
        lines[i] = f"{key}: {rng.choice(HOSTILE_VALUES)}"


def _delete_line(rng: random.Random, lines: list[str]) -> None:
    if lines:
        del lines[rng.randrange(len(lines))]


def _duplicate_line(rng: random.Random, lines: list[str]) -> None:
    if lines:
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])


def _indent(rng: random.Random, lines: list[str]) -> None:
    if lines:
        i = rng.randrange(len(lines))
        lines[i] = " " * rng.choice((1, 2, 4)) + lines[i] if rng.random() < 0.5 else lines[i].lstrip()


def _flip_bytes(rng: random.Random, lines: list[str]) -> None:
    if lines:
        i = rng.randrange(len(lines))
        chars = list(lines[i]) or [" "]
        chars[rng.randrange(len(chars))] = rng.choice(":-[]{}&*!|>'\"#%@`,?\t\x00\x7f\u00e9\ufeff")
        lines[i] = "".join(chars)


def _deep_nesting(rng: random.Random, lines: list[str]) -> None:
    depth = rng.choice((65, 300, 2000))
    lines.append("deep: " + "[" * depth + "]" * depth)


def _alias_bomb(rng: random.Random, lines: list[str]) -> None:
    lines.append("l0: &l0 [x, x, x, x, x, x, x, x, x]")
    for level in range(1, rng.choice((5, 9))):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")


def _wrong_shape(rng: random.Random, lines: list[str]) -> None:
    candidates = [i for i, line in enumerate(lines) if line.rstrip().endswith(":")]
    if candidates:
        i = rng.choice(candidates)
        lines.insert(i + 1, " " * (len(lines[i]) - len(lines[i].lstrip()) + 2) + rng.choice(
            ("- 1", "42", "- {}", "'text'", "- - - x")))


MUTATIONS: tuple[Callable[[random.Random, list[str]], None], ...] = (
    _replace_value, _replace_value, _replace_value, _delete_line, _duplicate_line, _indent, _flip_bytes,
    _wrong_shape, _deep_nesting, _alias_bomb,
)


def mutate(text: str, rng: random.Random, count: int = 3) -> str:
    """``text`` with ``count`` mutations chosen by ``rng``."""
    lines = text.splitlines()
    for _ in range(count):
        rng.choice(MUTATIONS)(rng, lines)
    return "\n".join(lines) + "\n"
