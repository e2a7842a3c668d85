"""Secrets collected while the file is read, ${env:NAME}, and shell-quoted substitution into cmd strings."""

from __future__ import annotations

import shlex
import subprocess

from chaoskit.model.source import read_source


def _read(text: str, overrides=None, environ=None):
    secrets: set[str] = set()
    root, variables, problems = read_source(text, "f.yaml", overrides, environ=environ or {}, secrets=secrets)
    return root, variables, problems, secrets


def test_env_values_are_substituted_and_secret() -> None:
    """${env:NAME} takes the environment's value (typed when whole) and that value is a secret."""
    root, _, problems, secrets = _read("a: ${env:PORT}\nb: key-${env:KEY}\n", environ={"PORT": "8080", "KEY": "k1-long"})
    assert problems == []
    assert root.value["a"].value == 8080 and root.value["b"].value == "key-k1-long"
    assert secrets == {"8080", "k1-long"}


def test_a_missing_env_variable_is_a_problem_with_its_line() -> None:
    """An unset ${env:NAME} is named, with file:line and key."""
    _, _, problems, _ = _read("a: 1\nb: x-${env:NOPE}\n")
    assert [(p.line, p.key) for p in problems] == [(2, "b")]
    assert "NOPE is not set" in problems[0].message


def test_secret_variables_take_their_default_or_the_override() -> None:
    """{secret: true, default: V} is a variable whose value (default or --var) is secret; plain ones are not."""
    text = "variables:\n  token: {secret: true, default: d3fault}\n  plain: p\nx: ${token}-${plain}\n"
    root, variables, problems, secrets = _read(text)
    assert problems == [] and variables == {"token": "d3fault", "plain": "p"} and secrets == {"d3fault"}
    root, _, _, secrets = _read(text, {"token": "0v3rride"})
    assert root.value["x"].value == "0v3rride-p" and secrets == {"0v3rride"}


def test_a_secret_variable_without_default_must_be_given() -> None:
    """{secret: true} has no default: --var must give it, like a null default."""
    _, _, problems, _ = _read("variables:\n  token: {secret: true}\n")
    assert "give it with --var token=VALUE" in problems[0].message


def test_malformed_secret_declarations_are_problems() -> None:
    """secret must be true; only secret and default are known; the default is a scalar."""
    _, _, problems, _ = _read("variables:\n  a: {secret: yes-please}\n  b: {secret: true, hidden: 1}\n"
                              "  c: {secret: true, default: [1]}\n")
    messages = sorted((p.key, p.message.split(";")[0]) for p in problems)
    assert [key for key, _ in messages] == ["variables.a.secret", "variables.b.hidden", "variables.c.default"]


def test_header_values_and_url_passwords_are_secret() -> None:
    """Every value under a headers: key and every URL password (as written and decoded) is collected."""
    text = ("load:\n  requests:\n    - url: https://bob:p%40ss@h/x\n      headers: {Authorization: Bearer T, N: 7777}\n"
            "note: ftp://anon@h/ and http://h:80/path@x\n")
    _, _, problems, secrets = _read(text)
    assert problems == [] and secrets == {"Bearer T", "7777", "p%40ss", "p@ss"}


def test_short_values_are_not_secrets_and_a_short_secret_variable_is_refused() -> None:
    """A header value of 3 characters is left alone (it would erase that text everywhere); a secret one is a problem."""
    _, _, problems, secrets = _read("headers: {X-Retry: '3', Accept: '*/*'}\n")
    assert problems == [] and secrets == set()
    _, _, problems, _ = _read("variables:\n  pin: {secret: true, default: 'abc'}\n")
    assert problems[0].key == "variables.pin" and "fewer than 4" in problems[0].message


def test_values_substituted_into_a_cmd_string_are_shell_quoted() -> None:
    """In a cmd string (sh -c) a value is one quoted word, even the whole string; in an argv it stays verbatim."""
    text = ("variables: {db: null}\nprobe:\n  cmd: \"echo ${db}\"\n  whole:\n    cmd: ${db}\n"
            "argv:\n  cmd: [psql, -d, \"${db}\"]\nurl: http://h/${db}\n")
    injected = "x; touch /nonexistent/canary #"
    root, _, problems, _ = _read(text, {"db": injected})
    assert problems == []
    assert root.value["probe"].value["cmd"].value == f"echo {shlex.quote(injected)}"
    assert root.value["probe"].value["whole"].value["cmd"].value == shlex.quote(injected)
    assert root.value["argv"].value["cmd"].value[2].value == injected
    assert root.value["url"].value == f"http://h/{injected}"
    done = subprocess.run(["sh", "-c", root.value["probe"].value["cmd"].value], capture_output=True, text=True)
    assert done.stdout == f"{injected}\n" and done.returncode == 0


def test_problem_messages_do_not_show_a_secret() -> None:
    """A message that shows what a value became after substitution masks the secret in it."""
    from chaoskit.errors import ExperimentInvalid
    from chaoskit.model.loader import parse_experiment

    text = ("title: t\nvariables: {token: {secret: true, default: sekrit-1}}\nseed: \"x-${token}\"\n"
            "steady_state: {title: s, probes: [{name: p, type: http, url: 'http://h/'}]}\n"
            "method: [{fault: network.latency, proxy: web}]\n")
    try:
        parse_experiment(text)
    except ExperimentInvalid as exc:
        messages = [str(p) for p in exc.problems]
    assert any("seed" in m and "x-***" in m for m in messages)
    assert not any("sekrit-1" in m for m in messages)


def test_a_loaded_experiment_carries_its_secrets() -> None:
    """load/parse_experiment put the values collected while reading the file on Experiment.secrets."""
    from chaoskit.model.loader import parse_experiment

    experiment = parse_experiment("title: t\nvariables: {token: {secret: true, default: sekrit-2}}\n"
                                  "steady_state: {title: s, probes: [{name: p, type: http, url: 'http://h/',"
                                  " headers: {X: '${token}'}}]}\nmethod: [{fault: network.latency, proxy: web}]\n")
    assert experiment.secrets == frozenset({"sekrit-2"})
