"""Disk fault: fill the filesystem behind a path to a target, at once, and free it at once."""

from __future__ import annotations

import math
from pathlib import Path

from chaoskit.adapters.backends import Backends
from chaoskit.adapters.host import allocate_file, container_path_on_host, filesystem_usage, remove_file
from chaoskit.errors import ApplyFailed
from chaoskit.model.params import FaultSignature, ParamSpec

from .base import Fault

__all__ = ["DiskFill", "bytes_to_fill"]


def bytes_to_fill(total: int, free: int, percent: float | None, size: int | None) -> int:
    """How much to allocate so the filesystem is ``percent`` full (a fraction), or by ``size`` bytes.

    Never more than is free: a fill that asks for more simply fills the disk.
    """
    if size is not None:
        return max(0, min(size, free))
    assert percent is not None
    wanted_free = total - math.ceil(total * percent)
    return max(0, free - wanted_free)


class DiskFill(Fault):
    kind = "disk.fill"
    signature = FaultSignature(
        params=(
            ParamSpec("path", "str", required=True, doc="a directory on the filesystem to fill (inside the target, "
                                                         "or on the host without a target)"),
            ParamSpec("percent", "fraction", min=0, max=1, doc="fill until the filesystem is this full (95% or 0.95)"),
            ParamSpec("bytes", "bytes", min=1, doc="or allocate this much (512MiB)"),
            ParamSpec("max_filesystem_bytes", "bytes", default=4 << 30,
                      doc="refuse filesystems larger than this (a safety cap)"),
            ParamSpec("force", "bool", default=False, doc="fill a filesystem above the safety cap anyway"),
        ),
        target="optional",
        one_of=(("percent", "bytes"),),
        doc="Fill the filesystem behind a path (fallocate: instant where the filesystem allows). "
            "Revert: delete the fill file, freeing the space at once.",
    )

    def describe(self) -> str:
        amount = f"{self.param('percent'):.0%}" if self.param("percent") is not None else f"+{self.param('bytes')} bytes"
        return f"fill the filesystem of {self.param('path')} in {self.target_label} to {amount}"

    def _directory(self, backends: Backends) -> Path:
        if self.target is None:
            return Path(self.param("path"))
        return container_path_on_host(backends.engine.inspect(self.target.id), self.param("path"))

    def prepare(self, backends: Backends) -> None:
        directory = self._directory(backends)
        usage = filesystem_usage(directory)
        cap = self.param("max_filesystem_bytes")
        if usage.total_bytes > cap and not self.param("force"):
            raise ApplyFailed(
                f"the filesystem behind {self.param('path')} in {self.target_label} is {usage.total_bytes >> 20} MiB, "
                f"over the safety cap of {cap >> 20} MiB; set force: true (or raise max_filesystem_bytes) to fill it"
            )
        # The host-side path of the fill file, so revert works even with the container stopped.
        self.state["fill_file"] = str(directory / f".chaoskit-fill-{self.token}")

    def apply(self, backends: Backends) -> None:
        fill_file = Path(self.state["fill_file"])
        if fill_file.exists():
            return
        usage = filesystem_usage(fill_file.parent)
        size = bytes_to_fill(usage.total_bytes, usage.free_bytes, self.param("percent"), self.param("bytes"))
        if size:
            try:
                allocate_file(fill_file, size)
            except OSError as exc:
                if exc.errno != 28:  # ENOSPC is the point of the exercise
                    raise ApplyFailed(f"fill {fill_file}: {exc}") from exc

    def revert(self, backends: Backends) -> None:
        remove_file(Path(self.state["fill_file"]))
