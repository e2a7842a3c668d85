"""Container faults through the target backend: kill, stop, restart, pause, network partition."""

from __future__ import annotations

from chaoskit.adapters.backends import Backends
from chaoskit.adapters.target_backend import NetworkAttachment
from chaoskit.errors import TargetNotFound
from chaoskit.log import get_logger
from chaoskit.model.params import FaultSignature, ParamSpec

from .base import Fault, TargetRef

__all__ = ["ContainerDisconnect", "ContainerKill", "ContainerPause", "ContainerRestart", "ContainerStop"]

log = get_logger("chaoskit.faults")

_GRACE = ParamSpec("timeout", "duration", default=10.0, min=0, doc="grace period before SIGKILL")


def _ensure_running(backends: Backends, target: TargetRef) -> None:
    """The shared revert of faults that take a container down: start it unless it runs."""
    state = backends.targets.state(target)
    if state == "paused":
        backends.targets.unpause(target)
    elif state == "stopped":
        backends.targets.start(target)


class ContainerKill(Fault):
    kind = "container.kill"
    signature = FaultSignature(
        params=(ParamSpec("signal", "signal", default="SIGKILL", doc="signal sent to the container's main process"),),
        doc="Kill the container with a signal (a crashed process). Revert: start it again if it is not running.",
    )

    def describe(self) -> str:
        return f"kill {self.target_label} with {self.params['signal']}"

    def apply(self, backends: Backends) -> None:
        if backends.targets.state(self._target()) != "stopped":
            backends.targets.kill(self._target(), self.params["signal"])

    def revert(self, backends: Backends) -> None:
        _ensure_running(backends, self._target())


class ContainerStop(Fault):
    kind = "container.stop"
    signature = FaultSignature(
        params=(_GRACE,),
        doc="Stop the container gracefully (SIGTERM, then SIGKILL). Revert: start it again.",
    )

    def describe(self) -> str:
        return f"stop {self.target_label}"

    def apply(self, backends: Backends) -> None:
        backends.targets.stop(self._target(), self.params["timeout"])

    def revert(self, backends: Backends) -> None:
        _ensure_running(backends, self._target())


class ContainerRestart(Fault):
    kind = "container.restart"
    signature = FaultSignature(
        params=(_GRACE,),
        doc="Restart the container (a brief outage and a cold start). Revert: make sure it runs.",
    )

    def describe(self) -> str:
        return f"restart {self.target_label}"

    def apply(self, backends: Backends) -> None:
        backends.targets.restart(self._target(), self.params["timeout"])

    def revert(self, backends: Backends) -> None:
        _ensure_running(backends, self._target())


class ContainerPause(Fault):
    kind = "container.pause"
    signature = FaultSignature(
        doc="Freeze every process of the container (an unresponsive service: connections open, no answers). "
            "Revert: unpause. The step's duration says how long.",
    )

    def describe(self) -> str:
        return f"pause {self.target_label}"

    def apply(self, backends: Backends) -> None:
        if backends.targets.state(self._target()) != "paused":
            backends.targets.pause(self._target())

    def revert(self, backends: Backends) -> None:
        if backends.targets.state(self._target()) == "paused":
            backends.targets.unpause(self._target())


class ContainerDisconnect(Fault):
    kind = "container.disconnect"
    signature = FaultSignature(
        params=(ParamSpec("network", "str", required=True, doc="network to cut the container from"),),
        doc="Disconnect the container from a network (a partition). Revert: reconnect it as it was: aliases, "
            "configured IP addresses and links.",
    )

    def describe(self) -> str:
        return f"disconnect {self.target_label} from {self.params['network']}"

    def prepare(self, backends: Backends) -> None:
        network = self.params["network"]
        attached = backends.targets.networks(self._target())
        if network not in attached:
            raise TargetNotFound(f"{self.target_label} is not on network {network!r} (it is on: {', '.join(attached) or 'none'})")
        # Compose's service-name alias is how peers find the container again; a pinned address or a link
        # is how some of them reach it at all.
        self.state["attachment"] = backends.targets.attachment(self._target(), network).to_dict()

    def apply(self, backends: Backends) -> None:
        if self.params["network"] in backends.targets.networks(self._target()):
            backends.targets.disconnect(self._target(), self.params["network"])

    def revert(self, backends: Backends) -> None:
        network = self.params["network"]
        if network in backends.targets.networks(self._target()):
            return
        if "attachment" not in self.state:  # a record written when only the aliases were kept
            backends.targets.connect(self._target(), network, self.state.get("aliases", ()))
            return
        before = NetworkAttachment.from_dict(self.state["attachment"])
        backends.targets.reattach(self._target(), network, before)
        after = backends.targets.attachment(self._target(), network)
        if before.ipv4_address is None and before.address and after.address != before.address:
            # The network hands out addresses itself; it may not give the old one back.
            log.warning("fault.readdressed", fault=self.describe(), was=before.address, now=after.address)
