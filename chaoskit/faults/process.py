"""Process faults: kill by name, and runaway CPU or memory hogs.

Processes are found and signalled by the target backend (or, without a
target, on the host) by what they match, never by PIDs chosen here. Hogs run
inside the target container (so its cgroup limits apply, as they would to a
real runaway process) under coreutils ``timeout``: even if chaoskit itself
dies and nobody runs ``chaoskit rollback``, a hog ends on its own after
``max_duration``. Each hog's command line carries the fault's token, which is
how revert finds it.
"""

from __future__ import annotations

from chaoskit.adapters import host
from chaoskit.adapters.backends import Backends
from chaoskit.adapters.target_backend import ProcessMatch
from chaoskit.errors import ApplyFailed, TargetNotFound
from chaoskit.model.params import FaultSignature, ParamSpec

from .base import Fault

__all__ = ["ProcessCpuHog", "ProcessKill", "ProcessMemoryHog"]

# A hog outlives a dead controller by at most this: an hour is longer than any experiment's fault phase.
MAX_HOG_SECONDS = 3600.0
_MAX_DURATION = ParamSpec("max_duration", "duration", default=600.0, min=1, max=MAX_HOG_SECONDS,
                          doc="the hog ends by itself after this long, even if chaoskit dies")


class _Processes(Fault):
    def _count(self, backends: Backends, match: ProcessMatch) -> int:
        if self.target is None:
            return host.count_processes(None, match)
        return backends.targets.count_processes(self.target, match)

    def _signal(self, backends: Backends, match: ProcessMatch, signal: str) -> int:
        if self.target is None:
            return host.signal_processes(None, match, signal)
        return backends.targets.signal_processes(self.target, match, signal)


class ProcessKill(_Processes):
    kind = "process.kill"
    signature = FaultSignature(
        params=(ParamSpec("name", "str", required=True, doc="process name (as ps shows it)"),
                ParamSpec("signal", "signal", default="SIGKILL"),
                ParamSpec("scope", "str", choices=("host",),
                          doc="host: without a target, kill every process of that name on the host (required then)")),
        target="optional",
        host_wide=True,
        doc="Kill every process of that name inside the target container, or, with scope: host and no target, "
            "on the whole host. Revert: start the container again if its main process died; a host process is "
            "not restarted by chaoskit (that is its supervisor's job).",
    )

    def describe(self) -> str:
        return f"kill processes named {self.params['name']!r} in {self.target_label} with {self.params['signal']}"

    def prepare(self, backends: Backends) -> None:
        if self.target is None and self.params.get("scope") != "host":
            raise ApplyFailed(f"{self.kind} without a target would signal every {self.params['name']!r} process "
                              f"of the host; give a target, or scope: host to mean it")
        matched = self._count(backends, ProcessMatch(name=self.params["name"]))
        if not matched:
            raise TargetNotFound(f"no process named {self.params['name']!r} in {self.target_label}")
        self.state["matched"] = matched

    def apply(self, backends: Backends) -> None:
        self._signal(backends, ProcessMatch(name=self.params["name"]), self.params["signal"])

    def revert(self, backends: Backends) -> None:
        if self.target is not None and backends.targets.state(self.target) == "stopped":
            backends.targets.start(self.target)


class _Hog(_Processes):
    def _match(self) -> ProcessMatch:
        return ProcessMatch(cmdline_contains=f"chaoskit-hog-{self.token}", descendants=True)

    def _scripts(self) -> list[str]:
        """One shell script per hog process."""
        raise NotImplementedError

    def apply(self, backends: Backends) -> None:
        if self._count(backends, self._match()):
            return
        for script in self._scripts():
            backends.targets.exec(self._target(), ["timeout", str(int(self.params["max_duration"])), "sh", "-c",
                                                   f": {self._match().cmdline_contains}; {script}"], detach=True)

    def revert(self, backends: Backends) -> None:
        self._signal(backends, self._match(), "SIGKILL")


class ProcessCpuHog(_Hog):
    kind = "process.cpu_hog"
    signature = FaultSignature(
        params=(ParamSpec("workers", "int", default=1, min=1, max=64, doc="busy-looping processes to start"),
                _MAX_DURATION),
        doc="A runaway process: busy loops inside the container (needs sh and coreutils timeout in the image). "
            "Revert: kill them.",
    )

    def describe(self) -> str:
        return f"run {self.params['workers']} CPU hog(s) in {self.target_label}"

    def _scripts(self) -> list[str]:
        return ["while :; do :; done"] * self.params["workers"]


class ProcessMemoryHog(_Hog):
    kind = "process.memory_hog"
    signature = FaultSignature(
        params=(ParamSpec("megabytes", "int", required=True, min=1, doc="memory to allocate and hold"),
                _MAX_DURATION),
        doc="A leaking process: holds that much memory inside the container (tail buffers a newline-free "
            "stream whole). Revert: kill it.",
    )

    def describe(self) -> str:
        return f"hold {self.params['megabytes']} MB of memory in {self.target_label}"

    def _scripts(self) -> list[str]:
        seconds = int(self.params["max_duration"])
        return [f"(head -c {self.params['megabytes']}M /dev/zero; sleep {seconds}) | tail >/dev/null"]
