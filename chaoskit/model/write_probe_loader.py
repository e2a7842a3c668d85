"""The write audits in experiment files (``writes.visible``, ``writes.readable``, ``writes.pending``), and ``tls:``
on the probes that speak HTTP (read as the load's, :func:`chaoskit.model.load.check_tls`).

Everything a write audit needs is checked here, once, with file, line and
key: URL templates that hold ``{id}``, commands that hold ``{ids}``, the load
request whose captured ids an audit checks (named, or the only one with
``capture:``). The run takes the frozen values as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from chaoskit.model.load import LoadSpec, TlsSpec, check_tls
from chaoskit.model.params import ParamSpec
from chaoskit.model.probes import (
    ID_FIELD,
    IDS_FIELD,
    PendingProbe,
    ReadableProbe,
    StoreCommand,
    VisibleProbe,
    WriteProbe,
    WriteRequest,
)
from chaoskit.model.source import Located
from chaoskit.model.tolerance import Check
from chaoskit.model.tolerance_loader import ToleranceChecker

__all__ = ["WRITE_PROBE_KEYS", "WriteProbeChecker"]

STORE_KEYS = ("target", "cmd", "batch")
WRITE_KEYS = ("url", "method", "json", "headers", "capture")
# Per write probe type: (keys beside name, type and tolerance; required ones).
WRITE_PROBE_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "writes.visible": (("write", "read", "within", "poll_every", "timeout", "tls", "every"), ("write", "read")),
    "writes.readable": (("request", "url", "lost_status", "stored", "budget", "workers", "timeout", "tls"),
                        ("url",)),
    "writes.pending": (("request", "pending", "within", "poll_every"), ("pending",)),
}


class WriteProbeChecker(ToleranceChecker):
    """The checker, taught the write audits and ``tls:`` on probes."""

    def write_probe(self, node: Located, keys: dict[str, Located], kind: str, name: str | None,
                    load: LoadSpec | None, has_load: bool, project: str | None) -> WriteProbe | None:
        before = self.count()
        judged = self.tolerance(keys["tolerance"], "duration" if kind == "writes.visible" else "number", bare="max")
        checks = (Check("value", judged),) if judged is not None else ()
        probe: WriteProbe | None
        if kind == "writes.visible":
            probe = self.visible(keys, name, checks)
        else:
            request = self.capturing_request(node, keys, kind, load, has_load)
            if kind == "writes.readable":
                probe = self.readable(keys, name, request, checks, project)
            else:
                probe = self.pending(keys, name, request, checks, project)
        return probe if self.count() == before else None

    def visible(self, keys: dict[str, Located], name: str | None, checks: tuple[Check, ...]) -> VisibleProbe | None:
        write = self.write_request(keys["write"])
        read = self.template(keys["read"], ID_FIELD, required=False)
        every = self.duration(keys["every"], positive=True) if "every" in keys else None
        tls = self.https_tls(keys, [write.url if write else None, read])
        return VisibleProbe(name or "writes visible", write, read, checks,  # type: ignore[arg-type]
                            **self.durations(keys, within=60.0, poll_every=0.05, timeout=2.0),
                            every_s=every, tls=tls)

    def readable(self, keys: dict[str, Located], name: str | None, request: str | None, checks: tuple[Check, ...],
                 project: str | None) -> ReadableProbe | None:
        url = self.template(keys["url"], ID_FIELD, required=True)
        lost = self.statuses(keys["lost_status"]) if "lost_status" in keys else (404,)
        stored = self.store_command(keys["stored"], project) if "stored" in keys else None
        workers = self.number(keys["workers"], minimum=1, integer=True) if "workers" in keys else 8
        if workers is not None and workers > 64:
            self.problem(keys["workers"], f"expected at most 64 workers; got {workers}")
        tls = self.https_tls(keys, [url])
        return ReadableProbe(name or "writes readable", request, url, checks, lost, stored,  # type: ignore[arg-type]
                             **self.durations(keys, budget=60.0, timeout=2.0), workers=workers, tls=tls)

    def pending(self, keys: dict[str, Located], name: str | None, request: str | None, checks: tuple[Check, ...],
                project: str | None) -> PendingProbe | None:
        pending = self.store_command(keys["pending"], project)
        return PendingProbe(name or "writes pending", request, pending, checks,  # type: ignore[arg-type]
                            **self.durations(keys, within=30.0, poll_every=0.5))

    def durations(self, keys: dict[str, Located], **defaults: float) -> dict[str, float | None]:
        """``name_s`` for each name given (positive durations), its default otherwise."""
        return {f"{k}_s": self.duration(keys[k], positive=True) if k in keys else v for k, v in defaults.items()}

    def capturing_request(self, node: Located, keys: dict[str, Located], kind: str, load: LoadSpec | None,
                          has_load: bool) -> str | None:
        """The name of the load request whose captured ids an audit checks."""
        if load is None:
            if not has_load:  # else the load's own problems say what is wrong
                self.problem(node.value["type"], f"{kind} checks the writes the load acknowledged: it needs a load: "
                                                 "block whose writing request has capture: (the key of the id in "
                                                 "its answers)")
            return None
        capturing = [r.name for r in load.requests if r.capture]
        if "request" not in keys:
            if len(capturing) == 1:
                return capturing[0]
            where = node.value["type"]
            if not capturing:
                self.problem(where, "no load request captures the ids of the writes it makes: add capture: id "
                                    "(the key of the id in its answers) to the request that writes")
            else:
                self.problem(where, f"several load requests capture ({', '.join(capturing)}): say which with "
                                    "request:", path=node.child_path("request"))
            return None
        name = self.text(keys["request"])
        names = [r.name for r in load.requests]
        if name is not None and name not in names:
            self.problem(keys["request"], f"no load request named {name!r} (requests: {', '.join(names)})")
        elif name is not None and name not in capturing:
            self.problem(keys["request"], f"load request {name!r} captures nothing: add capture: id to it, "
                                          "so the ids of the writes it made are kept")
        return name

    def template(self, node: Located, field: str, *, required: bool) -> str | None:
        """An http(s) URL; with ``required``, one that holds ``field`` (where each write's id goes)."""
        url = self.url(node)
        if url is not None and required and field not in url:
            self.problem(node, f"expected a URL template with {field} where each write's id goes; got {url!r}")
        return url

    def statuses(self, node: Located) -> tuple[int, ...] | None:
        elements = node.value if isinstance(node.value, list) else [node]
        codes = [self.number(e, minimum=100, integer=True) for e in elements]
        for element, code in zip(elements, codes, strict=True):
            if code is not None and code > 599:
                self.problem(element, f"expected an HTTP status code (100 to 599); got {code:g}")
        if not codes:
            self.problem(node, "expected a status code or a list of them")
        return tuple(cast(list[int], codes)) if codes and all(c is not None for c in codes) else None

    def store_command(self, node: Located, project: str | None) -> StoreCommand | None:
        keys = self.mapping(node, STORE_KEYS, required=("target", "cmd"))
        if keys is None:
            return None
        before = self.count()
        target = self.selector(keys["target"], project) if "target" in keys else None
        cmd = self.param_value(keys["cmd"], ParamSpec("cmd", "argv")) if "cmd" in keys else None
        if cmd is not None and not any(IDS_FIELD in part for part in ([cmd] if isinstance(cmd, str) else cmd)):
            self.problem(keys["cmd"], f"expected {IDS_FIELD} in the command, where a batch of write ids goes "
                                      "(comma-separated)")
        batch = self.number(keys["batch"], minimum=1, integer=True) if "batch" in keys else 5000
        if self.count() != before:
            return None
        return StoreCommand(target, cmd, batch)  # type: ignore[arg-type]

    def write_request(self, node: Located) -> WriteRequest | None:
        keys = self.mapping(node, WRITE_KEYS, required=("url",))
        if keys is None:
            return None
        before = self.count()
        url = self.url(keys["url"]) if "url" in keys else None
        method = self.http_method(keys["method"]) if "method" in keys else "POST"
        headers = self.string_map(keys["headers"]) if "headers" in keys else {}
        capture = self.text(keys["capture"]) if "capture" in keys else "id"
        if self.count() != before:
            return None
        body = keys["json"].plain() if "json" in keys else None
        return WriteRequest(url, method, body, headers, capture)  # type: ignore[arg-type]

    def https_tls(self, keys: dict[str, Located], urls: Sequence[str | None]) -> TlsSpec | None:
        """``tls:`` of a probe, which only means something for its https:// URLs."""
        if "tls" not in keys:
            return None
        tls = check_tls(self, keys["tls"])
        if tls is not None and not any(u is not None and u.startswith("https://") for u in urls):
            self.problem(keys["tls"], "tls: applies to https:// URLs, and this probe has none")
        return tls
