"""Extra rollback actions an experiment may list under ``rollbacks:``.

Faults revert themselves (the ledger guarantees it); these are for what a
fault's revert cannot know: warm a cache again, reset every Toxiproxy proxy,
start a container a fault's side effect stopped. They run after every fault was
reverted, in order, and a failing one is reported without stopping the others.
"""

from __future__ import annotations

from chaoskit.model.params import PROXY_NAME_PATTERN, FaultSignature, ParamSpec

__all__ = ["ACTION_SIGNATURES"]

_HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")

ACTION_SIGNATURES: dict[str, FaultSignature] = {
    "http": FaultSignature(
        params=(
            ParamSpec("url", "str", required=True, doc="http(s) URL to call"),
            ParamSpec("method", "str", default="POST", choices=_HTTP_METHODS),
            ParamSpec("json", "any", doc="JSON body"),
            ParamSpec("timeout", "duration", default=5.0, min=0.001),
        ),
        target="none",
        doc="call an HTTP endpoint",
    ),
    "command": FaultSignature(
        params=(
            ParamSpec("cmd", "argv", required=True, doc="argv list, or a string run with sh -c"),
            ParamSpec("timeout", "duration", default=30.0, min=0.001),
        ),
        target="required",
        doc="run a command inside every matched container",
    ),
    "container.start": FaultSignature(target="required", doc="start matched containers that are not running"),
    "container.restart": FaultSignature(target="required", doc="restart matched containers"),
    "container.unpause": FaultSignature(target="required", doc="unpause matched containers that are paused"),
    "toxiproxy.reset": FaultSignature(target="none", doc="remove every toxic and enable every proxy"),
    "toxiproxy.enable": FaultSignature(
        params=(ParamSpec("proxy", "str", required=True, pattern=PROXY_NAME_PATTERN),), target="none", doc="enable one proxy"
    ),
}
