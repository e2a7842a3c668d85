"""Probes other distributions register under the ``chaoskit.probes`` entry-point group: the contract and the catalogue.

A plugin's probe is an adapter someone else wrote: it reads the world through
its own code (a socket, a file, a client library). It is a subclass of
:class:`PluginProbe`: its ``type`` (the entry point's name, dotted lower-case
words), its ``signature`` (a :class:`~chaoskit.model.plugin_probe.ProbeSignature`),
``describe()`` and ``read()``, which returns one reading: a number (seconds
for a ``duration`` reading) or, for a ``pass_fail`` one, True when the probe
holds. docs/plugins.md builds one.

It runs only in the controller, the process that runs the experiment, read
by :class:`chaoskit.measure.plugin_poll.PluginPoller`: a
:class:`~chaoskit.errors.BackendError` that ``read()`` raises means the world
gave no reading (refused, timed out) and is a violation, as for the built-in
probes; any other exception, or a reading of the wrong kind, is a bug in the
plugin, and ends the run as an ERROR with one line naming the plugin
(:func:`plugin_call`).

Plugins are discovered the first time they are needed (:func:`probe_catalogue`:
validating, running, listing), not at import; one that cannot be used is left
out with a one-line ``plugin.refused`` warning.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar, TypeVar

from chaoskit.errors import ChaoskitError
from chaoskit.log import get_logger
from chaoskit.model.params import Params
from chaoskit.model.plugin_probe import PluginProbeSpec, ProbeSignature
from chaoskit.model.probes import PROBE_TYPES
from chaoskit.plugins import PROBE_GROUP, Discovery, discover, subclass_check

__all__ = ["PluginProbe", "ProbeCatalogue", "assemble", "build_probe", "plugin_call", "probe_catalogue",
           "probe_signatures"]

log = get_logger("chaoskit.probes")

T = TypeVar("T")


class PluginProbe(ABC):
    """The contract of a plugin's probe. Built once per run from its parsed parameters (``self.params``)."""

    type: ClassVar[str]
    signature: ClassVar[ProbeSignature]

    def __init__(self, params: Params) -> None:
        self.params = params

    @abstractmethod
    def describe(self) -> str:
        """One line for logs, the journal and dry runs: what this instance reads."""

    def prepare(self) -> None:
        """Check once, before any fault (and in dry runs), that reading can work; raise BackendError to refuse."""

    @abstractmethod
    def read(self) -> float | bool:
        """One reading, within a bounded time; raise BackendError when the world gives none."""

    def close(self) -> None:
        """Release what reading holds (a connection); called once at the end of the run."""


@dataclass(frozen=True)
class ProbeCatalogue:
    """The usable plugin probe types, where each comes from, and why any plugin was refused."""

    probes: Mapping[str, type[PluginProbe]]
    origins: Mapping[str, str]  # type -> "distribution version"
    problems: tuple[str, ...] = ()


def assemble(plugins: Discovery) -> ProbeCatalogue:
    return ProbeCatalogue({name: p.loaded for name, p in plugins.plugins.items()},
                          {name: p.distribution for name, p in plugins.plugins.items()}, plugins.problems)


@cache
def probe_catalogue() -> ProbeCatalogue:
    """The plugin probes of this process: discovered on the first call, then kept."""
    found = assemble(discover(PROBE_GROUP, _probe_problem, reserved=PROBE_TYPES))
    for problem in found.problems:
        log.warning("plugin.refused", problem=problem)
    return found


_subclass_problem = subclass_check(PluginProbe, "type", ProbeSignature)


def _probe_problem(name: str, loaded: Any) -> str | None:
    """What keeps ``loaded`` (an entry point's object) from being the probe type ``name``, if anything."""
    if "." not in name:  # built-in probe types are single words: a plugin's is namespaced by its package
        return f"{name!r} is not namespaced: name it after the package, like acme.{name}"
    return _subclass_problem(name, loaded)


def probe_signatures() -> dict[str, ProbeSignature]:
    """What the experiment loader validates plugin probes against."""
    return {name: cls.signature for name, cls in probe_catalogue().probes.items()}


def build_probe(spec: PluginProbeSpec, catalogue: ProbeCatalogue | None = None) -> PluginProbe:
    """The plugin's probe for ``spec``; a plugin that is gone or fails to build is a one-line ChaoskitError."""
    found = catalogue or probe_catalogue()
    cls = found.probes.get(spec.type)
    if cls is None:
        refused = [p for p in found.problems if f"(entry point {spec.type} = " in p]
        raise ChaoskitError(f"unknown probe type {spec.type!r}: " + (refused[0] if refused else
                            "`chaoskit probes` lists them (a plugin's probe needs its package installed)"))
    return plugin_call(spec, found.origins.get(spec.type, "?"), lambda: cls(spec.params), "could not be built")


def plugin_call(spec: PluginProbeSpec, origin: str, call: Callable[[], T], what: str) -> T:
    """``call()``; whatever a plugin's bug raises becomes one line naming the plugin (BackendError passes)."""
    try:
        return call()
    except ChaoskitError:
        raise
    except Exception as exc:  # noqa: BLE001 - a plugin may raise anything; the run reports it in one line
        text = str(exc).strip().splitlines()
        raise ChaoskitError(f"plugin probe {spec.name!r} ({spec.type}, from {origin}) {what}: "
                            f"{type(exc).__name__}: {text[0] if text else '(no message)'}") from exc
