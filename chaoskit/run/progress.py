"""The live progress line of a run on a terminal: phase, elapsed, current p99 and error rate."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.live import Live
from rich.text import Text

__all__ = ["LiveDisplay"]


class LiveDisplay:
    def __init__(self, title: str):
        self.title = title
        self._live = Live(Text(""), console=Console(stderr=True), refresh_per_second=4, transient=True)

    def start(self) -> None:
        self._live.start()

    def stop(self) -> None:
        self._live.stop()

    def update(self, phase: str, elapsed: float, window: Any) -> None:
        text = f"{self.title} | {phase:<8} | {elapsed:6.1f}s"
        if window is not None:
            p99, errors = window.metric("p99"), window.metric("error_rate")
            text += f" | p99 {p99 * 1000:7.1f} ms" if p99 is not None else " | p99       - "
            text += f" | errors {errors:6.2%}" if errors is not None else " | errors   -"
            text += f" | {window.sent} req/s"
        self._live.update(Text(text))
