"""A Markdown summary that fits a CI job summary: one table of experiments, details folded away.

Written for ``$GITHUB_STEP_SUMMARY`` (GitHub-flavoured Markdown, ``<details>``
allowed) and readable as plain text elsewhere (GitLab, a PR comment, a
terminal). Table cells are escaped (``|``, newlines, HTML) and reasons cut
short; full reasons and evidence are in a folded block per experiment that
did not pass, so a game day of dozens of experiments stays a screenful.
"""

from __future__ import annotations

import re

from chaoskit.report.findings import evidence
from chaoskit.report.formatting import format_duration, format_recovery
from chaoskit.report.model import MEANING, Entry, Report

__all__ = ["ICONS", "render_markdown"]

ICONS = {
    "TOLERATED": "\u2705",  # check mark
    "FAILURE": "\u274c",  # cross
    "NOT_RECOVERED": "\U0001f525",  # fire: still burning after the revert
    "ABORTED": "\u26d4",  # no entry
    "INCONCLUSIVE": "\u2754",  # question mark
    "ERROR": "\U0001f4a5",  # collision
}
REASON_CELL = 160
DETAIL_LINES = 12


def render_markdown(report: Report) -> str:
    """The summary: a heading with the overall verdict, a table, then folded details for what did not pass."""
    out = [_heading(report), ""]
    entries = report.entries
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.verdict] = counts.get(entry.verdict, 0) + 1
    out.append(f"{len(entries)} experiment(s): " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
               + f". {report.verdict}: {MEANING.get(report.verdict, '')}.")
    for suite in report.suites:
        if suite.summary:
            out.append(f"**{_inline(suite.name)}: {_inline(suite.summary)}**")
        out += [f"> {_inline(suite.name)}: {_inline(n)}" for n in suite.notes]
    out.append("")
    several = len(report.suites) > 1
    expecting = any(e.expected is not None for e in entries)
    header = ((["Suite"] if several else []) + ["Experiment"] + (["Expected"] if expecting else [])
              + ["Verdict", "Time to detect", "Time to recover", "Top reason"])
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "---|" * len(header))
    for suite in report.suites:
        for entry in suite.entries:
            cells = ([_cell(suite.name)] if several else []) + [_cell(entry.title)] + (
                [_expected(entry)] if expecting else []) + [
                f"{ICONS.get(entry.verdict, '')} **{entry.verdict}**",
                format_duration(entry.time_to_detect_s),
                format_recovery(entry.time_to_recover_s),
                _cell(_shorten(entry.reasons[0] if entry.reasons else "", REASON_CELL)),
            ]
            out.append("| " + " | ".join(cells) + " |")
    for entry in entries:
        if entry.verdict != "TOLERATED" or entry.surprise:
            out += ["", *_details(entry)]
    return "\n".join(out) + "\n"


def _heading(report: Report) -> str:
    """The overall verdict; for game days that state expectations, whether all came as expected, first."""
    days = [s for s in report.suites if s.gameday and s.as_expected is not None]
    if days and len(days) == len(report.suites):
        icon = ICONS["TOLERATED"] if all(s.as_expected for s in days) else ICONS["FAILURE"]
        said = "; ".join(s.summary for s in days)
        return f"### {icon} chaoskit: {_inline(said)} (worst verdict {report.verdict}) \u2014 {_inline(report.title)}"
    return f"### {ICONS.get(report.verdict, '')} chaoskit: {report.verdict} \u2014 {_inline(report.title)}"


def _expected(entry: Entry) -> str:
    """The expected verdict, flagged in words when the actual one differs."""
    return "\u2014" if entry.expected is None else entry.expected + (" \u26a0\ufe0f **surprise**" if entry.surprise else "")


def _details(entry: Entry) -> list[str]:
    expected = f" (expected {entry.expected})" if entry.surprise else " (as expected)" if entry.expected else ""
    lines = [f"<details><summary>{_html(entry.title)}: {entry.verdict}{expected}</summary>", ""]
    body = ([entry.expectation] if entry.surprise else []) + list(entry.reasons)
    if entry.run is not None:
        body += evidence(entry.run)
        if entry.run.path:
            body.append(f"journal: {entry.run.path}")
    if len(body) > DETAIL_LINES:
        body = body[:DETAIL_LINES] + [f"... {len(body) - DETAIL_LINES} more line(s) in the HTML report"]
    lines += ["```text", *(_shorten(line, 400).replace("```", "'''") for line in body), "```", "", "</details>"]
    return lines


def _shorten(text: str, limit: int) -> str:
    text = " ".join(str(text).split()) if "\n" in str(text) else str(text)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _html(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _inline(text: str) -> str:
    """Text in a Markdown line: one line, no HTML, no accidental emphasis or links."""
    return re.sub(r"([\\`*_\[\]])", r"\\\1", _html(" ".join(str(text).split())))


def _cell(text: str) -> str:
    return _inline(text).replace("|", "\\|")
