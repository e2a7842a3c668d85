"""HTTP/1.1 on the wire, as much of it as the api needs: a request head parsed, a response rendered.

The api's clients are nginx (keep-alive HTTP/1.1, bodies always with a
Content-Length, since it buffers request bodies) and the container's health
check (HTTP/1.0). So the parser is strict and small: no chunked bodies (501),
no header line folding, no whitespace before a header's colon (400: the
ambiguities request smuggling lives on). Pure: bytes in, values or
:class:`HttpError` out, so every rule is unit-tested without a socket.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field
from http import HTTPStatus

__all__ = ["MAX_HEAD", "HttpError", "Request", "Response", "json_response", "parse_head", "render_response"]

# Longest request head accepted (aiohttp's and nginx's default line limit is about this).
MAX_HEAD = 8192
# Methods and header names are tokens (RFC 9110, 5.6.2).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# One header line: a token, a colon, the value without the whitespace around it.
_FIELD = re.compile(r"^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*\r$", re.MULTILINE)
_VERSION = re.compile(r"HTTP/[0-9]\.[0-9]")
# Control characters but tab; searched for once the CRLFs are out, so a bare CR or LF is one too.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class HttpError(Exception):
    """The request cannot be read as HTTP: answer ``status`` with a JSON error, then close the connection."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(slots=True)
class Request:
    method: str
    path: str  # percent-decoded
    query_string: str  # raw, as sent
    version: str  # "1.0" or "1.1"
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    content_length: int = 0
    keep_alive: bool = True
    body: bytes = b""
    match_info: dict[str, str] = field(default_factory=dict)  # path parameters, filled by the router


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] | None = None
    content_type: str = "application/json"


def json_response(data: object, status: int = 200) -> Response:
    return Response(status, json.dumps(data).encode("utf-8"))


def parse_head(raw: bytes) -> Request:
    """The request line and headers (``raw`` excludes the blank line that ends them)."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise HttpError(400, "bad_request", "the request head is not ASCII") from None
    if _CONTROL.search(text.replace("\r\n", "")):
        raise HttpError(400, "bad_request", "control characters, or a bare CR or LF, in the request head")
    request_line, _, header_block = text.partition("\r\n")
    parts = request_line.split(" ")
    if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]):
        raise HttpError(400, "bad_request", f"malformed request line {request_line[:100]!r}")
    method, target, version = parts
    if version == "HTTP/1.1":
        version = "1.1"
    elif version == "HTTP/1.0":
        version = "1.0"
    elif _VERSION.fullmatch(version):
        raise HttpError(505, "http_version_not_supported", f"{version} is not supported: use HTTP/1.1")
    else:
        raise HttpError(400, "bad_request", f"malformed protocol version {version[:20]!r}")
    if not target.startswith("/"):
        raise HttpError(400, "bad_request", "the request target must be a path starting with /")
    path, _, query = target.partition("?")
    if "%" in path:
        try:
            path = urllib.parse.unquote(path, errors="strict")
        except UnicodeDecodeError:
            raise HttpError(400, "bad_request", "the path is not valid percent-encoded UTF-8") from None
    headers: dict[str, str] = {}
    if header_block:
        header_block += "\r\n"
        fields = _FIELD.findall(header_block)
        if len(fields) != header_block.count("\n"):
            raise HttpError(400, "bad_request", "malformed header line (not 'Name: value')")
        for name, value in fields:
            name = name.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
    request = Request(method, path, query, version, headers)
    if "transfer-encoding" in headers:
        raise HttpError(501, "not_implemented", "Transfer-Encoding is not supported: send a Content-Length")
    length = headers.get("content-length")
    if length is not None:
        # Repeated, they must agree ("5, 5"); anything else is how smuggling starts.
        values = {v.strip() for v in length.split(",")}
        if len(values) != 1:
            raise HttpError(400, "bad_request", "conflicting Content-Length headers")
        (length,) = values
        if not length.isascii() or not length.isdigit() or len(length) > 15:
            raise HttpError(400, "bad_request", f"malformed Content-Length {length[:20]!r}")
        request.content_length = int(length)
    connection = headers.get("connection", "").lower()
    if version == "1.1":
        request.keep_alive = "close" not in connection
    else:
        request.keep_alive = "keep-alive" in connection
    return request


_STATUS_LINES: dict[int, str] = {}


def _status_line(status: int) -> str:
    line = _STATUS_LINES.get(status)
    if line is None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        line = _STATUS_LINES[status] = f"HTTP/1.1 {status} {phrase}\r\n"
    return line


def render_response(response: Response, date: str, keep_alive: bool, version: str = "1.1",
                    head_only: bool = False) -> bytes:
    """Status line, headers and body; ``head_only`` (a HEAD request) leaves the body out but not its length."""
    head = (
        f"{_status_line(response.status)}Content-Type: {response.content_type}\r\n"
        f"Content-Length: {len(response.body)}\r\nDate: {date}\r\n"
    )
    if response.headers:
        head += "".join(f"{name}: {value}\r\n" for name, value in response.headers.items())
    if not keep_alive:
        head += "Connection: close\r\n"
    elif version == "1.0":
        head += "Connection: keep-alive\r\n"
    data = (head + "\r\n").encode("latin-1")
    return data if head_only else data + response.body
