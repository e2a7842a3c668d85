"""The `monkey` click command: options and error mapping (no engine needed for these)."""

from __future__ import annotations

from click.testing import CliRunner

from chaoskit.cli.monkey import monkey


def test_an_invalid_config_exits_2_with_file_line_key(tmp_path):
    """A config problem is printed as file:line: key and the command exits 2 before touching anything."""
    path = tmp_path / "m.yaml"
    path.write_text("title: m\nopt_in: {a: b}\nmean_time_between_kills: soon\n")
    result = CliRunner().invoke(monkey, [str(path), "--journal", str(tmp_path / "j.json")])
    assert result.exit_code == 2
    assert f"{path}:3: mean_time_between_kills:" in result.output
    assert not (tmp_path / "j.json").exists()


def test_bad_options_are_usage_errors(tmp_path):
    """--duration must be a positive duration and --time-scale positive."""
    path = tmp_path / "m.yaml"
    path.write_text("title: m\n")
    assert CliRunner().invoke(monkey, [str(path), "--duration", "soon"]).exit_code == 2
    assert CliRunner().invoke(monkey, [str(path), "--time-scale", "0"]).exit_code == 2
