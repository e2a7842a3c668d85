"""`chaoskit report` (chaoskit.cli.report): formats, default output paths, unreadable journals."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

from click.testing import CliRunner

from chaoskit.cli.report import default_output, report
from tests.unit.report import builders as b


def invoke(*args: str):
    return CliRunner().invoke(report, list(args), catch_exceptions=False)


def test_html_goes_next_to_the_first_journal(tmp_path):
    """Without --output the HTML is written beside the journal and its path printed."""
    path = b.write(tmp_path / "run-1.json", b.run_journal())
    result = invoke(str(path))
    assert result.exit_code == 0, result.output
    out = tmp_path / "run-1.html"
    assert out.read_text().startswith("<!DOCTYPE html>")
    assert str(out) in result.output


def test_junit_to_a_chosen_path(tmp_path):
    """--format junit -o PATH writes parseable JUnit there (folders created)."""
    path = b.write(tmp_path / "run.json", b.run_journal())
    target = tmp_path / "out" / "junit.xml"
    result = invoke(str(path), "--format", "junit", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert ET.parse(target).getroot().get("failures") == "1"


def test_markdown_goes_to_stdout_with_the_given_title(tmp_path):
    """Markdown defaults to stdout (for $GITHUB_STEP_SUMMARY); --title replaces the heading."""
    path = b.write(tmp_path / "run.json", b.run_journal())
    result = invoke(str(path), "--format", "markdown", "--title", "Nightly chaos")
    assert result.exit_code == 0
    assert result.output.startswith("### \u274c chaoskit: FAILURE \u2014 Nightly chaos")
    assert not list(tmp_path.glob("*.md"))


def test_exit_zero_whatever_the_verdict(tmp_path):
    """Rendering a FAILURE is a success for the report command (the run's exit code is the gate)."""
    path = b.write(tmp_path / "run.json", b.run_journal())
    assert invoke(str(path), "-o", "-").exit_code == 0


def test_unreadable_journal_is_a_usage_error(tmp_path):
    """A file that is not a journal exits 2 with one line naming it."""
    bad = tmp_path / "bad.json"
    bad.write_text("nope")
    result = CliRunner().invoke(report, [str(bad)])
    assert result.exit_code == 2
    assert "bad.json" in result.output and "not a JSON journal" in result.output


def test_unknown_format_is_refused():
    """--format outside html/junit/markdown is a usage error."""
    assert CliRunner().invoke(report, ["x.json", "--format", "pdf"]).exit_code == 2


def test_default_output_names():
    """html -> NAME.html, junit -> NAME.xml beside the journal; markdown -> stdout."""
    assert default_output("j/gameday.json", "html") == "j/gameday.html"
    assert default_output("j/gameday.json", "junit") == "j/gameday.xml"
    assert default_output("j/gameday.json", "markdown") == "-"



def test_public_names_match_all():
    """Every function and class a report module defines publicly is in its __all__, and __all__ names only real ones."""
    from chaoskit.cli import report as command  # the module
    from chaoskit.report import build, chart, findings, formatting, html_report, junit, markdown, model, probes, runs, \
        series, timing

    for module in (build, chart, command, findings, formatting, html_report, junit, markdown, model, probes, runs,
                   series, timing):
        public = {n for n, v in vars(module).items()
                  if not n.startswith("_") and callable(v) and getattr(v, "__module__", None) == module.__name__}
        assert public <= set(module.__all__), (module.__name__, public - set(module.__all__))
        assert all(hasattr(module, n) for n in module.__all__), module.__name__


def test_write_report_is_the_command_as_a_function(tmp_path):
    """write_report renders and writes in one call, for a game day writing its combined report."""
    from chaoskit.cli.report import write_report

    day = b.gameday(tmp_path, [("cache-down", b.run_journal(b.TOLERATED_VERDICT))])
    built, path = write_report([day], "junit")
    assert path == tmp_path / "gameday.xml" and built.verdict == "TOLERATED"
    assert ET.parse(path).getroot().get("tests") == "1"
