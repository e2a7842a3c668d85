"""The api's router: literal segments and {name} parameters; a wrong method is told apart from a wrong path."""

from __future__ import annotations

import pytest

from timeline.routing import Router


@pytest.fixture
def router() -> Router[str]:
    router: Router[str] = Router()
    router.add("POST", "/tweets", "post")
    router.add("GET", "/tweets/{tweet_id}", "tweet")
    router.add("GET", "/users/{user_id}/followers", "followers")
    router.add("GET", "/healthz", "health")
    router.add("HEAD", "/healthz", "health-head")
    return router


def test_resolves_literals_and_parameters(router):
    """Each route's handler, with the parameters its braces name."""
    assert router.resolve("POST", "/tweets") == ("post", {}, ())
    assert router.resolve("GET", "/tweets/17") == ("tweet", {"tweet_id": "17"}, ())
    assert router.resolve("GET", "/users/5/followers") == ("followers", {"user_id": "5"}, ())


def test_a_known_path_with_another_method_names_the_allowed_ones(router):
    """A 405 needs the methods the path has, sorted."""
    match = router.resolve("DELETE", "/healthz")
    assert match.handler is None and match.allowed == ("GET", "HEAD")
    assert router.resolve("GET", "/tweets").allowed == ("POST",)


@pytest.mark.parametrize("path", ["/nothing", "/tweets/", "/tweets/1/", "/users//followers", "/users/5/following", ""])
def test_unknown_paths_resolve_to_nothing(router, path):
    """An empty segment never fills a parameter; extra or different segments match no route."""
    match = router.resolve("GET", path)
    assert match.handler is None and match.allowed == ()


def test_a_pattern_must_be_a_path():
    """Patterns start with a slash."""
    with pytest.raises(ValueError, match="starts with /"):
        Router().add("GET", "healthz", "x")
