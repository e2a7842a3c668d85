"""example.tcp_connect: a probe plugin timing a TCP connection (see docs/plugins.md in chaoskit)."""

from __future__ import annotations

import socket
import time

from chaoskit.adapters.probe_plugins import PluginProbe
from chaoskit.errors import BackendError
from chaoskit.model.params import ParamSpec
from chaoskit.model.plugin_probe import ProbeSignature


class TcpConnect(PluginProbe):
    type = "example.tcp_connect"
    signature = ProbeSignature(
        params=(ParamSpec("host", "str", required=True, doc="the host to connect to"),
                ParamSpec("port", "int", required=True, min=1, max=65535, doc="its TCP port"),
                ParamSpec("timeout", "duration", default=1.0, min=0.001, doc="how long one connect may take")),
        reading="duration",
        doc="Seconds to open a TCP connection to host:port (then closed at once). "
            "A refused or timed-out connect is a violation.",
    )

    def describe(self) -> str:
        return f"TCP connect time to {self.params['host']}:{self.params['port']}"

    def read(self) -> float:
        address = (self.params["host"], self.params["port"])
        start = time.perf_counter()
        try:
            with socket.create_connection(address, timeout=self.params["timeout"]):
                return time.perf_counter() - start
        except OSError as exc:  # refused, unreachable, timed out: the world gave no reading
            raise BackendError(f"connect to {address[0]}:{address[1]}: {exc.strerror or exc}") from None
