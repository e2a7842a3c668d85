"""Disk fault: fill the filesystem behind a path to a target, at once, and free it at once."""

from __future__ import annotations

import math
from pathlib import Path

from chaoskit.adapters.backends import Backends
from chaoskit.adapters.host import HOST_FILES, HostFiles
from chaoskit.adapters.target_backend import FilesystemUsage, TargetBackend
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
        percent = self.params.get("percent")
        amount = f"{percent:.0%}" if percent is not None else f"+{self.params['bytes']} bytes"
        return f"fill the filesystem of {self.params['path']} in {self.target_label} to {amount}"

    def _files(self, backends: Backends) -> HostFiles | TargetBackend:
        return backends.targets if self.target else HOST_FILES

    def prepare(self, backends: Backends) -> None:
        name = f".chaoskit-fill-{self.token}"
        path = self.params["path"]
        # Where the fill file goes, as a path that outlives the target's processes (the host path of its mount
        # or writable layer), recorded so revert works from the record even after the target restarted.
        location = (backends.targets.file_location(self.target, path, name) if self.target
                    else str(Path(path) / name))
        self._check_cap(self._files(backends).filesystem_usage(location))
        self.state["fill_file"] = location

    def apply(self, backends: Backends) -> None:
        files, location = self._files(backends), self.state["fill_file"]
        usage = files.filesystem_usage(location)
        # Again here: what is behind the path may have changed since prepare (a volume mounted, a resize).
        self._check_cap(usage)
        size = bytes_to_fill(usage.total_bytes, usage.free_bytes, self.params.get("percent"), self.params.get("bytes"))
        if size:
            files.fill_file(location, size)

    def _check_cap(self, usage: FilesystemUsage) -> None:
        cap = self.params["max_filesystem_bytes"]
        if usage.total_bytes > cap and not self.params["force"]:
            raise ApplyFailed(
                f"the filesystem behind {self.params['path']} in {self.target_label} is {usage.total_bytes >> 20} MiB, "
                f"over the safety cap of {cap >> 20} MiB; set force: true (or raise max_filesystem_bytes) to fill it"
            )

    def revert(self, backends: Backends) -> None:
        self._files(backends).remove_file(self.state["fill_file"])
