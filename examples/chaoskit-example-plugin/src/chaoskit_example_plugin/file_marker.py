"""``example.file_marker``: a file created inside the target, removed on revert.

Many services change behaviour while a file exists: nginx configured to answer
503 while ``/var/www/maintenance`` is there, a worker that drains when it finds
a flag, a health check that fails on ``/tmp/unhealthy``. This fault creates
such a file, so an experiment can ask whether the rest of the system copes
while one replica says it is in maintenance.

It touches the target only through ``backends.targets.exec`` (the target
backend's seam), so it works on any backend chaoskit has, and its tests run on
:class:`chaoskit.testing.FakeTargetBackend`.
"""

from __future__ import annotations

from chaoskit.adapters.backends import Backends
from chaoskit.errors import ApplyFailed, RevertFailed, TargetNotFound
from chaoskit.faults.base import Fault
from chaoskit.model.params import FaultSignature, ParamSpec

__all__ = ["FileMarker"]


class FileMarker(Fault):
    kind = "example.file_marker"
    signature = FaultSignature(
        params=(ParamSpec("path", "str", required=True, doc="the file to create, a path inside the target"),
                ParamSpec("content", "str", default="chaoskit", doc="what the file holds")),
        target="required",
        doc="Create a file inside the target (a maintenance flag, say); needs sh in the image. "
            "Revert: remove it. A file already there is refused rather than overwritten.",
    )

    def describe(self) -> str:
        return f"create marker file {self.params['path']} in {self.target_label}"

    def prepare(self, backends: Backends) -> None:
        # Refuse now, before anything is recorded: revert removes the file, which must then be ours.
        _, output = backends.targets.exec(self._target(), _sh('if [ -e "$1" ]; then echo exists; fi',
                                                             self.params["path"]))
        if output.strip() == "exists":
            raise ApplyFailed(f"{self.describe()}: {self.params['path']} already exists in {self.target_label}")

    def apply(self, backends: Backends) -> None:
        # Writing the same content twice is the same as once: apply is idempotent.
        code, output = backends.targets.exec(self._target(), _sh('printf "%s\\n" "$2" > "$1"',
                                                                 self.params["path"], self.params["content"]))
        if code != 0:
            raise ApplyFailed(f"{self.describe()}: exit {code}: {output.strip()}")

    def revert(self, backends: Backends) -> None:
        try:
            state = backends.targets.state(self._target())
        except TargetNotFound:
            return  # the container is gone, and the file with it
        if state != "running":
            raise RevertFailed(f"{self.describe()}: {self.target_label} is {state}; "
                               "start it, then run `chaoskit rollback` again")
        code, output = backends.targets.exec(self._target(), ["rm", "-f", self.params["path"]])
        if code != 0:
            raise RevertFailed(f"{self.describe()}: exit {code}: {output.strip()}")


def _sh(script: str, *args: str) -> list[str]:
    """``sh -c script`` with ``args`` as $1, $2...: values never go through the shell's parser."""
    return ["sh", "-c", script, "sh", *args]
