"""``chaoskit doctor``: does the world answer (the Docker engine, Toxiproxy)?"""

from __future__ import annotations

import click

from chaoskit.cli.common import DOCKER_HOST_OPTION, JSON_OPTION, TOXIPROXY_OPTION, echo_json, handle_errors

__all__ = ["doctor"]


@click.command()
@DOCKER_HOST_OPTION
@TOXIPROXY_OPTION
@JSON_OPTION
@handle_errors
def doctor(docker_host: str | None, toxiproxy_url: str | None, as_json: bool) -> None:
    """Check that the Docker engine and Toxiproxy answer, and print their versions.

    Exits 6 (ERROR) with one line naming what did not answer.

    \b
    Examples:
      chaoskit doctor
      chaoskit doctor --toxiproxy http://127.0.0.1:18474 --json
      DOCKER_HOST=unix:///run/user/1000/docker.sock chaoskit doctor
    """
    from chaoskit.adapters.docker_engine import DockerEngine
    from chaoskit.adapters.toxiproxy import ToxiproxyClient
    from chaoskit.model.experiment import DEFAULT_TOXIPROXY_URL

    engine = DockerEngine.connect(docker_host).version()
    toxiproxy = ToxiproxyClient(toxiproxy_url or DEFAULT_TOXIPROXY_URL).version()
    versions = {"docker": engine.get("Version"), "docker_api": engine.get("ApiVersion"), "toxiproxy": toxiproxy}
    if as_json:
        echo_json(versions)
        return
    click.echo(f"docker engine: {versions['docker']} (API {versions['docker_api']})")
    click.echo(f"toxiproxy: {versions['toxiproxy']}")
