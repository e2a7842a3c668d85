"""The sample timeline stack, brought up once per test session and torn down at the end.

Each session gets its own compose project (``chaoskit-test-<session>``) and its
own free 127.0.0.1 ports, so it can run beside a user's stack (project
``chaoskit``, ports 8080/8474) and beside another test session. Its containers,
network and volume carry the session's test labels (compose/docker-compose.test.yml),
so tests/conftest.py sweeps them if this process dies; a stale test stack's
loop mount is removed at the next session's start.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import psutil
import pytest

from tests.conftest import TEST_LABELS
from tests.support import wait_until

ROOT = Path(__file__).resolve().parents[3]
STACK_SH = ROOT / "compose" / "stack.sh"
STATE = Path(os.environ.get("CHAOSKIT_STATE", "/var/lib/chaoskit"))
# Small enough to load in a few seconds; the threshold keeps a handful of celebrities at this size.
USERS = 2000
CELEBRITY_THRESHOLD = 700


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def source(self) -> str | None:
        return self.headers.get("x-timeline-source")


@dataclass
class Stack:
    project: str
    api_port: int
    toxiproxy_port: int
    client: docker.DockerClient
    env: dict[str, str] = field(repr=False)

    @property
    def toxiproxy_url(self) -> str:
        return f"http://127.0.0.1:{self.toxiproxy_port}"

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.env['CHAOSKIT_PROMETHEUS_PORT']}"

    # --- HTTP through nginx ------------------------------------------------------------

    def request(self, method: str, path: str, body: bytes | None = None, timeout: float = 10) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=timeout)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            heads = {k.lower(): v for k, v in response.getheaders()}
        finally:
            conn.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw
        return Answer(response.status, heads, parsed)

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post(self, path: str, payload: Any) -> Answer:
        return self.request("POST", path, json.dumps(payload).encode())

    def timeline_ids(self, user: int, limit: int = 50, source: str = "auto") -> tuple[str | None, list[int]]:
        answer = self.get(f"/timeline/{user}?limit={limit}&source={source}")
        assert answer.status == 200, answer
        return answer.source, [t["id"] for t in answer.body["tweets"]]

    def warm(self, user: int) -> None:
        """Make sure ``user``'s cache is warm (a cold one is repaired after its first miss)."""
        wait_until(
            lambda: self.get(f"/timeline/{user}?limit=1").source == "cache",
            what=f"user {user}'s cache warm",
            timeout_s=10,
        )

    # --- containers ----------------------------------------------------------------------

    def containers(self, service: str) -> list[Any]:
        found = self.client.containers.list(
            all=True,
            filters={"label": [f"com.docker.compose.project={self.project}", f"com.docker.compose.service={service}"]},
        )
        return sorted(found, key=lambda c: c.name)

    def container(self, service: str) -> Any:
        (only,) = self.containers(service)
        return only

    def wait_healthy(self, container: Any, timeout_s: float = 60) -> None:
        def healthy() -> bool:
            container.reload()
            health = container.attrs["State"].get("Health")
            return container.status == "running" and (health is None or health["Status"] == "healthy")

        wait_until(healthy, what=f"{container.name} healthy", timeout_s=timeout_s)

    def sql(self, query: str) -> list[list[str]]:
        result = self.container("postgres").exec_run(["psql", "-U", "postgres", "-AtF", "\t", "-c", query])
        assert result.exit_code == 0, result.output
        return [line.split("\t") for line in result.output.decode().splitlines() if line]

    def redis(self, *args: str) -> str:
        result = self.container("redis").exec_run(["redis-cli", *args])
        assert result.exit_code == 0, result.output
        return result.output.decode().strip()

    def metrics(self) -> dict[str, Any]:
        answer = self.get("/metrics")
        assert answer.status == 200, answer
        return answer.body

    # --- data ------------------------------------------------------------------------------

    def ordinary_user_with_followers(self, offset: int = 0) -> int:
        rows = self.sql(
            f"SELECT id FROM users WHERE followers_count BETWEEN 20 AND 200 ORDER BY id OFFSET {offset} LIMIT 1"
        )
        return int(rows[0][0])

    def celebrity(self) -> int:
        rows = self.sql(f"SELECT id FROM users WHERE followers_count >= {CELEBRITY_THRESHOLD} ORDER BY id LIMIT 1")
        return int(rows[0][0])

    def followers(self, user: int, n: int = 3) -> list[int]:
        rows = self.sql(f"SELECT follower_id FROM follows WHERE followee_id = {user} ORDER BY follower_id LIMIT {n}")
        return [int(r[0]) for r in rows]

    def stack_sh(self, *args: str, timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(STACK_SH), *args], env=self.env, capture_output=True, text=True, timeout=timeout_s, check=False
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stack_env(project: str, api_port: int, toxiproxy_port: int) -> dict[str, str]:
    # A user's own knobs must not change what the tests check: start from the defaults.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIMELINE_", "CHAOSKIT_"))}
    env.update(
        CHAOSKIT_PROJECT=project,
        CHAOSKIT_API_PORT=str(api_port),
        CHAOSKIT_TOXIPROXY_PORT=str(toxiproxy_port),
        CHAOSKIT_API_TLS_PORT=str(_free_port()),  # nginx's HTTPS port: not the shared stack's
        CHAOSKIT_PROMETHEUS_PORT=str(_free_port()),
        CHAOSKIT_STATE=str(STATE),
        CHAOSKIT_USERS=str(USERS),
        TIMELINE_CELEBRITY_THRESHOLD=str(CELEBRITY_THRESHOLD),
        CHAOSKIT_TEST_SESSION=TEST_LABELS["chaoskit.test.session"],
        CHAOSKIT_TEST_PID=TEST_LABELS["chaoskit.test.pid"],
    )
    return env


def _remove_stale_test_stacks(client: docker.DockerClient) -> None:
    """Loop mounts of test stacks whose containers are gone (a killed session): unmount and delete."""
    for state in sorted(STATE.glob("chaoskit-test-*")):
        project = state.name
        owner = state / "test-owner.pid"
        pid = owner.read_text().strip() if owner.exists() else ""
        if pid.isdigit() and psutil.pid_exists(int(pid)):
            continue  # a live session's stack, maybe still starting
        if client.containers.list(all=True, filters={"label": f"com.docker.compose.project={project}"}):
            continue  # a live session's stack (the sweeper removes dead sessions' containers first)
        env = _stack_env(project, 1, 1)
        subprocess.run([str(STACK_SH), "down"], env=env, capture_output=True, timeout=120, check=False)


@pytest.fixture(scope="session")
def stack(engine: Any) -> Iterator[Stack]:
    """A running stack with the test data set loaded, removed at the end of the session."""
    client = engine.client
    _remove_stale_test_stacks(client)
    project = f"chaoskit-test-{TEST_LABELS['chaoskit.test.session'][:8]}"
    api_port, toxiproxy_port = _free_port(), _free_port()
    stack = Stack(project, api_port, toxiproxy_port, client, _stack_env(project, api_port, toxiproxy_port))
    try:
        started = time.monotonic()
        up = stack.stack_sh("up")
        if up.returncode != 0:
            pytest.fail(f"compose/stack.sh up failed ({up.returncode}):\n{up.stderr[-4000:]}", pytrace=False)
        print(f"\nstack {project} up in {time.monotonic() - started:.0f} s: {up.stdout.strip()}")
        yield stack
    finally:
        down = stack.stack_sh("down")
        if down.returncode != 0:
            print(f"compose/stack.sh down failed:\n{down.stderr[-2000:]}")
