"""A stand-in fault catalogue for loader tests: the fault types and parameters the engine ships.

The real catalogue (chaoskit/faults/) declares the same signatures; tests
that only need *a* catalogue use this one so they do not depend on fault code.
"""

from __future__ import annotations

from chaoskit.model.params import FaultSignature, ParamSpec

_SIGNAL = ParamSpec("signal", "signal", default="SIGKILL", doc="signal to send")
_PROXY = ParamSpec("proxy", "str", required=True, doc="Toxiproxy proxy name")
_STREAM = ParamSpec("stream", "str", default="downstream", choices=("upstream", "downstream"))
_TOXICITY = ParamSpec("toxicity", "float", default=1.0, min=0.0, max=1.0)


def _network(*params: ParamSpec, doc: str) -> FaultSignature:
    return FaultSignature(params=(_PROXY, *params, _STREAM, _TOXICITY), target="none", doc=doc)


SIGNATURES: dict[str, FaultSignature] = {
    "container.kill": FaultSignature(params=(_SIGNAL,), doc="kill with a signal"),
    "container.stop": FaultSignature(doc="stop"),
    "container.restart": FaultSignature(doc="restart"),
    "container.pause": FaultSignature(doc="pause for the step's duration"),
    "container.disconnect": FaultSignature(params=(ParamSpec("network", "str", required=True),), doc="partition"),
    "process.kill": FaultSignature(
        params=(ParamSpec("name", "str", required=True), _SIGNAL), target="optional", doc="kill a process by name"
    ),
    "process.cpu_hog": FaultSignature(params=(ParamSpec("workers", "int", default=1, min=1, max=64),)),
    "process.memory_hog": FaultSignature(params=(ParamSpec("megabytes", "int", required=True, min=1),)),
    "disk.fill": FaultSignature(
        params=(
            ParamSpec("path", "str", required=True),
            ParamSpec("percent", "float", min=0, max=100),
            ParamSpec("bytes", "bytes"),
            ParamSpec("max_filesystem_bytes", "bytes", default=2 * 1024**3),
            ParamSpec("force", "bool", default=False),
        ),
        target="optional",
        one_of=(("percent", "bytes"),),
    ),
    "network.latency": _network(
        ParamSpec("latency_ms", "int", required=True, min=0),
        ParamSpec("jitter_ms", "int", default=0, min=0),
        doc="latency",
    ),
    "network.bandwidth": _network(ParamSpec("rate_kbps", "int", required=True, min=0), doc="bandwidth"),
    "network.timeout": _network(ParamSpec("timeout_ms", "int", default=0, min=0), doc="timeout"),
    "network.reset_peer": _network(ParamSpec("timeout_ms", "int", default=0, min=0), doc="reset"),
    "network.slicer": _network(ParamSpec("average_size", "int", default=64, min=1), doc="slicer"),
    "network.limit_data": _network(ParamSpec("bytes", "bytes", required=True), doc="limit data"),
    "network.slow_close": _network(ParamSpec("delay_ms", "int", required=True, min=0), doc="slow close"),
    "network.down": FaultSignature(params=(_PROXY,), target="none", doc="proxy disabled"),
}
