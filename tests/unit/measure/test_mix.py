"""The request mix: compiled request bytes and seeded draws of kind and user."""

from __future__ import annotations

import collections
import json

import pytest

from chaoskit.measure.mix import CompiledRequest, RequestMix
from chaoskit.model.load import RequestSpec, UserDistribution


def test_get_with_user_placeholder_renders_bytes():
    """A GET's URL placeholders are filled and the request is valid HTTP/1.1 with a Host header."""
    request = CompiledRequest.compile(RequestSpec("read", "http://127.0.0.1:8080/timeline/{user}?limit=20"))
    assert (request.host, request.port) == ("127.0.0.1", 8080)
    assert request.render(42, 7) == (
        b"GET /timeline/42?limit=20 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: chaoskit\r\n\r\n")


def test_request_without_placeholders_is_rendered_once():
    """A constant request returns the very same bytes object every time."""
    request = CompiledRequest.compile(RequestSpec("home", "http://localhost/"))
    assert request.render(1, 1) is request.render(2, 2)
    assert request.render(1, 1).startswith(b"GET / HTTP/1.1\r\nHost: localhost\r\n")


def test_json_body_placeholders_become_numbers_or_text():
    """An exact "{user}" string becomes a JSON number; inside a longer string it is substituted as text."""
    spec = RequestSpec("post", "http://127.0.0.1/tweets", method="post",
                       json={"user_id": "{user}", "text": "tweet {seq} by {user}", "n": 1})
    raw = CompiledRequest.compile(spec).render(1234, 99)
    head, body = raw.split(b"\r\n\r\n", 1)
    assert head.startswith(b"POST /tweets HTTP/1.1\r\n")
    assert b"Content-Type: application/json" in head
    assert f"Content-Length: {len(body)}".encode() in head
    assert json.loads(body) == {"user_id": 1234, "text": "tweet 99 by 1234", "n": 1}


def test_post_without_body_sends_zero_length():
    """A body-less POST says Content-Length: 0 so the server does not wait for a body."""
    raw = CompiledRequest.compile(RequestSpec("p", "http://127.0.0.1/x/{user}", method="POST")).render(5, 0)
    assert raw.endswith(b"Content-Length: 0\r\n\r\n") and raw.startswith(b"POST /x/5 ")


@pytest.mark.parametrize("url, port, host", [("https://api.example/", 443, b"Host: api.example\r\n"),
                                             ("https://api.example:8443/", 8443, b"Host: api.example:8443\r\n")])
def test_https_goes_to_port_443_unless_told(url, port, host):
    """An https:// URL is a TLS request, to port 443 by default (left out of the Host header, as 80 is)."""
    request = CompiledRequest.compile(RequestSpec("x", url))
    assert request.https and request.port == port and host in request.render(1, 0)


def test_other_schemes_are_refused():
    """Only http:// and https:// are spoken, and the error says so."""
    with pytest.raises(ValueError, match="expected an http:// or https:// URL"):
        CompiledRequest.compile(RequestSpec("x", "ftp://127.0.0.1/"))


def test_draws_are_a_function_of_the_seed():
    """The same seed replays the same kinds and users; another seed does not."""
    specs = (RequestSpec("a", "http://h/a"), RequestSpec("b", "http://h/b"))
    first = RequestMix(specs, UserDistribution(count=100), seed=7).draw(3000)
    again = RequestMix(specs, UserDistribution(count=100), seed=7).draw(3000)
    other = RequestMix(specs, UserDistribution(count=100), seed=8).draw(3000)
    assert first == again
    assert first != other


def test_weights_set_the_mix():
    """Kinds are drawn in proportion to their weights; a zero weight is never drawn."""
    specs = (RequestSpec("read", "http://h/r", weight=9), RequestSpec("post", "http://h/p", weight=1),
             RequestSpec("never", "http://h/n", weight=0))
    counts = collections.Counter(kind for kind, _ in RequestMix(specs, UserDistribution(), seed=1).draw(20_000))
    assert counts[2] == 0
    assert 0.88 < counts[0] / 20_000 < 0.92


def test_users_are_zipf_skewed():
    """With exponent 1 user 1 is drawn about twice as often as user 2; exponent 0 is uniform."""
    spec = (RequestSpec("r", "http://h/{user}"),)
    skewed = collections.Counter(u for _, u in RequestMix(spec, UserDistribution(1000, 1.0), 3).draw(50_000))
    assert skewed[1] / skewed[2] == pytest.approx(2.0, rel=0.15)
    assert min(skewed) >= 1 and max(skewed) <= 1000
    uniform = collections.Counter(u for _, u in RequestMix(spec, UserDistribution(10, 0.0), 3).draw(50_000))
    assert set(uniform) == set(range(1, 11))
    assert max(uniform.values()) / min(uniform.values()) < 1.1


@pytest.mark.parametrize("specs", [(), (RequestSpec("a", "http://h/"), RequestSpec("a", "http://h/b"))])
def test_rejects_empty_or_duplicate_names(specs: tuple[RequestSpec, ...]):
    """A mix needs at least one request and unique names."""
    with pytest.raises(ValueError):
        RequestMix(specs, UserDistribution())


@pytest.mark.parametrize("url", ["http://h/t/{user}?limit=5", "http://h/{seq}", "http://h/a/{user}/b/{seq}",
                                 "http://h/t/{user}?q=100%25"])
def test_fast_and_general_rendering_agree(url: str):
    """The single-placeholder fast path renders exactly what the general path does."""
    request = CompiledRequest.compile(RequestSpec("r", url))
    for user, seq in [(1, 2), (98765, 0), (7, 123456)]:
        assert request.render(user, seq) == request._build(user, seq)
        assert str(user if "{user}" in url else seq).encode() in request.render(user, seq)
