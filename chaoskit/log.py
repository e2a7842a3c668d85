"""Logging set-up: structlog everywhere, console on a TTY, JSON lines otherwise.

Event names are stable and dotted (``fault.applied``, ``fault.reverted``,
``hypothesis.violated``); tools and tests match on them, so rename with care.
Logs go to stderr so that stdout stays for a command's result (tables, JSON).

structlog is imported on the first log call, not at import: importing it
imports rich for its tracebacks (about 70 ms), which a command that logs
nothing (``--help``, ``validate``) and a pytest run that never calls chaoskit
should not pay for. Colour follows https://no-color.org: never with
``NO_COLOR`` set, never when stderr is not a terminal.

Secrets (:mod:`chaoskit.model.secrets`) given to :func:`hide` are replaced
with ``***`` in every event by one processor, before any renderer sees it;
journals go through the same :func:`redact`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TextIO

if TYPE_CHECKING:
    import structlog.typing

__all__ = ["LogFormat", "configure", "get_logger", "hide", "masked", "redact", "wants_color"]

MASK = "***"

LogFormat = Literal["console", "json"]

# Set by configure() and applied once structlog is imported (at once if it already is).
_pending: tuple[LogFormat | None, int] | None = None
# The values hide() was given: a process logs for one experiment (or a game day's) at a time, and only adds.
_hidden: frozenset[str] = frozenset()


def redact(value: Any, secrets: frozenset[str]) -> Any:
    """``value`` (JSON-like: mappings, lists, strings) with every occurrence of every secret replaced by ``***``."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in sorted(secrets, key=len, reverse=True):  # longest first: one secret may contain another
            if secret in value:
                value = value.replace(secret, MASK)
        return value
    if isinstance(value, Mapping):
        return {redact(k, secrets): redact(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, secrets) for v in value]
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return redact(str(value), secrets)  # what a renderer would print: an exception, a path, an object


def hide(secrets: Iterable[str]) -> None:
    """From now on, log events show each of ``secrets`` as ``***``."""
    global _hidden
    _hidden = _hidden | frozenset(s for s in secrets if s)


def masked(text: str) -> str:
    """``text`` with what :func:`hide` was given as ``***``: for the lines a command prints itself."""
    return redact(text, _hidden)  # type: ignore[no-any-return]


def _redact_event(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the one place log events lose their secrets."""
    return redact(event, _hidden) if _hidden else event


def wants_color(stream: TextIO | None = None) -> bool:
    """Whether output to ``stream`` (default stderr) may be coloured: a terminal, and no ``NO_COLOR``."""
    stream = stream if stream is not None else sys.stderr
    return stream.isatty() and not os.environ.get("NO_COLOR")


def configure(log_format: LogFormat | None = None, verbose: int = 0) -> None:
    """Configure structlog once per process; ``verbose`` 0 = info, 1+ = debug."""
    global _pending
    _pending = (log_format, verbose)
    if "structlog" in sys.modules:
        _apply_pending()


def _apply_pending() -> None:
    global _pending
    if _pending is None:
        return
    log_format, verbose = _pending
    _pending = None
    import logging

    import structlog

    if log_format is None:
        log_format = "console" if sys.stderr.isatty() else "json"
    renderer: structlog.typing.Processor
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=wants_color())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _redact_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG if verbose > 0 else logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


class _LazyLogger:
    """Stands for a structlog logger until its first use, then forwards every attribute to it."""

    __slots__ = ("_logger", "_name")

    def __init__(self, name: str | None) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, attr: str) -> Any:
        if self._logger is None:
            import structlog

            _apply_pending()
            # ("component", not "logger": that name is taken by structlog.wrap_logger's own argument.)
            self._logger = structlog.get_logger(component=self._name) if self._name else structlog.get_logger()
        return getattr(self._logger, attr)


def get_logger(name: str | None = None) -> structlog.typing.FilteringBoundLogger:
    """A logger for module level: structlog is imported, and configure()'s settings applied, on its first call."""
    return _LazyLogger(name)  # type: ignore[return-value]
