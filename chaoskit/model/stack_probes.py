"""What the sample stack's probes (``timeline.*``) accept, and what they need from the rest of the experiment.

Their ``params:`` are declared like a fault's (a :class:`FaultSignature`), so
the loader checks them with file, line and key, and the schema publishes
them. :func:`stack_probe_problems` says what makes a probe unable to work
(a durability probe whose load captures no tweet ids, say); the loader
reports it as an invalid file and the run's preflight refuses it, with the
same words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from chaoskit.model.load import LoadSpec, RequestSpec
from chaoskit.model.params import FaultSignature, ParamSpec

__all__ = ["AUDIT_PROBE_TYPES", "STACK_PROBE_SIGNATURES", "api_url", "capturing_request", "stack_probe_problems",
           "with_defaults"]

_URL = re.compile(r"(https?://[^/\s]+)")

# The audits' shared parameters: which acknowledged writes they check, and where the API is.
_AUDITED_WRITES = (
    ParamSpec("request", "str", doc="the load request whose captured tweet ids are checked; "
              "default: the one request with capture:"),
    ParamSpec("url", "str", doc="base URL of the timeline API; default: that request's scheme://host:port"),
)

STACK_PROBE_SIGNATURES: dict[str, FaultSignature] = {
    "timeline.fanout_lag": FaultSignature(
        params=(
            ParamSpec("url", "str", required=True, doc="base URL of the timeline API, e.g. http://127.0.0.1:8080"),
            ParamSpec("poster", "int", min=1, doc="who posts; default: the first ordinary user (no celebrity: their "
                      "tweets are merged at read time, not fanned out) who has followers"),
            ParamSpec("follower", "int", min=1, doc="whose home timeline is polled (with poster); "
                      "default: the poster's first follower"),
            ParamSpec("timeout", "duration", default=60.0, min=0.001,
                      doc="a tweet not in the timeline by then counts as never shown"),
            ParamSpec("poll_every", "duration", default=0.05, min=0.001, doc="pause between timeline reads"),
            ParamSpec("limit", "int", default=200, min=1, max=800, doc="timeline entries looked through"),
        ),
        target="none",
        doc="post, then time until the tweet is in a follower's home timeline (seconds)",
    ),
    "timeline.durability": FaultSignature(
        params=(
            *_AUDITED_WRITES,
            ParamSpec("database", "bool", default=True, doc="also look the tweets up in Postgres (psql through the "
                      "Docker engine, in the compose project's postgres service)"),
            ParamSpec("budget", "duration", default=60.0, min=0.001,
                      doc="time allowed for the checks; tweets left unchecked are unverified"),
            ParamSpec("workers", "int", default=8, min=1, max=64, doc="checks made at once"),
        ),
        target="none",
        doc="once, after recovery: acknowledged tweets (201) that can no longer be read (count)",
    ),
    "timeline.fanout_complete": FaultSignature(
        params=(
            *_AUDITED_WRITES,
            ParamSpec("budget", "duration", default=30.0, min=0.001,
                      doc="how long to wait for tweets still pending fan-out in Postgres (the outbox sweep "
                          "catches up after TIMELINE_OUTBOX_DELAY_MS)"),
            ParamSpec("sample", "int", default=20, min=1, max=500,
                      doc="tweets still pending after the wait looked for in a follower's cached timeline"),
        ),
        target="none",
        doc="once, after recovery: acknowledged tweets (201) whose fan-out was lost: still pending in Postgres "
            "and absent from a follower's cached timeline (count)",
    ),
}

# Probes checked once after recovery, on the ids the load captured from its posts' answers.
AUDIT_PROBE_TYPES = ("timeline.durability", "timeline.fanout_complete")


def with_defaults(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` completed with the signature's defaults (the loader does this; a probe built in code may not)."""
    defaults = {p.name: p.default for p in STACK_PROBE_SIGNATURES[kind].params if p.default is not None}
    return {**defaults, **params}


def capturing_request(params: Mapping[str, Any], load: LoadSpec | None,
                      kind: str = "timeline.durability") -> RequestSpec:
    """The load request whose captured ids an audit probe (``kind``) checks; ``ValueError`` says why there is none."""
    if load is None:
        raise ValueError(f"{kind} checks the tweets the load posted: it needs a load: block "
                         "whose posting request has capture: id")
    capturing = [r for r in load.requests if r.capture]
    name = params.get("request")
    if name is None:
        if len(capturing) == 1:
            return capturing[0]
        if not capturing:
            raise ValueError("no load request captures the ids of the tweets it posts: "
                             "add capture: id to the request that posts them")
        raise ValueError(f"several load requests capture ({', '.join(r.name for r in capturing)}): "
                         "say which with params.request")
    request = next((r for r in load.requests if r.name == name), None)
    if request is None:
        raise ValueError(f"no load request named {name!r} (requests: {', '.join(r.name for r in load.requests)})")
    if not request.capture:
        raise ValueError(f"load request {name!r} captures nothing: add capture: id to it, "
                         "so the ids of the tweets it posted are kept")
    return request


def api_url(params: Mapping[str, Any], request: RequestSpec | None = None) -> str:
    """The API base URL: ``params.url``, else the origin of the request the probe reads from."""
    given = params.get("url")
    if given is not None:
        return str(given).rstrip("/")
    match = _URL.match(request.url) if request is not None else None
    if match is None:
        raise ValueError("params.url is needed: the base URL of the timeline API")
    return match.group(1)


def stack_probe_problems(
    kind: str, params: Mapping[str, Any], load: LoadSpec | None, project: str | None
) -> list[tuple[str, str]]:
    """What keeps a ``timeline.*`` probe from working: (params key or "", message) each; empty when it can run."""
    problems: list[tuple[str, str]] = []
    url = params.get("url")
    if url is not None and not _URL.match(str(url)):
        problems.append(("url", f"expected an http:// or https:// URL; got {url!r}"))
    if kind == "timeline.fanout_lag":
        if url is None:
            problems.append(("url", "the base URL of the timeline API is needed"))
        if params.get("follower") is not None and params.get("poster") is None:
            problems.append(("follower", "follower goes with poster: give both, or neither to let the probe pick"))
    elif kind in AUDIT_PROBE_TYPES:
        try:
            request = capturing_request(params, load, kind)
        except ValueError as exc:
            problems.append(("request" if "request" in params else "", str(exc)))
        else:
            if url is None and _URL.match(request.url) is None:
                problems.append(("url", f"cannot tell the API from request {request.name!r}'s URL: give params.url"))
        if kind == "timeline.fanout_complete" and not project:
            problems.append(("", "which tweets are still pending fan-out is asked of Postgres: it needs "
                                 "environment.compose_project (its postgres service)"))
        elif params.get("database", True) and not project:
            problems.append(("database", "looking tweets up in Postgres needs environment.compose_project "
                                         "(its postgres service); set it, or database: false"))
    return problems
