"""Logging set-up: structlog everywhere, console on a TTY, JSON lines otherwise.

Event names are stable and dotted (``fault.applied``, ``fault.reverted``,
``hypothesis.violated``); tools and tests match on them, so rename with care.
Logs go to stderr so that stdout stays for a command's result (tables, JSON).
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog

__all__ = ["LogFormat", "configure", "get_logger"]

LogFormat = Literal["console", "json"]


def configure(log_format: LogFormat | None = None, verbose: int = 0) -> None:
    """Configure structlog once per process; ``verbose`` 0 = info, 1+ = debug."""
    if log_format is None:
        log_format = "console" if sys.stderr.isatty() else "json"
    level = logging.DEBUG if verbose > 0 else logging.INFO
    renderer: structlog.typing.Processor
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str | None = None) -> structlog.typing.FilteringBoundLogger:
    # A lazy proxy: modules get their logger at import, configure() may run later (the CLI, a bench).
    # ("component", not "logger": that name is taken by structlog.wrap_logger's own argument.)
    return structlog.get_logger(component=name) if name else structlog.get_logger()
