"""Process faults (psutil, from the host): kill by name, and runaway CPU or memory hogs.

Hogs run inside the target container (so its cgroup limits apply, as they
would to a real runaway process) under coreutils ``timeout``: even if
chaoskit itself dies and nobody runs ``chaoskit rollback``, a hog ends on its
own after ``max_duration``. Each hog's command line carries the fault's token,
which is how revert finds it.
"""

from __future__ import annotations

import os

import psutil

from chaoskit.adapters.backends import Backends
from chaoskit.adapters.host import kill_processes, processes_in
from chaoskit.errors import TargetNotFound
from chaoskit.model.params import FaultSignature, ParamSpec

from .base import Fault

__all__ = ["ProcessCpuHog", "ProcessKill", "ProcessMemoryHog"]

_MAX_DURATION = ParamSpec("max_duration", "duration", default=600.0, min=1,
                          doc="the hog ends by itself after this long, even if chaoskit dies")


class _InContainer(Fault):
    def _processes(self, backends: Backends) -> list[psutil.Process]:
        """Processes of the target container (or of the host), as the engine lists them."""
        if self.target is None:
            return list(processes_in(None))
        if not backends.engine.inspect(self.target.id)["State"].get("Running"):
            return []
        return list(processes_in(backends.engine.pids(self.target.id)))


class ProcessKill(_InContainer):
    kind = "process.kill"
    signature = FaultSignature(
        params=(ParamSpec("name", "str", required=True, doc="process name (as ps shows it)"),
                ParamSpec("signal", "signal", default="SIGKILL")),
        target="optional",
        doc="Kill every process of that name inside the target container, or on the host without a target. "
            "Revert: start the container again if its main process died; a host process is not restarted "
            "by chaoskit (that is its supervisor's job).",
    )

    def describe(self) -> str:
        return f"kill processes named {self.param('name')!r} in {self.target_label} with {self.param('signal')}"

    def _matching(self, backends: Backends) -> list:
        me = os.getpid()
        return [p for p in self._processes(backends) if p.pid != me and _name_of(p) == self.param("name")]

    def prepare(self, backends: Backends) -> None:
        matching = self._matching(backends)
        if not matching:
            raise TargetNotFound(f"no process named {self.param('name')!r} in {self.target_label}")
        self.state["pids"] = [p.pid for p in matching]

    def apply(self, backends: Backends) -> None:
        kill_processes(self._matching(backends), self.param("signal"))

    def revert(self, backends: Backends) -> None:
        if self.target is None:
            return
        state = backends.engine.inspect(self.target.id)["State"]
        if not state.get("Running"):
            backends.engine.start(self.target.id)


class _Hog(_InContainer):
    def _marker(self) -> str:
        return f"chaoskit-hog-{self.token}"

    def _scripts(self) -> list[str]:
        """One shell script per hog process."""
        raise NotImplementedError

    def apply(self, backends: Backends) -> None:
        if self._running(backends):
            return
        for script in self._scripts():
            backends.engine.exec(self.target.id, ["timeout", str(int(self.param("max_duration"))), "sh", "-c",
                                                  f": {self._marker()}; {script}"], detach=True)

    def _running(self, backends: Backends) -> list[psutil.Process]:
        return [p for p in self._processes(backends) if self._marker() in " ".join(_cmdline(p))]

    def revert(self, backends: Backends) -> None:
        hogs = self._running(backends)
        descendants = [c for p in hogs for c in _children(p)]
        kill_processes(hogs + descendants, "SIGKILL")


class ProcessCpuHog(_Hog):
    kind = "process.cpu_hog"
    signature = FaultSignature(
        params=(ParamSpec("workers", "int", default=1, min=1, max=64, doc="busy-looping processes to start"),
                _MAX_DURATION),
        doc="A runaway process: busy loops inside the container (needs sh and coreutils timeout in the image). "
            "Revert: kill them.",
    )

    def describe(self) -> str:
        return f"run {self.param('workers')} CPU hog(s) in {self.target_label}"

    def _scripts(self) -> list[str]:
        return ["while :; do :; done"] * int(self.param("workers"))


class ProcessMemoryHog(_Hog):
    kind = "process.memory_hog"
    signature = FaultSignature(
        params=(ParamSpec("megabytes", "int", required=True, min=1, doc="memory to allocate and hold"),
                _MAX_DURATION),
        doc="A leaking process: holds that much memory inside the container (tail buffers a newline-free "
            "stream whole). Revert: kill it.",
    )

    def describe(self) -> str:
        return f"hold {self.param('megabytes')} MB of memory in {self.target_label}"

    def _scripts(self) -> list[str]:
        seconds = int(self.param("max_duration"))
        return [f"(head -c {int(self.param('megabytes'))}M /dev/zero; sleep {seconds}) | tail >/dev/null"]


# Processes come and go while we look; a vanished one simply does not match.
def _name_of(proc: psutil.Process) -> str:
    try:
        return proc.name()
    except psutil.Error:
        return ""


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []


def _children(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except psutil.Error:
        return []
