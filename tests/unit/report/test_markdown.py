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
    """One row per experiment with expected and actual verdict, time to detect, time to recover and the top reason."""
    path = b.gameday(tmp_path, [("database-latency", b.run_journal()),
                                ("cache-down", b.run_journal(b.TOLERATED_VERDICT)), ("disk-full", None)],
                     expect={"database-latency": "FAILURE"})
    text = render_markdown(build_report([path]))
    assert text.startswith("### \u274c chaoskit: FAILURE \u2014 Tuesday game day")
    header, *rows = table_rows(text)
    assert header == ["Experiment", "Expected", "Verdict", "Time to detect", "Time to recover", "Top reason"]
    assert [r[:5] for r in rows] == [
        ["database latency", "FAILURE", "\u274c **FAILURE**", "3.0 s", "\u2014"],
        ["cache down", "TOLERATED", "\u2705 **TOLERATED**", "\u2014", "0.1 s"],
        ["disk full", "TOLERATED \u26a0\ufe0f **surprise**", "\U0001f4a5 **ERROR**", "\u2014", "\u2014"],
    ]
    assert rows[0][5].startswith("hypothesis 'Timelines stay fast', probe 'p99' violated")


def test_what_did_not_pass_is_detailed_in_folded_blocks(tmp_path):
    """Each non-tolerated experiment gets a <details> block with the evidence; tolerated ones do not."""
    path = b.gameday(tmp_path, [("database-latency", b.run_journal()),
                                ("cache-down", b.run_journal(b.TOLERATED_VERDICT))])
    text = render_markdown(build_report([path]))
    assert text.count("<details>") == 1
    assert "<summary>database latency: FAILURE (expected TOLERATED)</summary>" in text
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


def test_a_game_day_as_expected_is_green_in_the_heading(tmp_path):
    """A finished game day whose failures were expected heads the summary with a check mark and its tally."""
    import json

    path = b.gameday(tmp_path, [("database-latency", b.run_journal())], expect={"database-latency": "FAILURE"})
    day = json.loads(path.read_text())
    day.update(as_expected=True, summary="1 of 1 as expected")
    path.write_text(json.dumps(day))
    text = render_markdown(build_report([path]))
    assert text.startswith("### \u2705 chaoskit: 1 of 1 as expected (worst verdict FAILURE) \u2014 Tuesday game day")
    day.update(as_expected=False, summary="0 of 1 as expected")
    path.write_text(json.dumps(day))
    assert render_markdown(build_report([path])).startswith("### \u274c chaoskit: 0 of 1 as expected")
