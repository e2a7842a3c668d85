"""Variables read from the environment with a default ({env: NAME, default: V}), and the shipped HTTPS experiment
that verifies the sample stack's certificate against set-up's CA through one."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaoskit.errors import ExperimentInvalid
from chaoskit.faults.catalogue import signatures
from chaoskit.model.loader import load_experiment
from chaoskit.model.source import read_source

HTTPS_AUDIT = Path(__file__).resolve().parents[3] / "experiments" / "https-prometheus-audit.yaml"
TEXT = "variables:\n  dir: {env: TLS_DIR, default: /var/lib/x}\nca: ${dir}/ca.crt\n"


def _read(text: str, overrides=None, environ=None):
    secrets: set[str] = set()
    root, variables, problems = read_source(text, "f.yaml", overrides, environ=environ or {}, secrets=secrets)
    return root, variables, problems, secrets


def test_the_environment_wins_over_the_default_and_is_no_secret():
    """Set, the environment variable's value; unset, the default; --var above both. Neither is masked."""
    root, _, problems, secrets = _read(TEXT, environ={"TLS_DIR": "/etc/tls"})
    assert problems == [] and root.value["ca"].value == "/etc/tls/ca.crt" and secrets == set()
    root, _, _, _ = _read(TEXT)
    assert root.value["ca"].value == "/var/lib/x/ca.crt"
    root, _, _, _ = _read(TEXT, {"dir": "/opt/tls"}, environ={"TLS_DIR": "/etc/tls"})
    assert root.value["ca"].value == "/opt/tls/ca.crt"


def test_an_env_variable_declared_secret_is_masked():
    _, variables, problems, secrets = _read("variables:\n  token: {env: TOKEN, secret: true}\n",
                                            environ={"TOKEN": "t0ken-value"})
    assert problems == [] and variables == {"token": "t0ken-value"} and secrets == {"t0ken-value"}


def test_unset_without_a_default_says_which_variable_to_set():
    _, _, problems, _ = _read("variables:\n  dir: {env: TLS_DIR}\n")
    assert [(p.line, p.key) for p in problems] == [(2, "variables.dir")]
    assert "set TLS_DIR or give it with --var dir=VALUE" in problems[0].message


def test_malformed_env_declarations_are_problems():
    _, _, problems, _ = _read("variables:\n  a: {env: 'NOT A NAME'}\n  b: {default: 1}\n")
    assert sorted(p.key for p in problems) == ["variables.a.env", "variables.b.secret"]


def test_the_https_experiment_verifies_against_set_ups_ca(tmp_path, monkeypatch):
    """With $CHAOSKIT_TLS_DIR holding a ca.crt, the load and the write audit both verify against it."""
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("CHAOSKIT_TLS_DIR", str(tmp_path))
    experiment = load_experiment(HTTPS_AUDIT, fault_params=signatures())
    assert experiment.load is not None and experiment.load.tls is not None
    assert experiment.load.tls.verify and experiment.load.tls.ca == str(tmp_path / "ca.crt")
    audit = experiment.steady_state.probe("no tweet lost")
    assert audit is not None and audit.tls is not None and audit.tls.ca == str(tmp_path / "ca.crt")  # type: ignore[union-attr]


def test_the_https_experiment_without_the_ca_fails_with_file_and_line(tmp_path, monkeypatch):
    """No ca.crt where set-up puts it: each tls.ca is a problem with its line, naming the path looked for."""
    monkeypatch.setenv("CHAOSKIT_TLS_DIR", str(tmp_path))
    with pytest.raises(ExperimentInvalid) as caught:
        load_experiment(HTTPS_AUDIT, fault_params=signatures())
    missing = str(tmp_path / "ca.crt")
    assert [(p.key, p.message.split(" (after")[0]) for p in caught.value.problems] == [
        ("load.tls.ca", f"no such file: {missing!r}"), ("steady_state.probes[3].tls.ca", f"no such file: {missing!r}")]
    assert all(p.file == str(HTTPS_AUDIT) and p.line for p in caught.value.problems)
