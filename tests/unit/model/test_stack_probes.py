"""The sample stack's probes in experiment files: capture on requests, their params, what they need from the load."""

from __future__ import annotations

import pytest

from chaoskit.model import SampleProbe
from chaoskit.model.load import LoadSpec, RequestSpec
from chaoskit.model.stack_probes import api_url, capturing_request, stack_probe_problems
from chaoskit.model.tolerance import Check, Threshold

from .test_loader import BASE, parse, problems, where

EXPERIMENT = BASE.replace(
    "    - {name: read, url: \"http://127.0.0.1:8080/timeline/{user}\"}\n",
    "    - {name: read, url: \"http://127.0.0.1:8080/timeline/{user}\"}\n"
    "    - {name: post, method: POST, url: \"http://127.0.0.1:8080/tweets\", json: {user_id: \"{user}\"}, capture: id}\n",
).replace(
    "    - {name: p99, type: load, metric: p99, tolerance: 250ms}\n",
    "    - {name: lost, type: timeline.durability, tolerance: 0}\n"
    "    - {name: lag, type: timeline.fanout_lag, params: {url: \"http://127.0.0.1:8080\"}, tolerance: 5s}\n",
)


def test_capture_and_both_probes_parse_with_their_defaults():
    """capture: is kept on its request; each probe's params are typed and completed with defaults."""
    experiment = parse(EXPERIMENT)
    assert experiment.load.requests[1].capture == "id" and experiment.load.requests[0].capture is None
    lost, lag = experiment.steady_state.probes
    assert isinstance(lost, SampleProbe) and lost.type == "timeline.durability"
    assert lost.params == {"database": True, "budget": 60.0, "workers": 8}
    assert lost.checks == (Check("value", Threshold(max=0.0)),)
    assert lag.params == {"url": "http://127.0.0.1:8080", "timeout": 60.0, "poll_every": 0.05, "limit": 200}
    assert lag.checks == (Check("value", Threshold(max=5.0)),)


def test_durability_without_a_capturing_request_is_refused_at_its_line():
    """No request captures ids: the durability probe's line says what to add."""
    found = problems(EXPERIMENT.replace(", capture: id}", "}"))
    assert where(found) == {(12, "steady_state.probes[0]")}
    assert "add capture: id to the request that posts them" in found[0].message


def test_durability_naming_a_request_that_captures_nothing():
    """params.request names a request without capture: the problem points at that value."""
    found = problems(EXPERIMENT.replace("type: timeline.durability,", "type: timeline.durability, "
                                        "params: {request: read},"))
    assert where(found) == {(12, "steady_state.probes[0].params.request")}
    assert found[0].message.startswith("load request 'read' captures nothing: add capture: id")


def test_durability_naming_an_unknown_request():
    """A request name that is not in the load lists the names there are."""
    found = problems(EXPERIMENT.replace("type: timeline.durability,", "type: timeline.durability, "
                                        "params: {request: posts},"))
    assert found[0].message == "no load request named 'posts' (requests: read, post)"


def test_durability_in_postgres_needs_a_compose_project():
    """database: true (the default) needs the compose project; database: false does not."""
    text = EXPERIMENT.replace("environment: {compose_project: chaoskit}\n", "")
    found = problems(text)
    assert where(found) == {(11, "steady_state.probes[0].params.database")}
    assert "needs environment.compose_project" in found[0].message
    parse(text.replace("type: timeline.durability,", "type: timeline.durability, params: {database: false},"))


def test_durability_without_a_load():
    """Without a load there is nothing acknowledged to check: said once, at the probe."""
    text = EXPERIMENT.replace(EXPERIMENT[EXPERIMENT.index("load:"):EXPERIMENT.index("steady_state:")], "")
    found = problems(text.replace("    - {name: lag, type: timeline.fanout_lag, params: {url: \"http://127.0.0.1:8080\"}, "
                                  "tolerance: 5s}\n", ""))
    assert [p.message for p in found] == [
        "timeline.durability checks the tweets the load posted: it needs a load: block whose posting request has "
        "capture: id"]


@pytest.mark.parametrize(
    ("params", "key", "message"),
    [
        ("{}", "steady_state.probes[1].params.url", "timeline.fanout_lag needs parameter url"),
        ('{url: "http://a:1", follower: 3}', "steady_state.probes[1].params.follower", "follower goes with poster"),
        ('{url: "http://a:1", poster: 0}', "steady_state.probes[1].params.poster", "expected int >= 1"),
        ('{url: "http://a:1", timout: 5s}', "steady_state.probes[1].params.timout", "did you mean 'timeout'?"),
        ('{url: "ftp://a"}', "steady_state.probes[1].params.url", "expected an http:// or https:// URL"),
    ],
)
def test_fanout_params_are_checked(params: str, key: str, message: str):
    """Each bad fan-out parameter is one problem at its key, saying what was expected."""
    found = problems(EXPERIMENT.replace('params: {url: "http://127.0.0.1:8080"}', f"params: {params}"))
    assert [p.key for p in found] == [key] and message in found[0].message, found


def test_capture_must_be_a_key_name():
    """capture: takes the name of a key, not a list."""
    found = problems(EXPERIMENT.replace("capture: id", "capture: [id]"))
    assert where(found) == {(8, "load.requests[1].capture")}


def test_the_capturing_request_and_the_api_url_it_implies():
    """The one capturing request is the default; the API is its origin unless params.url says otherwise."""
    post = RequestSpec("post", "https://api.example:8443/v1/tweets", "POST", capture="id")
    load = LoadSpec(10, (RequestSpec("read", "http://x/timeline"), post))
    assert capturing_request({}, load) is post
    assert api_url({}, post) == "https://api.example:8443"
    assert api_url({"url": "http://other:1/"}, post) == "http://other:1"
    two = LoadSpec(10, (post, RequestSpec("again", "http://x/tweets", capture="id")))
    with pytest.raises(ValueError, match=r"several load requests capture \(post, again\)"):
        capturing_request({}, two)
    assert stack_probe_problems("timeline.durability", {"request": "again"}, two, "p") == []


def test_fanout_complete_parses_with_its_defaults_and_needs_what_durability_needs():
    """Declared params with defaults; a capturing request and a compose project (Postgres) are required."""
    text = EXPERIMENT.replace("    - {name: lost, type: timeline.durability, tolerance: 0}\n",
                              "    - {name: lost, type: timeline.fanout_complete, params: {sample: 5}, tolerance: 0}\n")
    lost, _ = parse(text).steady_state.probes
    assert isinstance(lost, SampleProbe) and lost.type == "timeline.fanout_complete"
    assert lost.params == {"budget": 30.0, "sample": 5} and lost.checks == (Check("value", Threshold(max=0.0)),)
    found = problems(text.replace(", capture: id}", "}"))
    assert [p.message for p in found] == ["no load request captures the ids of the tweets it posts: "
                                          "add capture: id to the request that posts them"]
    found = problems(text.replace("environment: {compose_project: chaoskit}\n", ""))
    assert where(found) == {(11, "steady_state.probes[0].params")}
    assert "still pending fan-out is asked of Postgres: it needs environment.compose_project" in found[0].message
    found = problems(text.replace("{sample: 5}", "{sample: 0, budjet: 5s}"))
    assert {p.key for p in found} == {"steady_state.probes[0].params.sample", "steady_state.probes[0].params.budjet"}
