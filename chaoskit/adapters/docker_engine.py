"""The one chokepoint for the Docker engine.

Everything else in chaoskit sees plain values (inspect dicts, exit codes) and
chaoskit's own errors: docker SDK and requests exceptions are translated here.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import docker
import docker.errors
import requests.exceptions

from chaoskit.adapters import host
from chaoskit.errors import BackendError, CommandTimedOut, EngineUnavailable, TargetNotFound

__all__ = ["DockerEngine"]

_CONNECTION_ERRORS = (requests.exceptions.ConnectionError, requests.exceptions.Timeout, ConnectionError)
# How long a timed-out exec's output reader is waited for once its processes were killed.
_ABANDON_AFTER_S = 2.0


class DockerEngine:
    """A connected Docker engine. Build it with :meth:`connect`; the constructor does no I/O."""

    def __init__(self, client: docker.DockerClient, where: str):
        self._client = client
        self.where = where

    @classmethod
    def connect(cls, base_url: str | None = None, timeout: float = 30.0) -> DockerEngine:
        where = base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        try:
            client = docker.DockerClient(base_url=base_url, timeout=int(timeout)) if base_url else docker.from_env(timeout=int(timeout))
            client.ping()
        except (docker.errors.DockerException, *_CONNECTION_ERRORS) as exc:
            raise EngineUnavailable(
                f"Docker engine at {where} did not answer ({_reason(exc)}); start it or set DOCKER_HOST"
            ) from exc
        return cls(client, where)

    @property
    def client(self) -> docker.DockerClient:
        """The raw SDK client, for test fixtures and benchmarks only."""
        return self._client

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        try:
            yield
        except docker.errors.NotFound as exc:
            raise TargetNotFound(f"{what}: not found on the Docker engine at {self.where}") from exc
        except docker.errors.APIError as exc:
            raise BackendError(f"{what}: the Docker engine refused: {exc.explanation or exc}") from exc
        except (docker.errors.DockerException, *_CONNECTION_ERRORS) as exc:
            raise EngineUnavailable(f"{what}: Docker engine at {self.where} did not answer ({_reason(exc)})") from exc

    def version(self) -> dict[str, Any]:
        with self._translated("version"):
            return dict(self._client.version())

    def list_containers(self, labels: Mapping[str, str | None] | None = None, include_stopped: bool = True) -> list[dict[str, Any]]:
        """Inspect data (as ``docker inspect`` gives it) of every container carrying ``labels``."""
        with self._translated("list containers"):
            # Other processes remove containers meanwhile; one gone between list and inspect is not an error.
            return [c.attrs for c in self._client.containers.list(all=include_stopped, filters=_label_filter(labels),
                                                                   ignore_removed=True)]

    def list_summaries(self, labels: Mapping[str, str | None] | None = None,
                       include_stopped: bool = True) -> list[dict[str, Any]]:
        """``docker ps`` rows (one API call, no inspect per container): what a frequent scan can afford."""
        with self._translated("list containers"):
            return self._client.api.containers(all=include_stopped, filters=_label_filter(labels))

    def inspect(self, container_id: str) -> dict[str, Any]:
        with self._translated(f"container {container_id}"):
            return self._client.api.inspect_container(container_id)

    def kill(self, container_id: str, signal: str = "SIGKILL") -> None:
        with self._translated(f"kill {container_id}"):
            self._client.api.kill(container_id, signal=signal)

    def stop(self, container_id: str, timeout_s: int = 10) -> None:
        with self._translated(f"stop {container_id}"):
            self._client.api.stop(container_id, timeout=timeout_s)

    def start(self, container_id: str) -> None:
        with self._translated(f"start {container_id}"):
            self._client.api.start(container_id)

    def restart(self, container_id: str, timeout_s: int = 10) -> None:
        with self._translated(f"restart {container_id}"):
            self._client.api.restart(container_id, timeout=timeout_s)

    def pause(self, container_id: str) -> None:
        with self._translated(f"pause {container_id}"):
            self._client.api.pause(container_id)

    def unpause(self, container_id: str) -> None:
        with self._translated(f"unpause {container_id}"):
            self._client.api.unpause(container_id)

    def disconnect(self, container_id: str, network: str) -> None:
        with self._translated(f"disconnect {container_id} from {network}"):
            self._client.api.disconnect_container_from_network(container_id, network, force=True)

    def connect_network(self, container_id: str, network: str, aliases: Sequence[str] = (),
                        ipv4_address: str | None = None, ipv6_address: str | None = None,
                        link_local_ips: Sequence[str] = (), links: Sequence[str] = ()) -> None:
        """Connect the container; addresses given are pinned, as a compose ``ipv4_address`` is."""
        # Links as inspect shows them ("container:alias"); the SDK wants (container, alias) pairs.
        pairs = [tuple(link.split(":", 1)) if ":" in link else (link, link) for link in links]
        with self._translated(f"connect {container_id} to {network}"):
            self._client.api.connect_container_to_network(
                container_id, network, aliases=list(aliases) or None, ipv4_address=ipv4_address,
                ipv6_address=ipv6_address, link_local_ips=list(link_local_ips) or None, links=pairs or None)

    def pids(self, container_id: str) -> list[int]:
        """Host PIDs of every process in the container, exec'd ones included (they are not PID 1's children)."""
        try:
            with self._translated(f"processes of {container_id}"):
                top = self._client.api.top(container_id)
        except BackendError:
            # The container may have stopped since the caller looked: then it has no processes.
            if not self.inspect(container_id)["State"].get("Running"):
                return []
            raise
        column = top["Titles"].index("PID")
        return [int(row[column]) for row in top.get("Processes") or []]

    def exec(self, container_id: str, cmd: Sequence[str], detach: bool = False, user: str = "",
             timeout_s: float | None = None) -> tuple[int | None, str]:
        """Run ``cmd`` in the container; (exit code, combined output). Detached: (None, "").

        ``timeout_s``: past it the command and everything it started are killed and ``CommandTimedOut`` is raised.
        """
        if timeout_s is not None and not detach:
            return self._exec_bounded(container_id, cmd, user, timeout_s)
        with self._translated(f"exec in {container_id}"):
            result = self._client.containers.get(container_id).exec_run(list(cmd), detach=detach, user=user)
        if detach:
            return None, ""
        return result.exit_code, (result.output or b"").decode("utf-8", "replace")

    def _exec_bounded(self, container_id: str, cmd: Sequence[str], user: str, timeout_s: float) -> tuple[int, str]:
        api = self._client.api
        with self._translated(f"exec in {container_id}"):
            exec_id = api.exec_create(container_id, list(cmd), user=user)["Id"]
        # The engine has no exec timeout: the output is read in a thread, and the command killed if it overruns.
        finished: dict[str, Any] = {}

        def read() -> None:
            try:
                finished["output"] = api.exec_start(exec_id)
            except Exception as exc:  # handed to the caller's thread, translated there
                finished["error"] = exc

        reader = threading.Thread(target=read, name="chaoskit-exec", daemon=True)
        reader.start()
        reader.join(timeout_s)
        if reader.is_alive():
            with self._translated(f"exec in {container_id}"):
                pid = api.exec_inspect(exec_id).get("Pid") or 0
            if pid:
                host.kill_process_tree(pid)
            reader.join(_ABANDON_AFTER_S)  # a reader still blocked then is abandoned (a daemon thread)
            raise CommandTimedOut(f"exec in {container_id[:12]}: {' '.join(cmd)[:100]!r} did not finish "
                                  f"within {timeout_s:g}s; killed")
        if "error" in finished:
            with self._translated(f"exec in {container_id}"):
                raise finished["error"]
        with self._translated(f"exec in {container_id}"):
            code = api.exec_inspect(exec_id).get("ExitCode")
        return int(code if code is not None else -1), (finished["output"] or b"").decode("utf-8", "replace")


def _label_filter(labels: Mapping[str, str | None] | None) -> dict[str, list[str]]:
    return {"label": [k if v is None else f"{k}={v}" for k, v in (labels or {}).items()]}


def _reason(exc: BaseException) -> str:
    # The SDK nests the useful part several causes deep; the innermost names the socket problem.
    while exc.__cause__ or exc.__context__:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
