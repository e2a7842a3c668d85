"""An example chaoskit plugin: a fault, ``example.file_marker``, and a probe, ``example.tcp_connect``
(see docs/plugins.md in chaoskit)."""

from chaoskit_example_plugin.file_marker import FileMarker
from chaoskit_example_plugin.tcp_connect import TcpConnect

__all__ = ["FileMarker", "TcpConnect"]
