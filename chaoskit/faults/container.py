"""Container faults through the Docker engine: kill, stop, restart, pause, network partition."""

from __future__ import annotations

from chaoskit.adapters.backends import Backends
from chaoskit.errors import TargetNotFound
from chaoskit.model.params import FaultSignature, ParamSpec

from .base import Fault

__all__ = ["ContainerDisconnect", "ContainerKill", "ContainerPause", "ContainerRestart", "ContainerStop"]


class _ContainerFault(Fault):
    def _id(self) -> str:
        assert self.target is not None, "container faults always have a target"
        return self.target.id

    def _ensure_running(self, backends: Backends) -> None:
        """The shared revert of faults that take a container down: start it unless it runs."""
        state = backends.engine.inspect(self._id())["State"]
        if state.get("Paused"):
            backends.engine.unpause(self._id())
        elif not state.get("Running"):
            backends.engine.start(self._id())


class ContainerKill(_ContainerFault):
    kind = "container.kill"
    signature = FaultSignature(
        params=(ParamSpec("signal", "signal", default="SIGKILL", doc="signal sent to the container's main process"),),
        doc="Kill the container with a signal (a crashed process). Revert: start it again if it is not running.",
    )

    def describe(self) -> str:
        return f"kill {self.target_label} with {self.param('signal')}"

    def apply(self, backends: Backends) -> None:
        if backends.engine.inspect(self._id())["State"].get("Running"):
            backends.engine.kill(self._id(), self.param("signal"))

    def revert(self, backends: Backends) -> None:
        self._ensure_running(backends)


class ContainerStop(_ContainerFault):
    kind = "container.stop"
    signature = FaultSignature(
        params=(ParamSpec("timeout", "duration", default=10.0, min=0, doc="grace period before SIGKILL"),),
        doc="Stop the container gracefully (SIGTERM, then SIGKILL). Revert: start it again.",
    )

    def describe(self) -> str:
        return f"stop {self.target_label}"

    def apply(self, backends: Backends) -> None:
        backends.engine.stop(self._id(), int(self.param("timeout")))

    def revert(self, backends: Backends) -> None:
        self._ensure_running(backends)


class ContainerRestart(_ContainerFault):
    kind = "container.restart"
    signature = FaultSignature(
        params=(ParamSpec("timeout", "duration", default=10.0, min=0, doc="grace period before SIGKILL"),),
        doc="Restart the container (a brief outage and a cold start). Revert: make sure it runs.",
    )

    def describe(self) -> str:
        return f"restart {self.target_label}"

    def apply(self, backends: Backends) -> None:
        backends.engine.restart(self._id(), int(self.param("timeout")))

    def revert(self, backends: Backends) -> None:
        self._ensure_running(backends)


class ContainerPause(_ContainerFault):
    kind = "container.pause"
    signature = FaultSignature(
        doc="Freeze every process of the container (an unresponsive service: connections open, no answers). "
            "Revert: unpause. The step's duration says how long.",
    )

    def describe(self) -> str:
        return f"pause {self.target_label}"

    def apply(self, backends: Backends) -> None:
        if not backends.engine.inspect(self._id())["State"].get("Paused"):
            backends.engine.pause(self._id())

    def revert(self, backends: Backends) -> None:
        if backends.engine.inspect(self._id())["State"].get("Paused"):
            backends.engine.unpause(self._id())


class ContainerDisconnect(_ContainerFault):
    kind = "container.disconnect"
    signature = FaultSignature(
        params=(ParamSpec("network", "str", required=True, doc="network to cut the container from"),),
        doc="Disconnect the container from a network (a partition). Revert: reconnect it with its aliases.",
    )

    def describe(self) -> str:
        return f"disconnect {self.target_label} from {self.param('network')}"

    def _networks(self, backends: Backends) -> dict:
        return backends.engine.inspect(self._id())["NetworkSettings"]["Networks"] or {}

    def prepare(self, backends: Backends) -> None:
        network = self.param("network")
        attached = self._networks(backends)
        if network not in attached:
            raise TargetNotFound(f"{self.target_label} is not on network {network!r} (it is on: {', '.join(attached) or 'none'})")
        # Compose's service-name alias is how peers find the container again after the reconnect.
        self.state["aliases"] = [a for a in attached[network].get("Aliases") or [] if a != self._id()[:12]]

    def apply(self, backends: Backends) -> None:
        if self.param("network") in self._networks(backends):
            backends.engine.disconnect(self._id(), self.param("network"))

    def revert(self, backends: Backends) -> None:
        if self.param("network") not in self._networks(backends):
            backends.engine.connect_network(self._id(), self.param("network"), self.state.get("aliases", ()))
