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

__all__ = ["MAX_HEADER_BYTES", "ProtocolError", "ResponseParser"]

MAX_HEADER_BYTES = 65536


class ProtocolError(Exception):
    """The bytes received are not an HTTP/1.x response the parser can follow."""


class ResponseParser:
    """Feed it the bytes of one response; it returns the status once the response is complete.

    After completion, ``keep_alive`` says whether the connection can carry the
    next request. Call :meth:`reset` before each request.
    """

    __slots__ = ("_buf", "_status", "_body_start", "_need", "_chunk_pos", "_chunked", "_until_close",
                 "_head_only", "keep_alive")

    def __init__(self) -> None:
        self.reset()

    def reset(self, head_only: bool = False) -> None:
        self._buf = b""
        self._status = 0
        self._body_start = -1  # -1: headers not complete yet
        self._need = 0  # for Content-Length framing: total bytes of the response
        self._chunk_pos = 0
        self._chunked = False
        self._until_close = False
        self._head_only = head_only
        self.keep_alive = True

    @property
    def reads_until_close(self) -> bool:
        """The response has no length: it ends when the server closes the connection."""
        return self._until_close

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
        if self._until_close:
            return None
        if self._chunked:
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
        end = self._need if not (self._chunked or self._until_close) else len(self._buf)
        return self._buf[self._body_start:end]

    def eof(self) -> int | None:
        """The server closed the connection: the status if that completes the response, else None."""
        if self._body_start >= 0 and self._until_close:
            return self._status
        return None

    def _parse_head(self, buf: bytes, end: int) -> None:
        if buf[:7] != b"HTTP/1." or len(buf) < 12:
            raise ProtocolError(f"not an HTTP/1.x status line: {buf[:40]!r}")
        try:
            status = int(buf[9:12])
        except ValueError:
            raise ProtocolError(f"bad status code in {buf[:40]!r}") from None
        if status < 200:
            self._buf = buf[end + 4:]  # interim response (100 Continue...): skip it
            return
        # Headers are found by plain substring search in the lower-cased block (no
        # per-header parsing): this runs once per request, on the hot path.
        head = buf[:end + 2].lower()  # keep the last CRLF so every header ends in "\r\n"
        self._status = status
        body_start = self._body_start = end + 4
        pos = head.find(b"\r\nconnection:")
        connection = head[pos + 13:head.find(b"\r\n", pos + 13)] if pos >= 0 else None
        if buf[7:8] == b"0":  # HTTP/1.0 closes unless asked not to
            self.keep_alive = connection is not None and b"keep-alive" in connection
        else:
            self.keep_alive = connection is None or b"close" not in connection
        if self._head_only or status == 204 or status == 304:
            self._need = body_start
            return
        pos = head.find(b"\r\ntransfer-encoding:")
        if pos >= 0 and b"chunked" in head[pos:head.find(b"\r\n", pos + 20)]:
            self._chunked = True
            self._chunk_pos = body_start
            return
        pos = head.find(b"\r\ncontent-length:")
        if pos >= 0:
            value = head[pos + 17:head.find(b"\r\n", pos + 17)]
            try:
                self._need = body_start + int(value)
            except ValueError:
                raise ProtocolError(f"bad Content-Length {value.strip()!r}") from None
            return
        self._until_close = True
        self.keep_alive = False

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

