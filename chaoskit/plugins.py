"""Plugins: types other distributions register under chaoskit's entry-point groups.

A distribution declares, in its ``pyproject.toml``::

    [project.entry-points."chaoskit.faults"]
    "example.file_marker" = "chaoskit_example_plugin.file_marker:FileMarker"

The entry point's name is the type's name as experiment files write it; its
value names the class. :func:`discover` loads one group and sorts each entry
point into a :class:`Plugin` or a one-line problem naming the distribution and
the entry point (it could not be imported, the caller's check refused it, its
name is malformed, or it claims a name that a built-in or another plugin
claims: then every claimant is refused, since nothing says which one is meant).
A broken plugin costs its own types only.

Layer 0 (beside ``errors`` and ``log``): it knows no fault or probe, so any
layer can discover its own kind of plugin, each caller checking what it loads:
faults (:func:`chaoskit.faults.catalogue.catalogue`) and probes
(:func:`chaoskit.adapters.probe_plugins.probe_catalogue`). Reading installed
metadata and importing plugin code take tens of milliseconds; callers
discover on first use and cache the result.
"""

from __future__ import annotations

import inspect
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importlib.metadata costs about 10 ms: imported by discover(), not here
    from importlib.metadata import EntryPoint

__all__ = ["FAULT_GROUP", "PROBE_GROUP", "Discovery", "Plugin", "discover", "subclass_check"]

FAULT_GROUP = "chaoskit.faults"
PROBE_GROUP = "chaoskit.probes"

# A type name as the experiment schema accepts it: dotted lower-case words (``example.file_marker``).
_TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")

# What a caller's check says of a loaded object: None when it is acceptable, else what is wrong.
Check = Callable[[str, Any], "str | None"]


@dataclass(frozen=True)
class Plugin:
    """One accepted entry point: the type it registers and where it comes from."""

    name: str
    value: str  # "module:attribute", as declared
    distribution: str  # "chaoskit-example-plugin 0.1.0"
    loaded: Any

    def where(self) -> str:
        return f"{self.distribution} (entry point {self.name} = {self.value})"


@dataclass(frozen=True)
class Discovery:
    """What one group held: the accepted plugins by name, and a line for each refused entry point."""

    plugins: Mapping[str, Plugin]
    problems: tuple[str, ...]


def discover(group: str, check: Check, reserved: Collection[str] = (),
             entry_points: Iterable[EntryPoint] | None = None) -> Discovery:
    """Load every entry point of ``group`` (or the ``entry_points`` given, for tests) and sort them.

    ``reserved``: the built-in names a plugin may not claim.
    """
    if entry_points is None:
        from importlib.metadata import entry_points as installed

        entry_points = installed(group=group)
    found = list(entry_points)
    claims = Counter(ep.name for ep in found)
    plugins: dict[str, Plugin] = {}
    problems: list[str] = []
    for ep in found:
        where = f"{_distribution(ep)} (entry point {ep.name} = {ep.value})"
        problem = _refusal(ep, reserved, claims, found)
        loaded = None
        if problem is None:
            try:
                loaded = ep.load()
            except Exception as exc:  # noqa: BLE001 - a plugin's import may raise anything; it costs only itself
                problem = f"cannot be loaded: {type(exc).__name__}: {_first_line(exc)}"
            else:
                problem = check(ep.name, loaded)
        if problem is None:
            plugins[ep.name] = Plugin(ep.name, ep.value, _distribution(ep), loaded)
        else:
            problems.append(f"plugin {where} refused: {problem}")
    return Discovery(plugins, tuple(problems))


def _refusal(ep: EntryPoint, reserved: Collection[str], claims: Counter[str], found: list[EntryPoint]) -> str | None:
    """Why ``ep`` is refused before it is even imported, if it is."""
    if not _TYPE_NAME.match(ep.name):
        return "its name is not dotted lower-case words (like example.file_marker)"
    if ep.name in reserved:
        return f"{ep.name!r} is a built-in name"
    if claims[ep.name] > 1:
        others = sorted(f"{_distribution(o)} ({o.value})" for o in found if o.name == ep.name and o is not ep)
        return f"{ep.name!r} is also claimed by {', '.join(others)}"
    return None


def _distribution(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return f"{dist.name} {dist.version}" if dist is not None else "an unknown distribution"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"


def subclass_check(base: type, name_attribute: str, signature: type) -> Check:
    """The check of a group whose entry points name concrete subclasses of ``base``: its ``name_attribute``
    (``kind``, ``type``) the entry point's name, its ``signature`` a ``signature``."""

    def check(name: str, loaded: Any) -> str | None:
        if not (isinstance(loaded, type) and issubclass(loaded, base)):
            return f"{name} names {loaded!r}, not a subclass of {_dotted(base)}"
        if inspect.isabstract(loaded):
            return f"{loaded.__name__} does not implement {', '.join(sorted(loaded.__abstractmethods__))}"
        declared = getattr(loaded, name_attribute, None)
        if declared != name:
            return f"{loaded.__name__}.{name_attribute} is {declared!r}: it must be the entry point's name"
        if not isinstance(getattr(loaded, "signature", None), signature):
            return f"{loaded.__name__}.signature is not a {_dotted(signature)}"
        return None

    return check


def _dotted(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
