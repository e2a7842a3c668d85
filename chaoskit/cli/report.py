"""``chaoskit report JOURNAL... [--format html|junit|markdown]``: render reports from journals alone.

Rendering reads nothing but the journal files: no engine, no Toxiproxy, no
network, so it runs anywhere the journals were copied to (a CI artifact).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from chaoskit.errors import JournalUnreadable

if TYPE_CHECKING:
    from chaoskit.report.model import Report

__all__ = ["EXTENSIONS", "default_output", "render", "report", "write_report"]

EXTENSIONS = {"html": ".html", "junit": ".xml", "markdown": ".md"}


def render(report_: Report, fmt: str) -> str:
    """The report in ``fmt`` (``html``, ``junit`` or ``markdown``); renderers are imported only when used."""
    if fmt == "html":
        from chaoskit.report.html_report import render_html

        return render_html(report_)
    if fmt == "junit":
        from chaoskit.report.junit import render_junit

        return render_junit(report_)
    if fmt == "markdown":
        from chaoskit.report.markdown import render_markdown

        return render_markdown(report_)
    raise ValueError(f"unknown report format {fmt!r}; expected one of {', '.join(EXTENSIONS)}")


def default_output(first_journal: str | Path, fmt: str) -> str:
    """Next to the first journal, same name, the format's extension; Markdown goes to stdout ("-")."""
    if fmt == "markdown":
        return "-"
    return str(Path(first_journal).with_suffix(EXTENSIONS[fmt]))


def write_report(journals: Sequence[str | Path], fmt: str = "html", output: str | Path | None = None,
                 title: str | None = None) -> tuple[Report, Path | None]:
    """Render ``journals`` and write the result (atomically); (the report, the path, or None for stdout).

    What ``chaoskit report`` does, for callers in Python (a game day writing
    its combined report). Raises :class:`JournalUnreadable` for a bad journal.
    """
    from chaoskit.report.build import build_report

    built = build_report(journals, title=title)
    text = render(built, fmt)
    target = str(output) if output is not None else default_output(journals[0], fmt)
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return built, None
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # a CI step reading the report never sees half of it
    return built, path


@click.command("report")
@click.argument("journals", nargs=-1, required=True, type=click.Path(dir_okay=False), metavar="JOURNAL...")
@click.option("--format", "fmt", type=click.Choice(list(EXTENSIONS)), default="html", show_default=True,
              help="html: charts and tables, one offline file. junit: one test case per experiment, for CI. "
                   "markdown: a compact summary for a CI job summary.")
@click.option("--output", "-o", "output", default=None, metavar="PATH",
              help="Where to write ('-' for stdout). Default: next to the first journal "
                   "(NAME.html / NAME.xml); stdout for markdown.")
@click.option("--title", default=None, help="Title of the report (default: the experiment's or game day's).")
def report(journals: tuple[str, ...], fmt: str, output: str | None, title: str | None) -> None:
    """Render a report from run journals or game-day journals (several make one combined report).

    \b
    Examples:
      chaoskit report journals/cache-down-20260303T100000Z.json
      chaoskit report journals/gameday/gameday.json --format junit -o chaoskit-junit.xml
      chaoskit report journals/gameday/gameday.json --format markdown >> "$GITHUB_STEP_SUMMARY"

    JUnit maps FAILURE and NOT_RECOVERED to <failure>, ERROR, ABORTED and
    INCONCLUSIVE to <error> (never <skipped>: an experiment that could not
    tell has not passed). The command exits 0 once the report is written,
    whatever the verdicts (gate CI on `chaoskit run`'s exit code, or on the
    JUnit file); 2 when a journal cannot be read.
    """
    try:
        built, path = write_report(journals, fmt, output, title)
    except JournalUnreadable as exc:
        click.echo(f"chaoskit: invalid: {exc}", err=True)
        sys.exit(2)
    if path is not None:
        click.echo(f"{built.verdict}: {built.title}", err=True)
        click.echo(str(path))
