"""Response framing: when a response ends, its status, and whether the connection can be reused."""

from __future__ import annotations

import pytest

from chaoskit.measure.http1 import ProtocolError, ResponseParser

NGINX_OK = (b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n")


def parse(*pieces: bytes, head_only: bool = False) -> tuple[list[int | None], ResponseParser]:
    parser = ResponseParser()
    parser.reset(head_only)
    return [parser.feed(p) for p in pieces], parser


def test_content_length_response_in_one_piece():
    """A Content-Length response completes with its status and keeps the connection."""
    results, parser = parse(NGINX_OK)
    assert results == [200] and parser.keep_alive


@pytest.mark.parametrize("cut", range(1, len(NGINX_OK)))
def test_response_split_anywhere_completes_only_at_its_end(cut: int):
    """However the bytes arrive, the response is complete exactly when the last byte is in."""
    results, _ = parse(NGINX_OK[:cut], NGINX_OK[cut:])
    assert results == [None, 200]


def test_chunked_response_split_in_the_middle_of_a_chunk():
    """A chunked body ends at the zero-size chunk, wherever the reads split it."""
    raw = (b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n")
    for cut in range(1, len(raw)):
        results, parser = parse(raw[:cut], raw[cut:])
        assert results == [None, 503], cut
        assert parser.keep_alive


def test_chunked_response_with_trailers():
    """Trailer fields after the last chunk are skipped up to the empty line."""
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\n"
    assert parse(raw[:-2], raw[-2:])[0] == [None, 200]


def test_connection_close_is_honoured():
    """`Connection: close` (nginx's last response on a connection) forbids reuse."""
    results, parser = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    assert results == [200] and not parser.keep_alive


def test_http10_closes_unless_keep_alive():
    """An HTTP/1.0 response closes the connection unless it says keep-alive."""
    assert not parse(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")[1].keep_alive
    assert parse(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: Keep-Alive\r\n\r\n")[1].keep_alive


def test_no_body_for_204_and_head():
    """204 and answers to HEAD end at the headers, whatever Content-Length says."""
    assert parse(b"HTTP/1.1 204 No Content\r\n\r\n")[0] == [204]
    assert parse(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", head_only=True)[0] == [200]


def test_body_until_close():
    """A response without length ends when the server closes the connection."""
    results, parser = parse(b"HTTP/1.1 200 OK\r\n\r\nsome", b" body")
    assert results == [None, None]
    assert parser.reads_until_close and not parser.keep_alive
    assert parser.eof() == 200


def test_eof_before_the_end_is_not_a_response():
    """A connection closed halfway through a Content-Length body completes nothing."""
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    assert parser.eof() is None


def test_interim_100_continue_is_skipped():
    """A 100 Continue before the real response is not taken for it."""
    assert parse(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nid")[0] == [201]


def test_stray_bytes_after_the_response_forbid_reuse():
    """Bytes beyond the response mean the connection is out of step."""
    results, parser = parse(NGINX_OK + b"HTTP/1.1")
    assert results == [200] and not parser.keep_alive


@pytest.mark.parametrize("raw", [b"SSH-2.0-OpenSSH\r\n\r\n", b"HTTP/1.1 abc OK\r\n\r\n",
                                 b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"])
def test_garbage_is_a_protocol_error(raw: bytes):
    """Something that is not an HTTP/1.x response raises ProtocolError."""
    with pytest.raises(ProtocolError):
        parse(raw)


def test_reset_starts_a_new_response():
    """After reset the parser reads the next response on the same connection."""
    parser = ResponseParser()
    assert parser.feed(NGINX_OK) == 200
    parser.reset()
    assert parser.feed(NGINX_OK.replace(b"200 OK", b"404 Not Found")) == 404


def test_body_of_the_completed_response():
    """body() gives what followed the headers, for Content-Length framing and beyond."""
    parser = ResponseParser()
    parser.feed(b'HTTP/1.1 201 Created\r\nContent-Length: 9\r\n\r\n{"id":42}')
    assert parser.body() == b'{"id":42}'
