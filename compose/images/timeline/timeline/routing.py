"""Which handler serves a method and path: literal segments and ``{name}`` parameters, nothing more.

A ``{name}`` matches one non-empty path segment. A path that matches a route
but not its method resolves to no handler and the methods allowed (a 405);
a path that matches nothing, to neither (a 404). Pure.
"""

from __future__ import annotations

from typing import Generic, NamedTuple, TypeVar

__all__ = ["Match", "Router"]

H = TypeVar("H")


class Match(NamedTuple, Generic[H]):
    handler: H | None
    params: dict[str, str]
    allowed: tuple[str, ...] = ()  # when ``handler`` is None: the methods this path has (empty: no such path)


class _Route(Generic[H]):
    def __init__(self, segments: tuple[str, ...]) -> None:
        self.segments = segments
        # (index, name) of each parameter segment; the others must be equal.
        self.names = [(i, s[1:-1]) for i, s in enumerate(segments) if s.startswith("{")]
        self.literals = [(i, s) for i, s in enumerate(segments) if not s.startswith("{")]
        self.handlers: dict[str, H] = {}

    def params(self, segments: list[str]) -> dict[str, str] | None:
        for i, literal in self.literals:
            if segments[i] != literal:
                return None
        params = {name: segments[i] for i, name in self.names}
        return None if "" in params.values() else params


class Router(Generic[H]):
    def __init__(self) -> None:
        # By number of segments: a request is compared only with routes of its own length.
        self._routes: dict[int, list[_Route[H]]] = {}

    def add(self, method: str, pattern: str, handler: H) -> None:
        if not pattern.startswith("/"):
            raise ValueError(f"a route pattern starts with /, got {pattern!r}")
        segments = tuple(pattern.split("/"))
        routes = self._routes.setdefault(len(segments), [])
        route = next((r for r in routes if r.segments == segments), None)
        if route is None:
            route = _Route(segments)
            routes.append(route)
        route.handlers[method] = handler

    def resolve(self, method: str, path: str) -> Match[H]:
        segments = path.split("/")
        for route in self._routes.get(len(segments), ()):
            params = route.params(segments)
            if params is None:
                continue
            handler = route.handlers.get(method)
            if handler is None:
                return Match(None, {}, tuple(sorted(route.handlers)))
            return Match(handler, params)
        return Match(None, {})
