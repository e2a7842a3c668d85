"""Which values of an experiment file are secret, and which strings are shell commands.

Secret: every value taken from the environment (``${env:NAME}``), every
variable declared ``{secret: true}``, every header value (load requests, http
probes, anything under a ``headers:`` key) and the password of every URL that
carries one (``https://user:pass@host``). The loader collects them once; the
journal writer and the log processor replace each one with ``***``
(:func:`chaoskit.log.redact`), so journals, logs and the reports read from
journals never hold them.

Shell commands: a ``cmd:`` given as one string is run with ``sh -c``; a value
substituted into it is shell-quoted, so ``--var 'db=x; rm -rf /data #'`` stays
one word. A ``cmd:`` given as a list is an argv: each substituted value stays
inside its one argument, and no shell reads it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import unquote

if TYPE_CHECKING:  # source.py imports this module
    from chaoskit.model.source import Located

__all__ = ["collect_secrets", "is_shell_command"]

# scheme://user:password@host: the password ends at the first "@" (an "@" in a password must be %40-encoded).
_URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#@:\s]*:([^/?#@\s]+)@")


def is_shell_command(path: str) -> bool:
    """Whether the string at ``path`` (``steady_state.probes[0].cmd``, ``rollbacks[1].params.cmd``) is run by a shell."""
    return path == "cmd" or path.endswith(".cmd")


def collect_secrets(root: Located) -> set[str]:
    """Header values and URL passwords anywhere under ``root`` (after substitution)."""
    found: set[str] = set()
    _walk(root, found)
    return found


def _walk(node: Located, found: set[str]) -> None:
    value = node.value
    if isinstance(value, dict):
        for key, child in value.items():
            if key == "headers" and isinstance(child.value, dict):
                found.update(str(v.value) for v in child.value.values() if isinstance(v.value, (str, int, float)))
            _walk(child, found)
    elif isinstance(value, list):
        for child in value:
            _walk(child, found)
    elif isinstance(value, str) and "@" in value:
        for match in _URL_PASSWORD.finditer(value):
            found.update({match.group(1), unquote(match.group(1))})
