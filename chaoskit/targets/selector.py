"""Selectors: which containers a fault may hit, how many of them, and the blast-radius caps.

A selector is written as a mapping in experiment files::

    target: {service: api, count: 1, max_fraction: 0.5}

or as one string on the command line (``chaoskit targets``) and in files::

    service=api count=1 max_fraction=0.5
    name=chaoskit-api-*            (a bare word is a name glob too)
    label=chaos.monkey=true project=chaoskit percent=50%
    namespace=timeline owner=Deployment/api count=1 max_fraction=0.5   (Kubernetes pods)

Matching (name glob, compose service and project, Kubernetes namespace and
owning workload, labels) says which
containers are *candidates*; ``count`` / ``percent`` say how many of them to
pick (all when neither is given); ``max_fraction`` / ``max_count`` cap the
pick. See :mod:`chaoskit.targets.resolve`.

Blast-radius guards: a selector without a ``project`` is scoped to the
experiment's compose project (:meth:`Selector.with_default_project`) unless it
says ``scope: any``; a *wildcard* (a glob in a name or label, or no name and no
service) with nothing capping how many it picks is refused where faults are
validated unless it says ``uncapped: true``.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chaoskit.targets.container import Container

__all__ = ["SELECTOR_KEYS", "Selector", "parse_selector"]

SELECTOR_KEYS = ("name", "service", "project", "namespace", "owner", "labels", "state", "count", "percent",
                 "max_fraction", "max_count", "scope", "uncapped")
_MATCH_KEYS = ("name", "service", "project", "namespace", "owner")
SCOPES = ("project", "any")
_GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Selector:
    # What matches: every given criterion must hold. Globs (*, ?, [..]) in name and label values.
    name: str | None = None
    service: str | None = None
    project: str | None = None
    # Kubernetes: the pod's namespace, and its owner as "Deployment/api" or just "api" (any kind); globs allowed.
    namespace: str | None = None
    owner: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    # Docker state a candidate must be in; None = any. Faults act on running containers.
    state: str | None = "running"
    # How many to pick: count, or percent of the candidates (rounded up, at least 1); neither = all.
    count: int | None = None
    percent: float | None = None
    # Blast-radius caps: at most floor(max_fraction x replicas) of each service
    # (0.5 = never more than half), and at most max_count in all.
    max_fraction: float | None = None
    max_count: int | None = None
    # project: confined to the experiment's compose project (when it has one); any: the whole engine.
    scope: str = "project"
    # Said explicitly: a wildcard may hit every container it matches.
    uncapped: bool = False

    def __post_init__(self) -> None:
        if not (any(getattr(self, key) for key in _MATCH_KEYS) or self.labels):
            raise ValueError(f"a selector needs at least one of {', '.join(_MATCH_KEYS)}, labels")
        if self.count is not None and self.percent is not None:
            raise ValueError("give count or percent, not both")
        if self.count is not None and (isinstance(self.count, bool) or self.count < 1):
            raise ValueError(f"count must be an integer >= 1, got {self.count!r}")
        if self.percent is not None and not 0 < self.percent <= 100:
            raise ValueError(f"percent must be in (0, 100], got {self.percent!r}")
        if self.max_fraction is not None and not 0 < self.max_fraction <= 1:
            raise ValueError(f"max_fraction must be in (0, 1], got {self.max_fraction!r}")
        if self.max_count is not None and (isinstance(self.max_count, bool) or self.max_count < 1):
            raise ValueError(f"max_count must be an integer >= 1, got {self.max_count!r}")
        if self.scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {self.scope!r}")

    @property
    def is_wildcard(self) -> bool:
        """Whether it may match containers of many services: a glob, or neither a name, a service nor an owner."""
        if self.name is None and self.service is None and self.owner is None:
            return True
        return any(_GLOB.search(v or "") for v in (self.name, self.owner, *self.labels.values()))

    @property
    def is_capped(self) -> bool:
        """Whether something bounds how many containers it picks."""
        return any(v is not None for v in (self.count, self.percent, self.max_fraction, self.max_count))

    def matches(self, container: Container) -> bool:
        """Whether ``container`` is a candidate (state included; count and caps are not)."""
        if self.state is not None and container.state != self.state:
            return False
        if self.name is not None and not fnmatch.fnmatchcase(container.name, self.name):
            return False
        if self.service is not None and container.compose_service != self.service:
            return False
        if self.project is not None and container.compose_project != self.project:
            return False
        if self.namespace is not None and container.namespace != self.namespace:
            return False
        if self.owner is not None and not _owner_matches(container.owner, self.owner):
            return False
        for key, pattern in self.labels.items():
            value = container.labels.get(key)
            if value is None or not fnmatch.fnmatchcase(value, pattern):
                return False
        return True

    def wanted(self, candidates: int) -> int:
        """How many of ``candidates`` the count or percent asks for (before caps)."""
        if self.count is not None:
            return min(self.count, candidates)
        if self.percent is not None:
            return min(candidates, max(1, math.ceil(candidates * self.percent / 100 - 1e-9)))
        return candidates

    def with_default_project(self, project: str | None) -> Selector:
        """This selector confined to ``project`` unless it names a project itself or says ``scope: any``."""
        if project is None or self.project is not None or self.scope == "any":
            return self
        return Selector(**{**self.as_dict(), "project": project})

    def requiring(self, labels: Mapping[str, str]) -> Selector:
        """This selector with ``labels`` required too; ``ValueError`` if it asks for another value of one."""
        clash = [k for k, v in labels.items() if k in self.labels and self.labels[k] != v]
        if clash:
            raise ValueError(f"the selector asks for label {clash[0]}={self.labels[clash[0]]} but the environment "
                             f"requires {clash[0]}={labels[clash[0]]}")
        return Selector(**{**self.as_dict(), "labels": {**self.labels, **labels}})

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in SELECTOR_KEYS}

    def __str__(self) -> str:
        """The string form :func:`parse_selector` reads back (defaults left out)."""
        terms = []
        for key in _MATCH_KEYS:
            if getattr(self, key) is not None:
                terms.append(f"{key}={getattr(self, key)}")
        terms += [f"label={k}={v}" for k, v in sorted(self.labels.items())]
        if self.state != "running":
            terms.append(f"state={self.state or 'any'}")
        for key in ("count", "percent", "max_fraction", "max_count"):
            if getattr(self, key) is not None:
                terms.append(f"{key}={getattr(self, key):g}")
        if self.scope != "project":
            terms.append(f"scope={self.scope}")
        if self.uncapped:
            terms.append("uncapped=true")
        return " ".join(terms)


def _owner_matches(owner: str | None, pattern: str) -> bool:
    """``Deployment/api`` matches that workload; ``api`` (no kind) matches a workload of that name of any kind."""
    if owner is None:
        return False
    return fnmatch.fnmatchcase(owner if "/" in pattern else owner.partition("/")[2], pattern)


def parse_selector(text: str) -> Selector:
    """A Selector from its string form; ``ValueError`` says which term is wrong."""
    values: dict[str, Any] = {}
    labels: dict[str, str] = {}
    for term in (t for t in re.split(r"[\s,]+", text.strip()) if t):
        key, sep, value = term.partition("=")
        if not sep:
            key, value = "name", term
        if not value:
            raise ValueError(f"selector term {term!r} has no value")
        if key in ("label", "labels"):
            label, lsep, label_value = value.partition("=")
            if not lsep or not label:
                raise ValueError(f"selector term {term!r}: expected label=KEY=VALUE")
            labels[label] = label_value
        elif key in _MATCH_KEYS:
            values[key] = value
        elif key == "state":
            values[key] = None if value == "any" else value
        elif key == "scope":
            values[key] = value
        elif key == "uncapped":
            if value not in ("true", "false"):
                raise ValueError(f"selector term {term!r}: expected uncapped=true or uncapped=false")
            values[key] = value == "true"
        elif key in ("count", "max_count"):
            if not value.isdigit():
                raise ValueError(f"selector term {term!r}: expected an integer")
            values[key] = int(value)
        elif key in ("percent", "max_fraction"):
            try:
                number = float(value.rstrip("%"))
            except ValueError:
                raise ValueError(f"selector term {term!r}: expected a number") from None
            values[key] = number / 100 if key == "max_fraction" and value.endswith("%") else number
        else:
            raise ValueError(f"selector term {term!r}: unknown key {key!r}; expected one of {', '.join(SELECTOR_KEYS)}")
    if labels:
        values["labels"] = labels
    return Selector(**values)
