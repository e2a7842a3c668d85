"""An example chaoskit plugin: one fault, ``example.file_marker`` (see docs/plugins.md in chaoskit)."""

from chaoskit_example_plugin.file_marker import FileMarker

__all__ = ["FileMarker"]
