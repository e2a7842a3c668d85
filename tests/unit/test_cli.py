"""The chaoskit command's surface: help, exit codes, JSON output, environment defaults, start-up cost."""

from __future__ import annotations

import ast
import importlib.metadata
import io
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import click
from click.testing import CliRunner

from chaoskit import __version__
from chaoskit import log as chaoslog
from chaoskit.cli import ExitCode, common, main
from chaoskit.verdict import Verdict

ROOT = Path(__file__).resolve().parents[2]
NO_OP = str(ROOT / "experiments" / "control-no-op.yaml")
# What a command that only parses and validates must not import (each costs 20-700 ms at start-up).
HEAVY = ("scipy", "numpy", "docker", "matplotlib", "croniter", "structlog", "rich", "requests", "uvloop", "hdrh")


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run chaoskit as a user would: a separate process, so exit codes and stderr are real."""
    return subprocess.run([sys.executable, "-m", "chaoskit", *args], capture_output=True, text=True,
                          timeout=60, env=env, cwd=ROOT)


def imported_after(code: str) -> list[str]:
    """The HEAVY modules a fresh interpreter holds after running ``code``."""
    probe = (f"{code}\nimport sys\n"
             f"print('heavy:' + ','.join(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return [m for m in result.stdout.rsplit("heavy:", 1)[1].strip().split(",") if m]


def test_help_documents_exit_codes_environment_and_completion():
    """--help explains the command, lists every exit code, the environment defaults and shell completion."""
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for code in ExitCode:
        assert re.search(rf"^\s+{int(code)}\s", result.output, re.MULTILINE), code
    for name in ("FAILURE", "NOT_RECOVERED", "ABORTED", "INCONCLUSIVE", "ERROR", "CHAOSKIT_TOXIPROXY_URL",
                 "CHAOSKIT_LEDGER", "DOCKER_HOST", "NO_COLOR", "_CHAOSKIT_COMPLETE=bash_source"):
        assert name in result.output


def test_every_command_help_has_examples():
    """Each command's --help teaches by example."""
    for name in main.commands:
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Examples:" in result.output and f"chaoskit {name}" in result.output, name


def test_exit_code_table_takes_the_verdicts_codes():
    """Every verdict's exit code is in the one table under the verdict's name; usage and ERROR are distinct."""
    for verdict in Verdict:
        name = "OK" if verdict is Verdict.TOLERATED else verdict.name
        assert ExitCode[name] == verdict.exit_code
    assert len({int(c) for c in ExitCode}) == len(ExitCode)


def test_version():
    """--version prints the package version."""
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_engine_down_is_one_line_and_exit_error():
    """With the Docker engine unreachable, doctor prints one line naming it (and setup.sh in a checkout)."""
    result = run_cli("doctor", env={"DOCKER_HOST": "tcp://127.0.0.1:1", "PATH": "/usr/bin:/bin"})
    assert result.returncode == ExitCode.ERROR
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Docker engine at tcp://127.0.0.1:1 did not answer" in lines[0]
    assert "./setup.sh starts the engine and Toxiproxy" in lines[0]


def test_no_setup_sh_hint_outside_a_checkout(monkeypatch):
    """An installed chaoskit (no checkout around it) does not tell the user to run ./setup.sh."""
    monkeypatch.setattr(common, "checkout_root", lambda: None)
    result = CliRunner().invoke(main, ["doctor", "--docker-host", "tcp://127.0.0.1:1"])
    assert result.exit_code == ExitCode.ERROR
    assert "did not answer" in result.output and "setup.sh" not in result.output


def test_verbose_shows_traceback():
    """-v turns the one-line error into a traceback for debugging."""
    result = run_cli("-v", "doctor", "--docker-host", "tcp://127.0.0.1:1")
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_docker_host_comes_from_the_environment():
    """DOCKER_HOST is --docker-host's default."""
    result = CliRunner().invoke(main, ["doctor"], env={"DOCKER_HOST": "tcp://127.0.0.1:1"})
    assert result.exit_code == ExitCode.ERROR and "tcp://127.0.0.1:1" in result.output


def test_ledger_comes_from_the_environment(tmp_path):
    """CHAOSKIT_LEDGER is --ledger's default: rollback reads that ledger (and finds nothing to revert)."""
    ledger = tmp_path / "ledger.jsonl"
    result = CliRunner().invoke(main, ["rollback"], env={"CHAOSKIT_LEDGER": str(ledger)})
    assert result.exit_code == 0, result.output
    assert "nothing to roll back" in result.output


def test_toxiproxy_url_default_applies_where_the_file_names_none(tmp_path):
    """CHAOSKIT_TOXIPROXY_URL aims an experiment without environment.toxiproxy_url; a file's own URL wins."""
    text = Path(NO_OP).read_text()
    bare = tmp_path / "bare.yaml"
    bare.write_text(re.sub(r"^\s*toxiproxy_url:.*\n", "", text, flags=re.MULTILINE))
    assert common.load_experiment(str(bare), {}, "http://127.0.0.1:18474").environment.toxiproxy_url \
        == "http://127.0.0.1:18474"
    pinned = tmp_path / "pinned.yaml"
    pinned.write_text(re.sub(r"^environment:\s*\n", "environment:\n  toxiproxy_url: http://127.0.0.1:9999\n",
                             Path(bare).read_text(), flags=re.MULTILINE))
    assert common.load_experiment(str(pinned), {}, "http://127.0.0.1:18474").environment.toxiproxy_url \
        == "http://127.0.0.1:9999"


def test_faults_json_lists_the_catalogue():
    """faults --json is one JSON array: every fault type with its target rule and parameters."""
    result = CliRunner().invoke(main, ["faults", "--json"])
    assert result.exit_code == 0
    catalogue = {f["type"]: f for f in json.loads(result.output)}
    assert catalogue["container.kill"]["target"] == "required"
    assert {p["name"] for p in catalogue["container.kill"]["params"]} >= {"signal"}


def test_validate_json_reports_valid_and_invalid_files(tmp_path):
    """validate --json gives one object per file, problems with file and line, and exits 2 if any is invalid."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: x\nmethod: 3\n")
    result = CliRunner().invoke(main, ["validate", "--json", NO_OP, str(bad)])
    assert result.exit_code == ExitCode.USAGE
    ok, invalid = json.loads(result.stdout)
    assert ok["valid"] and ok["kind"] == "experiment" and not ok["problems"]
    assert not invalid["valid"] and invalid["problems"][0]["file"] == str(bad)


def test_validate_text_output_is_unchanged():
    """Without --json, validate prints one ok: line per valid file."""
    result = CliRunner().invoke(main, ["validate", NO_OP])
    assert result.exit_code == 0
    assert result.output.startswith(f"ok: {NO_OP}: ")


def test_no_color_turns_colour_off(monkeypatch):
    """Colour only on a terminal, and never with NO_COLOR set."""

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert chaoslog.wants_color(Tty()) and not chaoslog.wants_color(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not chaoslog.wants_color(Tty())


def test_help_and_validate_import_nothing_heavy():
    """--help and validate import neither scipy, numpy, the Docker SDK, structlog (rich) nor croniter."""
    assert imported_after("from chaoskit.cli import main\n"
                          "try:\n    main(['--help'])\nexcept SystemExit:\n    pass") == []
    code = ("from chaoskit.cli import main\n"
            f"try:\n    main(['validate', {NO_OP!r}, 'experiments/gameday.yaml', 'experiments/monkey.yaml'])\n"
            "except SystemExit as exc:\n    assert exc.code == 0, exc.code")
    assert imported_after(code) == []


def test_pytest_plugin_imports_nothing_heavy():
    """The pytest plugin, loaded in every pytest run of a project that installs chaoskit, imports nothing heavy."""
    assert imported_after("import chaoskit.pytest_plugin") == []


def test_runtime_dependencies_are_what_chaoskit_imports():
    """pyproject's dependencies are exactly the distributions whose modules chaoskit/ imports."""
    declared = {re.split(r"[<>=!~\[ ]", d, maxsplit=1)[0].lower()
                for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    top_level = set()
    # The Kubernetes backend's client is the optional extra `kubernetes` (urllib3 comes with it), imported lazily.
    optional = ROOT / "chaoskit" / "adapters" / "kubernetes"
    for path in (p for p in (ROOT / "chaoskit").rglob("*.py") if optional not in p.parents):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                top_level |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                top_level.add(node.module.split(".")[0])
    distributions = importlib.metadata.packages_distributions()
    imported = {dist.lower() for module in top_level - set(sys.stdlib_module_names) - {"chaoskit"}
                for dist in distributions.get(module, [module])}
    assert imported == declared


def test_public_names_match_all():
    """Every function, class and command a cli module defines publicly is in its __all__, and nothing else is."""
    from chaoskit.cli import doctor, exits, gameday, listing, monkey, report, run, validate

    for module in (common, doctor, exits, gameday, listing, monkey, report, run, validate):
        public = {n for n, v in vars(module).items()
                  if not n.startswith("_") and callable(v) and getattr(v, "__module__", None) == module.__name__}
        commands = {n for n, v in vars(module).items() if isinstance(v, click.Command)}
        assert public | commands <= set(module.__all__), (module.__name__, (public | commands) - set(module.__all__))
        assert all(hasattr(module, n) for n in module.__all__), module.__name__


def test_an_internal_error_is_error_with_one_line_not_failure(monkeypatch, tmp_path):
    """A bug inside chaoskit ends with exit 6 (ERROR) and one line, never exit 1 (FAILURE's) with a traceback."""
    from chaoskit.cli import validate as validate_module

    def broken(path, overrides):
        raise KeyError("boom")

    monkeypatch.setattr(validate_module, "validate_file", broken)
    experiment = tmp_path / "x.yaml"
    experiment.write_text("title: x\n")
    result = CliRunner().invoke(main, ["validate", str(experiment)])
    assert result.exit_code == 6, result.output
    assert result.output.strip().splitlines() == ["chaoskit: internal error: KeyError: 'boom' (-v shows the traceback)"]


def test_absurd_load_sizes_are_refused_at_validation(tmp_path):
    """users.count: 1000000000 and rate: 1e9 are problems with their line, not a 7 GiB allocation at run time."""
    from chaoskit.errors import ExperimentInvalid
    from chaoskit.model.loader import parse_experiment

    text = (Path(__file__).resolve().parents[2] / "experiments" / "control-no-op.yaml").read_text()
    try:
        parse_experiment(text, source="x.yaml", variables={"users": 1_000_000_000})
    except ExperimentInvalid as exc:
        assert any("load.users.count" in p.key and "<= 10,000,000" in p.message for p in exc.problems), exc.problems
    else:
        raise AssertionError("a billion users validated")
