"""The chaoskit command's surface: help, version, one-line errors with exit codes."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from chaoskit import __version__
from chaoskit.cli import EXIT_ERROR, main


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run chaoskit as a user would: a separate process, so exit codes and stderr are real."""
    return subprocess.run([sys.executable, "-m", "chaoskit", *args], capture_output=True, text=True,
                          timeout=60, env=env)


def test_help_documents_exit_codes():
    """--help explains the command and lists every exit code."""
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for code in ("FAILURE", "NOT_RECOVERED", "ABORTED", "INCONCLUSIVE", "ERROR"):
        assert code in result.output


def test_version():
    """--version prints the package version."""
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_engine_down_is_one_line_and_exit_error():
    """With the Docker engine unreachable, doctor prints one line naming it and exits ERROR."""
    result = run_cli("doctor", env={"DOCKER_HOST": "tcp://127.0.0.1:1", "PATH": "/usr/bin:/bin"})
    assert result.returncode == EXIT_ERROR
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Docker engine at tcp://127.0.0.1:1 did not answer" in lines[0]


def test_verbose_shows_traceback():
    """-v turns the one-line error into a traceback for debugging."""
    result = run_cli("-v", "doctor", "--docker-host", "tcp://127.0.0.1:1")
    assert result.returncode != 0
    assert "Traceback" in result.stderr
