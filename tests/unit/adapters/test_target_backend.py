"""The target backend seam: every implementation chaoskit ships honours the protocol."""

from __future__ import annotations

import pytest

from chaoskit.adapters.backends import Backends
from chaoskit.adapters.docker_backend import DockerBackend
from chaoskit.adapters.target_backend import ProcessMatch, TargetBackend
from chaoskit.testing import FakeTargetBackend


def test_docker_and_fake_backends_implement_the_protocol() -> None:
    """DockerBackend (built without I/O) and the testing fake both honour TargetBackend."""
    assert isinstance(DockerBackend(engine=None), TargetBackend)  # type: ignore[arg-type]
    assert isinstance(FakeTargetBackend(), TargetBackend)


def test_backends_uses_the_target_backend_it_is_given() -> None:
    """Backends(targets=...) hands that backend to faults, and connects no Docker engine for it."""
    fake = FakeTargetBackend()
    assert Backends(targets=fake).targets is fake


def test_a_process_match_needs_something_to_match() -> None:
    """An empty ProcessMatch (which would match every process) is refused."""
    with pytest.raises(ValueError, match="a name or a command-line marker"):
        ProcessMatch()
