"""Just enough HTTP/1.1 response parsing for a load generator (pure, incremental).

The generator only needs to know *when* a response ended, its status and
whether the connection may be reused: the body is skipped, headers are not
decoded. Framing follows RFC 9112 section 6.3: no body for HEAD, 1xx, 204 and
304; else ``Transfer-Encoding: chunked``; else ``Content-Length``; else the
body runs until the server closes the connection. One response at a time:
the generator does not pipeline, so bytes after a complete response mean the
connection is out of step and must not be reused.
"""

from __future__ import annotations

from chaoskit.errors import ProtocolError

__all__ = ["MAX_HEADER_BYTES", "ProtocolError", "ResponseParser"]

MAX_HEADER_BYTES = 65536
# How the body is delimited (RFC 9112 section 6.3).
_LENGTH, _CHUNKED, _UNTIL_CLOSE = 0, 1, 2


class ResponseParser:
    """Feed it the bytes of one response; it returns the status once the response is complete.

    After completion, ``keep_alive`` says whether the connection can carry the
    next request. Call :meth:`reset` before each request.
    """

    __slots__ = ("_buf", "_status", "_body_start", "_need", "_chunk_pos", "_mode", "_head_only", "keep_alive")

    def __init__(self) -> None:
        self._status = 0
        self._need = 0  # LENGTH framing: total bytes of the response
        self._chunk_pos = 0
        self._mode = _LENGTH
        self.keep_alive = True
        self.reset()

    def reset(self, head_only: bool = False) -> None:
        # Only what is read before the headers are parsed; _parse_head sets the rest.
        # (This runs once per request, on the hot path.)
        self._buf = b""
        self._body_start = -1  # -1: headers not complete yet
        self._head_only = head_only

    @property
    def reads_until_close(self) -> bool:
        """The response has no length: it ends when the server closes the connection."""
        return self._body_start >= 0 and self._mode == _UNTIL_CLOSE

    def feed(self, data: bytes) -> int | None:
        """Add received bytes; the status code when the response is complete, else None."""
        buf = self._buf + data if self._buf else data
        self._buf = buf
        if self._body_start < 0:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEADER_BYTES:
                    raise ProtocolError(f"no end of headers within {MAX_HEADER_BYTES} bytes")
                return None
            self._parse_head(buf, end)
            if self._body_start < 0:  # an interim 1xx response was skipped; the real one follows
                return self.feed(b"")
        mode = self._mode
        if mode == _UNTIL_CLOSE:
            return None
        if mode == _CHUNKED:
            return self._chunked_done()
        have = len(buf)
        if have < self._need:
            return None
        if have > self._need:
            self.keep_alive = False  # stray bytes: out of step, do not reuse
        return self._status

    def body(self) -> bytes:
        """The bytes after the headers of the response just completed (chunk framing left in)."""
        if self._body_start < 0:
            return b""
        end = self._need if self._mode == _LENGTH else len(self._buf)
        return self._buf[self._body_start:end]

    def eof(self) -> int | None:
        """The server closed the connection: the status if that completes the response, else None."""
        if self._body_start >= 0 and self._mode == _UNTIL_CLOSE:
            return self._status
        return None

    def _parse_head(self, buf: bytes, end: int) -> None:
        head = buf[:end + 2]  # keep the last CRLF so every header ends in "\r\n"
        cache = _HEAD_CACHE[self._head_only]
        known = cache.get(head)
        if known is None:
            known = _analyse_head(head, self._head_only)
            if len(cache) >= _HEAD_CACHE_SIZE:
                cache.clear()
            cache[head] = known
        status, keep_alive, mode, length = known
        if status < 200:
            self._buf = buf[end + 4:]  # interim response (100 Continue...): skip it
            return
        self._status = status
        self.keep_alive = keep_alive
        self._mode = mode
        body_start = self._body_start = end + 4
        self._need = body_start + length
        self._chunk_pos = body_start

    def _chunked_done(self) -> int | None:
        buf, pos = self._buf, self._chunk_pos
        while True:
            line_end = buf.find(b"\r\n", pos)
            if line_end < 0:
                return None
            try:
                size = int(buf[pos:line_end].split(b";", 1)[0], 16)
            except ValueError:
                raise ProtocolError(f"bad chunk size line {buf[pos:line_end][:40]!r}") from None
            if size == 0:
                # Trailers (usually none) end with an empty line.
                if buf[line_end + 2:line_end + 4] == b"\r\n":
                    done = line_end + 4
                else:
                    trailer_end = buf.find(b"\r\n\r\n", line_end + 2)
                    if trailer_end < 0:
                        return None
                    done = trailer_end + 4
                if len(buf) > done:
                    self.keep_alive = False
                return self._status
            next_pos = line_end + 2 + size + 2
            if len(buf) < next_pos:
                self._chunk_pos = pos
                return None
            pos = next_pos
            self._chunk_pos = pos


# A server answers the same request with the same head, byte for byte, except for
# what changes (Date, once a second): remembering heads already analysed saves
# the lower-casing and searching on most responses. Bounded; keyed by head_only.
_HEAD_CACHE_SIZE = 512
_HEAD_CACHE: tuple[dict[bytes, tuple[int, bool, int, int]], dict[bytes, tuple[int, bool, int, int]]] = ({}, {})


def _analyse_head(head: bytes, head_only: bool) -> tuple[int, bool, int, int]:
    """(status, keep-alive, body framing, body length) of a response head (pure)."""
    if head[:7] != b"HTTP/1." or len(head) < 12:
        raise ProtocolError(f"not an HTTP/1.x status line: {head[:40]!r}")
    try:
        status = int(head[9:12])
    except ValueError:
        raise ProtocolError(f"bad status code in {head[:40]!r}") from None
    if status < 200:
        return status, True, _LENGTH, 0
    # Headers are found by plain substring search in the lower-cased block (no
    # per-header parsing).
    lower = head.lower()
    pos = lower.find(b"\r\nconnection:")
    connection = lower[pos + 13:lower.find(b"\r\n", pos + 13)] if pos >= 0 else None
    if head[7:8] == b"0":  # HTTP/1.0 closes unless asked not to
        keep_alive = connection is not None and b"keep-alive" in connection
    else:
        keep_alive = connection is None or b"close" not in connection
    if head_only or status == 204 or status == 304:
        return status, keep_alive, _LENGTH, 0
    pos = lower.find(b"\r\ntransfer-encoding:")
    if pos >= 0 and b"chunked" in lower[pos:lower.find(b"\r\n", pos + 20)]:
        return status, keep_alive, _CHUNKED, 0
    pos = lower.find(b"\r\ncontent-length:")
    if pos >= 0:
        value = lower[pos + 17:lower.find(b"\r\n", pos + 17)]
        try:
            return status, keep_alive, _LENGTH, int(value)
        except ValueError:
            raise ProtocolError(f"bad Content-Length {value.strip()!r}") from None
    return status, False, _UNTIL_CLOSE, 0
