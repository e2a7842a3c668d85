"""Playing an experiment's extra ``rollbacks:`` actions (see :mod:`chaoskit.model.actions`).

They run after every fault was reverted, in order; a failing one is reported
and the others still run. Container actions look at containers in any state,
since starting a stopped one is their point.
"""

from __future__ import annotations

import dataclasses

from chaoskit.adapters import http
from chaoskit.adapters.backends import Backends
from chaoskit.errors import BackendError, ChaoskitError, HttpUnavailable
from chaoskit.model.experiment import Action
from chaoskit.run.observe import resolve
from chaoskit.targets.container import Container

__all__ = ["play"]


def play(action: Action, backends: Backends, project: str | None) -> None:
    """Carry out one action; ChaoskitError says what failed."""
    params = action.params
    if action.type == "toxiproxy.reset":
        backends.toxiproxy.reset()
    elif action.type == "toxiproxy.enable":
        backends.toxiproxy.set_enabled(params["proxy"], True)
    elif action.type == "http":
        try:
            answer = http.request(params.get("method") or "POST", params["url"], json=params.get("json"),
                                  timeout_s=params.get("timeout") or 5.0)
        except HttpUnavailable as exc:
            raise HttpUnavailable(f"rollback http {exc}") from exc
        if answer.status >= 400:
            raise BackendError(f"rollback http {params['url']}: answered {answer.status}")
    else:
        assert action.target is not None, "the loader requires a target for container and command actions"
        selector = dataclasses.replace(action.target, state=None)
        for container in resolve(backends, selector, project, None).chosen:
            _on_container(action, backends, container)


def _on_container(action: Action, backends: Backends, container: Container) -> None:
    engine, container_id, state = backends.engine, container.id, container.state
    if action.type == "container.start" and state != "running":
        engine.unpause(container_id) if state == "paused" else engine.start(container_id)
    elif action.type == "container.restart":
        engine.restart(container_id)
    elif action.type == "container.unpause" and state == "paused":
        engine.unpause(container_id)
    elif action.type == "command":
        cmd = action.params["cmd"]
        argv = ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        code, output = backends.targets.exec(container.ref(), argv, timeout_s=action.params["timeout"])
        if code != 0:
            raise ChaoskitError(f"rollback command in {container_id[:12]} exited {code}: {output.strip()[:200]}")
