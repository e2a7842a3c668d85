"""The request mix: which request each arrival sends, for which user, as ready-to-write HTTP/1.1 bytes.

Pure: no I/O. Everything that can be decided ahead is compiled once (the
request line split around its placeholders, the JSON body rendered to text
with holes), so rendering one request is a few joins. Draws are a function of
the seed alone (arrivals are drawn in order, in chunks, from one seeded
generator), so a run's request sequence can be replayed.

Placeholders, in ``url`` and in string values of ``json``:

* ``{user}`` a user id drawn from the load's Zipf distribution (1..count);
* ``{seq}`` the arrival's index in the run (unique per run).

A JSON string that is exactly ``"{user}"`` or ``"{seq}"`` becomes a JSON
number (``{"user_id": "{user}"}`` sends ``{"user_id": 42}``); inside a longer
string the digits are substituted as text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlsplit

import numpy as np

from chaoskit.model.load import RequestSpec, UserDistribution

__all__ = ["CompiledRequest", "RequestMix", "DRAW_CHUNK"]

# Arrivals drawn per chunk: large enough that numpy's per-call cost vanishes,
# small enough that drawing one (about 0.2 ms) does not delay the arrivals behind it.
DRAW_CHUNK = 1024

_USER, _SEQ = 0, 1
_PLACEHOLDERS = {"{user}": _USER, "{seq}": _SEQ}
_NUMBER_SENTINELS = {"@@chaoskit:user@@": "{user}", "@@chaoskit:seq@@": "{seq}"}
_JSON_HOLES = re.compile(r'"@@chaoskit:(user|seq)@@"|\{(user|seq)\}')
_URL_HOLES = re.compile(r"\{(user|seq)\}")

Pieces = tuple[str | int, ...]
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _split(text: str, pattern: re.Pattern[str]) -> Pieces:
    """Text cut into literal strings and placeholder codes (_USER, _SEQ)."""
    pieces: list[str | int] = []
    pos = 0
    for match in pattern.finditer(text):
        if match.start() > pos:
            pieces.append(text[pos:match.start()])
        pieces.append(_USER if "user" in match.group(0) else _SEQ)
        pos = match.end()
    if pos < len(text):
        pieces.append(text[pos:])
    return tuple(pieces)


def _with_sentinels(value: object) -> object:
    """Replace exact ``"{user}"``/``"{seq}"`` strings by sentinels that json.dumps leaves intact."""
    if isinstance(value, dict):
        return {k: _with_sentinels(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_with_sentinels(v) for v in value]
    if value == "{user}":
        return "@@chaoskit:user@@"
    if value == "{seq}":
        return "@@chaoskit:seq@@"
    return value


@dataclass(frozen=True)
class CompiledRequest:
    """One request kind, compiled: where it goes and how its bytes are made."""

    name: str
    host: str
    port: int
    method: str
    path: Pieces
    head: str  # header lines after Host, each ending in CRLF, without Content-Length
    body: Pieces | None
    ok_status: frozenset[int]
    capture: str | None = None
    https: bool = False

    @classmethod
    def compile(cls, spec: RequestSpec) -> CompiledRequest:
        parts = urlsplit(spec.url)
        if parts.scheme not in _DEFAULT_PORTS:
            raise ValueError(f"request {spec.name!r}: expected an http:// or https:// URL, got {spec.url!r}")
        if not parts.hostname:
            raise ValueError(f"request {spec.name!r}: URL has no host: {spec.url!r}")
        default_port = _DEFAULT_PORTS[parts.scheme]
        port = parts.port or default_port
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = parts.hostname if port == default_port else f"{parts.hostname}:{port}"
        headers = {"Host": host_header, "User-Agent": "chaoskit", **spec.headers}
        body: Pieces | None = None
        if spec.json is not None:
            headers.setdefault("Content-Type", "application/json")
            text = json.dumps(_with_sentinels(spec.json), separators=(",", ":"))
            body = _split(text, _JSON_HOLES)
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items() if k.lower() != "content-length")
        return cls(spec.name, parts.hostname, port, spec.method.upper(), _split(target, _URL_HOLES), head, body,
                   frozenset(spec.ok_status), spec.capture, parts.scheme == "https")

    @cached_property
    def _parts(self) -> tuple[list[bytes], list[tuple[int, int]], list[bytes], list[tuple[int, int]], int]:
        """Head and body as byte pieces plus the positions of their holes, compiled once."""
        head_pieces: list[bytes] = [f"{self.method} ".encode()]
        head_holes: list[tuple[int, int]] = []
        for piece in self.path:
            if isinstance(piece, str):
                head_pieces.append(piece.encode())
            else:
                head_holes.append((len(head_pieces), piece))
                head_pieces.append(b"")
        head_pieces.append(f" HTTP/1.1\r\n{self.head}".encode())
        body_pieces: list[bytes] = []
        body_holes: list[tuple[int, int]] = []
        for piece in self.body or ():
            if isinstance(piece, str):
                body_pieces.append(piece.encode())
            else:
                body_holes.append((len(body_pieces), piece))
                body_pieces.append(b"")
        return head_pieces, head_holes, body_pieces, body_holes, sum(len(p) for p in body_pieces)

    @cached_property
    def _constant(self) -> bytes | None:
        """The request's bytes when it has no placeholder (most GETs): rendered once."""
        _, head_holes, _, body_holes, _ = self._parts
        return None if head_holes or body_holes else self._build(0, 0)

    @cached_property
    def _one_hole(self) -> tuple[bytes, int] | None:
        """(``%d`` template, placeholder) when the request is body-less with a single hole.

        The common case (``GET /items/{user}``) then renders with one bytes
        formatting: three times faster than concatenating, and no list for the
        GC to track.
        """
        head_pieces, head_holes, _, body_holes, _ = self._parts
        if self.body is not None or len(head_holes) != 1 or body_holes:
            return None
        (index, code), = head_holes
        whole = self._build(0, 0)
        before = b"".join(head_pieces[:index])
        after = whole[len(before) + 1:]  # a 0 stood in the hole
        return before.replace(b"%", b"%%") + b"%d" + after.replace(b"%", b"%%"), code

    def render(self, user: int, seq: int) -> bytes:
        """The full HTTP/1.1 request (head and body) for this user and sequence number."""
        constant = self._constant
        if constant is not None:
            return constant
        one = self._one_hole
        if one is not None:
            return one[0] % (user if one[1] == _USER else seq)
        return self._build(user, seq)

    def _build(self, user: int, seq: int) -> bytes:
        head_pieces, head_holes, body_pieces, body_holes, body_len = self._parts
        values = (user, seq)
        if head_holes:
            head_pieces = head_pieces.copy()
            for index, code in head_holes:
                head_pieces[index] = b"%d" % values[code]
        if self.body is None:
            # A body-less POST still says so, or servers wait for one (or answer 411).
            end = b"Content-Length: 0\r\n\r\n" if self.method in ("POST", "PUT", "PATCH") else b"\r\n"
            return b"".join(head_pieces) + end
        if body_holes:
            body_pieces = body_pieces.copy()
            for index, code in body_holes:
                digits = body_pieces[index] = b"%d" % values[code]
                body_len += len(digits)
        return b"".join(head_pieces) + b"Content-Length: %d\r\n\r\n" % body_len + b"".join(body_pieces)


class RequestMix:
    """The weighted mix of request kinds and the Zipf-skewed users, drawn per arrival from the seed."""

    def __init__(self, requests: tuple[RequestSpec, ...] | list[RequestSpec], users: UserDistribution, seed: int = 0):
        if not requests:
            raise ValueError("the load needs at least one request")
        names = [r.name for r in requests]
        if len(set(names)) != len(names):
            raise ValueError(f"request names must be unique, got {names}")
        weights = np.array([r.weight for r in requests], dtype=float)
        if (weights < 0).any() or not np.isfinite(weights).all() or weights.sum() <= 0:
            raise ValueError(f"request weights must be >= 0 and not all 0, got {list(weights)}")
        if users.count < 1:
            raise ValueError(f"users.count must be >= 1, got {users.count}")
        if users.zipf_exponent < 0:
            raise ValueError(f"users.zipf_exponent must be >= 0, got {users.zipf_exponent}")
        self.requests = tuple(CompiledRequest.compile(r) for r in requests)
        self.names = tuple(names)
        self.seed = seed
        self._type_cdf = np.cumsum(weights) / weights.sum()
        ranks = np.arange(1, users.count + 1, dtype=float)
        user_weights = ranks ** -users.zipf_exponent
        self._user_cdf = np.cumsum(user_weights) / user_weights.sum()

    def chunks(self) -> Iterator[tuple[list[int], list[int]]]:
        """(request-kind indices, user ids) for arrivals 0.., DRAW_CHUNK at a time, forever.

        One generator seeded once, drawn in order: the sequence is a function of
        the seed alone (seeding a generator per chunk costs more than the draws).
        """
        rng = np.random.default_rng(self.seed)
        last_kind, last_user = len(self.requests) - 1, len(self._user_cdf)
        while True:
            kinds = np.searchsorted(self._type_cdf, rng.random(DRAW_CHUNK), side="right")
            users = np.searchsorted(self._user_cdf, rng.random(DRAW_CHUNK), side="right") + 1
            # cumsum can end a hair below 1.0; a draw above it must not fall off the end.
            np.minimum(kinds, last_kind, out=kinds)
            np.minimum(users, last_user, out=users)
            yield kinds.tolist(), users.tolist()

    def draw(self, count: int) -> list[tuple[int, int]]:
        """(request-kind index, user id) of arrivals 0..count-1 (for tests and replay)."""
        out: list[tuple[int, int]] = []
        for kinds, users in self.chunks():
            out.extend(zip(kinds, users))
            if len(out) >= count:
                return out[:count]
        raise AssertionError("unreachable")
