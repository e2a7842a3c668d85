"""The write audits and TLS settings in experiment files: typed once at load, every problem at its key."""

from __future__ import annotations

import textwrap

import pytest

from chaoskit.model import (
    HttpProbe,
    PendingProbe,
    ReadableProbe,
    StoreCommand,
    TlsSpec,
    VisibleProbe,
    load_experiment,
)
from chaoskit.model.tolerance import Check, Threshold
from chaoskit.targets.selector import Selector

from .catalogue import SIGNATURES
from .test_loader import BASE, parse, problems, where

EXPERIMENT = BASE.replace(
    "    - {name: read, url: \"http://127.0.0.1:8080/timeline/{user}\"}\n",
    "    - {name: read, url: \"http://127.0.0.1:8080/timeline/{user}\"}\n"
    "    - {name: post, method: POST, url: \"http://127.0.0.1:8080/tweets\", json: {user_id: \"{user}\"}, capture: id}\n",
).replace(
    "    - {name: p99, type: load, metric: p99, tolerance: 250ms}\n",
    "    - {name: lost, type: writes.readable, url: \"http://127.0.0.1:8080/tweets/{id}\", tolerance: 0}\n"
    "    - {name: lag, type: writes.visible, write: {url: \"http://127.0.0.1:8080/tweets\", json: {user_id: 7}},\n"
    "       read: \"http://127.0.0.1:8080/timeline/19\", tolerance: 5s}\n"
    "    - {name: left, type: writes.pending, pending: {target: {service: postgres}, cmd: \"psql -c '{ids}'\"},\n"
    "       tolerance: 0}\n",
)
LOST = '{name: lost, type: writes.readable, url: "http://127.0.0.1:8080/tweets/{id}", tolerance: 0}'


def test_every_write_probe_is_typed_with_its_defaults_and_its_request_resolved():
    """The capturing request is found at load time; durations, bounds and commands are typed values."""
    probes = {p.name: p for p in parse(EXPERIMENT).steady_state.probes}
    lost, lag, left = probes["lost"], probes["lag"], probes["left"]
    assert lost == ReadableProbe("lost", "post", "http://127.0.0.1:8080/tweets/{id}", (Check("value", Threshold(max=0.0)),))
    assert isinstance(lag, VisibleProbe) and lag.write.method == "POST" and lag.write.capture == "id"
    assert (lag.within_s, lag.poll_every_s, lag.timeout_s, lag.checks) == (60.0, 0.05, 2.0,
                                                                           (Check("value", Threshold(max=5.0)),))
    assert left == PendingProbe("left", "post", StoreCommand(Selector(service="postgres", project="chaoskit"),
                                                             "psql -c '{ids}'"), (Check("value", Threshold(max=0.0)),))


def test_readable_with_a_store_and_its_bounds():
    """stored, lost_status, budget, workers and timeout are read as given."""
    text = EXPERIMENT.replace(LOST, "{name: lost, type: writes.readable, request: post, url: \"https://a/t/{id}\", "
                              "lost_status: [404, 410], budget: 2m, workers: 4, timeout: 500ms, tls: {verify: false}, "
                              "stored: {target: {service: db}, cmd: [q, \"{ids}\"], batch: 100}, tolerance: 0}")
    lost = parse(text).steady_state.probe("lost")
    assert isinstance(lost, ReadableProbe)
    assert (lost.lost_status, lost.budget_s, lost.workers, lost.timeout_s, lost.tls) == ((404, 410), 120.0, 4, 0.5,
                                                                                        TlsSpec(verify=False))
    assert lost.stored == StoreCommand(Selector(service="db", project="chaoskit"), ("q", "{ids}"), 100)


def test_no_capturing_request():
    """No request captures ids: each audit's type says what to add."""
    found = problems(EXPERIMENT.replace(", capture: id}", "}"))
    assert where(found) == {(12, "steady_state.probes[0].type"), (15, "steady_state.probes[2].type")}
    assert "add capture: id (the key of the id in its answers) to the request that writes" in found[0].message


@pytest.mark.parametrize(
    ("request_name", "message"),
    [("read", "load request 'read' captures nothing: add capture: id"),
     ("nope", "no load request named 'nope' (requests: read, post)")],
)
def test_naming_a_request_that_captures_nothing_or_does_not_exist(request_name: str, message: str):
    """request: names a request without capture, or none: the problem points at that value."""
    found = problems(EXPERIMENT.replace("type: writes.readable,", f"type: writes.readable, request: {request_name},"))
    assert where(found) == {(12, "steady_state.probes[0].request")} and found[0].message.startswith(message)


def test_several_capturing_requests_need_a_name():
    """Two requests capture: which one an audit checks must be said."""
    text = EXPERIMENT.replace("    - {name: read, url: \"http://127.0.0.1:8080/timeline/{user}\"}\n",
                              "    - {name: read, url: \"http://127.0.0.1:8080/timeline/{user}\", capture: id}\n")
    found = problems(text.replace("type: writes.pending,", "type: writes.pending, request: post,"))
    assert [(p.key, p.message) for p in found] == [
        ("steady_state.probes[0].request", "several load requests capture (read, post): say which with request:")]


def test_audits_without_a_load():
    """Without a load there is nothing acknowledged to check: said once per audit, at its type."""
    text = EXPERIMENT[:EXPERIMENT.index("load:")] + EXPERIMENT[EXPERIMENT.index("steady_state:"):]
    found = problems(text)
    assert [p.message for p in found] == [
        "writes.readable checks the writes the load acknowledged: it needs a load: block whose writing request has "
        "capture: (the key of the id in its answers)",
        "writes.pending checks the writes the load acknowledged: it needs a load: block whose writing request has "
        "capture: (the key of the id in its answers)"]


@pytest.mark.parametrize(
    ("replacement", "key", "message"),
    [
        ('url: "http://127.0.0.1:8080/tweets/1"', "steady_state.probes[0].url", "expected a URL template with {id}"),
        ('url: "ftp://a/{id}"', "steady_state.probes[0].url", "expected an http:// or https:// URL"),
        ('url: "http://a/{id}", lost_status: 999', "steady_state.probes[0].lost_status", "expected an HTTP status"),
        ('url: "http://a/{id}", workers: 65', "steady_state.probes[0].workers", "expected at most 64 workers"),
        ('url: "http://a/{id}", budget: 0s', "steady_state.probes[0].budget", ""),
        ('url: "http://a/{id}", stored: {target: {service: db}, cmd: [q]}', "steady_state.probes[0].stored.cmd",
         "expected {ids} in the command"),
        ('url: "http://a/{id}", stored: {cmd: "q {ids}"}', "steady_state.probes[0].stored.target", ""),
        ('url: "http://a/{id}", tls: {verify: false}', "steady_state.probes[0].tls", "applies to https:// URLs"),
        ('url: "http://a/{id}", every: 5s', "steady_state.probes[0].every", ""),
    ],
)
def test_readable_keys_are_checked(replacement: str, key: str, message: str):
    """Each bad key of a write audit is one problem at its key, saying what was expected."""
    found = problems(EXPERIMENT.replace('url: "http://127.0.0.1:8080/tweets/{id}"', replacement))
    assert [p.key for p in found] == [key] and message in found[0].message, found


@pytest.mark.parametrize(
    ("tls", "key", "message"),
    [
        ("{key: k.pem}", "steady_state.probes[0].tls.key", "no such file"),
        ("{verfy: false}", "steady_state.probes[0].tls.verfy", "did you mean 'verify'?"),
        ("{verify: maybe}", "steady_state.probes[0].tls.verify", "expected true or false"),
    ],
)
def test_tls_settings_are_checked(tls: str, key: str, message: str):
    """tls: on a probe is read as the load's: verify, ca, cert, key and server_name, files that exist."""
    probe = f"{{name: lost, type: writes.readable, url: \"https://a/{{id}}\", tls: {tls}, tolerance: 0}}"
    found = problems(EXPERIMENT.replace(LOST, probe))
    assert key in [p.key for p in found] and any(message in p.message for p in found), found


def test_an_http_probe_takes_tls_for_https(tmp_path):
    """An https:// http probe keeps its TLS settings, typed, its files found from the experiment's directory."""
    for name in ("ca.pem", "c.pem", "k.pem"):
        (tmp_path / name).write_text("-")
    path = tmp_path / "exp.yaml"
    path.write_text(textwrap.dedent(EXPERIMENT).replace(LOST, "{name: web, type: http, url: \"https://127.0.0.1:8443/\", "
                    "tls: {ca: ca.pem, cert: c.pem, key: k.pem, server_name: api.test}}"))
    web = load_experiment(path, fault_params=SIGNATURES).steady_state.probe("web")
    assert isinstance(web, HttpProbe)
    assert web.tls == TlsSpec(True, str(tmp_path / "ca.pem"), str(tmp_path / "c.pem"), str(tmp_path / "k.pem"),
                              "api.test")


@pytest.mark.parametrize(
    ("replacement", "key", "message"),
    [
        ("write: {url: \"http://127.0.0.1:8080/tweets\", json: {user_id: 7}},\n       ",
         "steady_state.probes[1].read", "missing required key 'read'"),
        ('write: {json: {user_id: 7}}, read: "http://x", ', "steady_state.probes[1].write.url", "missing required"),
        ('write: {url: "http://x", verb: PUT}, read: "http://x", ', "steady_state.probes[1].write.verb", "unknown key"),
        ('write: {url: "http://x"}, read: "http://x", within: -1s, ', "steady_state.probes[1].within", ""),
    ],
)
def test_visible_keys_are_checked(replacement: str, key: str, message: str):
    """Each bad key of a visibility probe is one problem at its key."""
    old = ('write: {url: "http://127.0.0.1:8080/tweets", json: {user_id: 7}},\n'
           '       read: "http://127.0.0.1:8080/timeline/19", ')
    found = problems(EXPERIMENT.replace(old, replacement))
    assert [p.key for p in found] == [key] and message in found[0].message, found


def test_capture_must_be_a_key_name():
    """capture: takes the name of a key, not a list."""
    found = problems(EXPERIMENT.replace("capture: id", "capture: [id]"))
    assert (8, "load.requests[1].capture") in where(found)
