"""The api's HTTP/1.1 wire format: request heads parsed strictly, responses rendered with their length."""

from __future__ import annotations

import json

import pytest

from timeline.http1 import HttpError, Response, json_response, parse_head, render_response

DATE = "Sat, 28 Nov 2026 01:00:00 GMT"


def test_parses_a_request_as_nginx_sends_it():
    """Method, decoded path, raw query, lower-case header names; HTTP/1.1 keeps the connection."""
    request = parse_head(b"GET /timeline/%34%32?limit=20&x=%20 HTTP/1.1\r\nHost: api_replicas\r\nX-Thing:  a b \t")
    assert (request.method, request.path, request.query_string) == ("GET", "/timeline/42", "limit=20&x=%20")
    assert request.version == "1.1" and request.keep_alive
    assert request.headers == {"host": "api_replicas", "x-thing": "a b"}
    assert request.content_length == 0


@pytest.mark.parametrize(
    ("version", "connection", "keep_alive"),
    [("1.1", None, True), ("1.1", "close", False), ("1.0", None, False), ("1.0", "Keep-Alive", True)],
)
def test_keep_alive_follows_the_version_and_connection_header(version, connection, keep_alive):
    """HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes it unless told to keep it."""
    head = f"GET /healthz HTTP/{version}" + (f"\r\nConnection: {connection}" if connection else "")
    assert parse_head(head.encode()).keep_alive is keep_alive


def test_repeated_headers_are_joined_and_equal_lengths_accepted():
    """Repeated headers join with ', '; a Content-Length repeated with the same value is that value."""
    request = parse_head(b"POST /tweets HTTP/1.1\r\nContent-Length: 12\r\nA: 1\r\ncontent-length: 12\r\na: 2")
    assert request.content_length == 12
    assert request.headers["a"] == "1, 2"


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GET /x HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4", 400),
        (b"GET /x HTTP/1.1\r\nContent-Length: -1", 400),
        (b"GET /x HTTP/1.1\r\nContent-Length: 1e3", 400),
        (b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked", 501),
        (b"GET /x HTTP/1.1\r\nHost : a", 400),
        (b"GET /x HTTP/1.1\r\n folded: line", 400),
        (b"GET /x HTTP/1.1\r\nno colon", 400),
        (b"GET /x HTTP/1.1\nHost: a", 400),
        (b"GET /x HTTP/1.1\r\nHost: a\rb", 400),
        (b"GET /x HTTP/1.1\r\nHost: a\x00", 400),
        (b"GET /x HTTP/1.1\r\nHost: \xc3\xa9", 400),
        (b"GET  /x HTTP/1.1", 400),
        (b"GET /x", 400),
        (b"G(T /x HTTP/1.1", 400),
        (b"GET x HTTP/1.1", 400),
        (b"GET http://host/x HTTP/1.1", 400),
        (b"GET /%ff HTTP/1.1", 400),
        (b"GET /x HTTP/2.0", 505),
        (b"GET /x HTTQ/1.1", 400),
    ],
)
def test_malformed_heads_are_refused_with_a_status(head, status):
    """Ambiguous lengths, chunked bodies, odd whitespace, control bytes, bad versions: an HTTP error."""
    with pytest.raises(HttpError) as caught:
        parse_head(head)
    assert caught.value.status == status and caught.value.code and caught.value.message


def test_renders_status_length_date_and_headers():
    """The status line, the body's length, the date and extra headers, then the body."""
    raw = render_response(Response(201, b'{"a":1}', {"X-Timeline-Source": "cache"}), DATE, keep_alive=True)
    head, body = raw.split(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 201 Created"
    assert set(lines[1:]) == {"Content-Type: application/json", "Content-Length: 7", f"Date: {DATE}",
                              "X-Timeline-Source: cache"}
    assert body == b'{"a":1}'


def test_rendering_for_closing_head_and_http_1_0():
    """Connection: close when closing; a HEAD answer keeps the length but not the body; 1.0 is told keep-alive."""
    response = Response(200, b"12345")
    closing = render_response(response, DATE, keep_alive=False)
    assert b"\r\nConnection: close\r\n" in closing and closing.endswith(b"\r\n\r\n12345")
    head_only = render_response(response, DATE, keep_alive=True, head_only=True)
    assert head_only.endswith(b"\r\n\r\n") and b"Content-Length: 5\r\n" in head_only
    assert b"Connection: keep-alive" in render_response(response, DATE, keep_alive=True, version="1.0")
    assert render_response(Response(599), DATE, keep_alive=True).startswith(b"HTTP/1.1 599 Unknown\r\n")


def test_json_response():
    """A JSON body with its status."""
    response = json_response({"ready": False}, status=503)
    assert response.status == 503 and json.loads(response.body) == {"ready": False}
    assert response.content_type == "application/json"
