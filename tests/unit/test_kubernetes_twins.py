"""The Kubernetes experiments (experiments/kubernetes/) are their Docker twins with another environment and selectors.

Compared key by key on the parsed YAML: everything is equal except ``environment``, the
variables that hold the environment's addresses (compose project or namespace and
kubeconfig, the entry point, Toxiproxy's API), the prose of ``description``, and in each
``target`` selector the keys that say *where* (service/project on Docker, owner/namespace
on Kubernetes); how many a selector picks (count, percent, caps) stays the same.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
TWINS = sorted(p.name for p in (EXPERIMENTS / "kubernetes").glob("*.yaml") if p.name not in ("gameday.yaml", "monkey.yaml"))
ADDRESSES = {"api", "toxiproxy"}  # same variable, the environment's own address
DOCKER_ONLY, KUBERNETES_ONLY = {"project"}, {"namespace", "kubeconfig"}
WHERE = {"service", "project", "owner", "namespace", "name"}


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def differences(docker: Any, kubernetes: Any, path: str = "", selector: bool = False) -> list[str]:
    """Where the two documents differ beyond environment, addresses, description and selectors' where-keys."""
    if isinstance(docker, dict) and isinstance(kubernetes, dict):
        found = []
        for key in sorted(set(docker) | set(kubernetes), key=str):
            here = f"{path}.{key}" if path else str(key)
            if (not path and key in ("environment", "description")) or (selector and key in WHERE):
                continue
            if key == "variables" and not path:
                found += _variables(docker.get(key) or {}, kubernetes.get(key) or {})
            elif key not in docker or key not in kubernetes:
                found.append(f"{here}: only in {'docker' if key in docker else 'kubernetes'}")
            else:
                found += differences(docker[key], kubernetes[key], here, key == "target")
        return found
    if isinstance(docker, list) and isinstance(kubernetes, list) and len(docker) == len(kubernetes):
        return [d for i, (a, b) in enumerate(zip(docker, kubernetes)) for d in differences(a, b, f"{path}[{i}]")]
    return [] if docker == kubernetes else [f"{path}: {docker!r} != {kubernetes!r}"]


def _variables(docker: dict[str, Any], kubernetes: dict[str, Any]) -> list[str]:
    found = [f"variables.{k}: only in docker" for k in set(docker) - set(kubernetes) - DOCKER_ONLY]
    found += [f"variables.{k}: only in kubernetes" for k in set(kubernetes) - set(docker) - KUBERNETES_ONLY]
    return found + [f"variables.{k}: {docker[k]!r} != {kubernetes[k]!r}"
                    for k in set(docker) & set(kubernetes) - ADDRESSES if docker[k] != kubernetes[k]]


@pytest.mark.parametrize("name", TWINS)
def test_the_twin_differs_only_in_environment_and_selectors(name: str) -> None:
    docker, kubernetes = _load(EXPERIMENTS / name), _load(EXPERIMENTS / "kubernetes" / name)
    assert differences(docker, kubernetes) == []
    assert "kubernetes" in kubernetes["environment"] and "compose_project" not in kubernetes["environment"]


def test_the_comparison_sees_a_changed_fault_or_cap() -> None:
    """A different fault, or another count in a selector, is a difference (not a selector's where)."""
    docker = _load(EXPERIMENTS / "api-replica-killed.yaml")
    kubernetes = _load(EXPERIMENTS / "kubernetes" / "api-replica-killed.yaml")
    kubernetes["method"][0]["fault"] = "pod.delete"
    kubernetes["method"][0]["target"]["count"] = 2
    assert differences(docker, kubernetes) == ["method[0].fault: 'container.kill' != 'pod.delete'",
                                               "method[0].target.count: 1 != 2"]


def test_the_game_day_runs_the_twins_with_the_same_expectations() -> None:
    """Every Docker entry but database-disk-full (it would fill the node's disk), with the same expect:."""
    docker, kubernetes = _load(EXPERIMENTS / "gameday.yaml"), _load(EXPERIMENTS / "kubernetes" / "gameday.yaml")
    assert kubernetes["experiments"] == [e for e in docker["experiments"] if e["experiment"] != "database-disk-full.yaml"]
    assert sorted(e["experiment"] for e in kubernetes["experiments"]) == TWINS


def test_every_kubernetes_file_validates() -> None:
    files = sorted(str(p) for p in (EXPERIMENTS / "kubernetes").glob("*.yaml"))
    result = subprocess.run([sys.executable, "-m", "chaoskit", "validate", *files], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ok: ") == len(files)
