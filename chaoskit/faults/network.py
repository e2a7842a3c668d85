"""Network faults through the real Toxiproxy server: one toxic type each, plus a proxy taken down.

Each fault names its toxic ``chaoskit-<token>``, so a revert (or ``chaoskit
rollback`` after a crash) removes exactly what this fault added.
"""

from __future__ import annotations

from typing import Any, ClassVar

from chaoskit.adapters.backends import Backends
from chaoskit.adapters.toxiproxy import Toxic
from chaoskit.model.params import PROXY_NAME_PATTERN, FaultSignature, ParamSpec

from .base import Fault

__all__ = ["NETWORK_FAULTS", "NetworkDown"]

_PROXY = ParamSpec("proxy", "str", required=True, pattern=PROXY_NAME_PATTERN, doc="Toxiproxy proxy name")
_COMMON = (
    _PROXY,
    ParamSpec("stream", "str", default="downstream", choices=("upstream", "downstream"),
              doc="direction: downstream = server to client"),
    ParamSpec("toxicity", "float", default=1.0, min=0, max=1, doc="share of connections affected"),
)


class _ToxicFault(Fault):
    toxic_type: ClassVar[str]
    # (param name in chaoskit, attribute name in Toxiproxy)
    attributes: ClassVar[tuple[tuple[str, str], ...]]

    def _toxic(self) -> Toxic:
        attrs: dict[str, Any] = {api: self.params[name] for name, api in self.attributes}
        return Toxic(name=f"chaoskit-{self.token}", type=self.toxic_type, stream=self.params["stream"],
                     toxicity=self.params["toxicity"], attributes=attrs)

    def describe(self) -> str:
        attrs = ", ".join(f"{name}={self.params[name]}" for name, _ in self.attributes)
        return f"{self.toxic_type} toxic on proxy {self.params['proxy']} ({self.params['stream']}{', ' + attrs if attrs else ''})"

    def prepare(self, backends: Backends) -> None:
        backends.toxiproxy.proxy(self.params["proxy"])  # a missing proxy fails here, before the record

    def apply(self, backends: Backends) -> None:
        backends.toxiproxy.add_toxic(self.params["proxy"], self._toxic())

    def revert(self, backends: Backends) -> None:
        backends.toxiproxy.remove_toxic(self.params["proxy"], f"chaoskit-{self.token}")


def _toxic_fault(kind: str, toxic_type: str, doc: str, *params: tuple[ParamSpec, str]) -> type[_ToxicFault]:
    """One fault class per toxic type: they differ only in their attributes."""
    return type(
        f"Network_{toxic_type}", (_ToxicFault,),
        {"kind": kind, "toxic_type": toxic_type, "attributes": tuple((spec.name, api) for spec, api in params),
         "signature": FaultSignature(params=_COMMON + tuple(spec for spec, _ in params), target="none", doc=doc),
         "__module__": __name__},
    )


NETWORK_FAULTS: tuple[type[Fault], ...] = (
    _toxic_fault("network.latency", "latency", "Add latency (and jitter) to data through a proxy.",
                 (ParamSpec("latency_ms", "int", required=True, min=0), "latency"),
                 (ParamSpec("jitter_ms", "int", default=0, min=0), "jitter")),
    _toxic_fault("network.bandwidth", "bandwidth", "Limit bandwidth through a proxy.",
                 (ParamSpec("rate_kbps", "int", required=True, min=0, doc="KB/s"), "rate")),
    _toxic_fault("network.timeout", "timeout",
                 "Stop all data and close the connection after timeout_ms (0: hold it open forever).",
                 (ParamSpec("timeout_ms", "int", default=0, min=0), "timeout")),
    _toxic_fault("network.reset_peer", "reset_peer", "Reset connections (TCP RST) after timeout_ms.",
                 (ParamSpec("timeout_ms", "int", default=0, min=0), "timeout")),
    _toxic_fault("network.slicer", "slicer", "Slice data into small packets with delays between them.",
                 (ParamSpec("average_size", "int", default=64, min=1, doc="bytes"), "average_size"),
                 (ParamSpec("size_variation", "int", default=32, min=0, doc="bytes"), "size_variation"),
                 (ParamSpec("delay_us", "int", default=100, min=0, doc="microseconds"), "delay")),
    _toxic_fault("network.limit_data", "limit_data", "Close connections after this many bytes.",
                 (ParamSpec("bytes", "int", required=True, min=1), "bytes")),
    _toxic_fault("network.slow_close", "slow_close", "Delay the TCP close by delay_ms.",
                 (ParamSpec("delay_ms", "int", required=True, min=0), "delay")),
)


class NetworkDown(Fault):
    kind = "network.down"
    signature = FaultSignature(params=(_PROXY,), target="none",
                               doc="Take a proxy down: it refuses connections and drops open ones. "
                                   "Revert: enable it again, if it was enabled before the fault.")

    def describe(self) -> str:
        return f"take proxy {self.params['proxy']} down"

    def prepare(self, backends: Backends) -> None:
        # A proxy someone had disabled on purpose stays disabled after the revert.
        self.state["was_enabled"] = backends.toxiproxy.proxy(self.params["proxy"]).enabled

    def apply(self, backends: Backends) -> None:
        backends.toxiproxy.set_enabled(self.params["proxy"], False)

    def revert(self, backends: Backends) -> None:
        # Records written before the previous state was kept say nothing: enabling was the revert then.
        if self.state.get("was_enabled", True):
            backends.toxiproxy.set_enabled(self.params["proxy"], True)
