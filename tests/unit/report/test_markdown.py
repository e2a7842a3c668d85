"""The Markdown summary for CI job summaries."""

from __future__ import annotations

import copy

from chaoskit.report.markdown import render_markdown
from chaoskit.report.build import build_report
from tests.unit.report import builders as b


def table_rows(text: str) -> list[list[str]]:
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    return [[c.strip() for c in row.strip("|").split(" | ")] for row in rows]


def test_game_day_summary_is_a_table_of_experiments(tmp_path):
    """One row per experiment with verdict, time to detect, time to recover and the top reason."""
    path = b.gameday(tmp_path, [("database-latency", b.run_journal()),
                                ("cache-down", b.run_journal(b.TOLERATED_VERDICT)), ("disk-full", None)])
    text = render_markdown(build_report([path]))
    assert text.startswith("### \u274c chaoskit: FAILURE \u2014 Tuesday game day")
    header, *rows = table_rows(text)
    assert header == ["Experiment", "Verdict", "Time to detect", "Time to recover", "Top reason"]
    assert [r[:4] for r in rows] == [
        ["database latency", "\u274c **FAILURE**", "3.0 s", "\u2014"],
        ["cache down", "\u2705 **TOLERATED**", "\u2014", "100 ms"],
        ["disk full", "\U0001f4a5 **ERROR**", "\u2014", "\u2014"],
    ]
    assert rows[0][4].startswith("hypothesis 'Timelines stay fast', probe 'p99' violated")


def test_what_did_not_pass_is_detailed_in_folded_blocks(tmp_path):
    """Each non-tolerated experiment gets a <details> block with the evidence; tolerated ones do not."""
    path = b.gameday(tmp_path, [("database-latency", b.run_journal()),
                                ("cache-down", b.run_journal(b.TOLERATED_VERDICT))])
    text = render_markdown(build_report([path]))
    assert text.count("<details>") == 1
    assert "<summary>database latency: FAILURE</summary>" in text
    assert "800 ms against a baseline of 12 ms" in text and "[+700 ms, +850 ms]" in text


def test_cells_cannot_break_the_table(tmp_path):
    """Pipes, newlines and HTML in a title or reason are escaped and cut short."""
    journal = b.run_journal()
    journal["experiment"]["title"] = "a | b\nc <b>"
    journal["verdict"] = copy.deepcopy(journal["verdict"])
    journal["verdict"]["reasons"] = ["x|y " * 100]
    text = render_markdown(build_report([b.write(tmp_path / "j.json", journal)]))
    header, row = table_rows(text)
    assert len(row) == len(header) == 5
    assert row[0] == "a \\| b c &lt;b&gt;"
    assert len(row[4]) < 250 and row[4].endswith("\u2026")


def test_several_suites_add_a_suite_column(tmp_path):
    """Loose runs and a game day together: the table says which suite each row belongs to."""
    day = b.gameday(tmp_path / "day", [("cache-down", b.run_journal(b.TOLERATED_VERDICT))])
    run = b.write(tmp_path / "run.json", b.run_journal())
    header, *rows = table_rows(render_markdown(build_report([day, run])))
    assert header[0] == "Suite"
    assert [r[0] for r in rows] == ["chaoskit", "Tuesday game day"]


def test_summary_stays_small():
    """A 40-experiment game day fits a job summary comfortably (under 64 kB)."""
    from chaoskit.report.model import Entry, Report, Suite
    from chaoskit.report.runs import run_report

    run = run_report(b.record(b.run_journal()))
    entries = tuple(Entry(f"experiment {i}", "FAILURE", run.reasons, run=run) for i in range(40))
    text = render_markdown(Report("big", "FAILURE", (Suite("big", "FAILURE", entries, gameday=True),)))
    assert len(text.encode()) < 64_000
