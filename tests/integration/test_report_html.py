"""The HTML report opens in headless Chromium (Debian's) with its charts and verdicts rendered, offline.

Chromium runs with every outbound connection sent to a closed local port, so
a report that needed the network would render broken here. Rendering is
checked twice: in the DOM after the page's script ran (uPlot's canvases, the
verdict badges) and in the pixels of a screenshot (the badge colour, the
shaded fault window, the p99 line), which only appear if the browser
actually drew them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from chaoskit.report.chart import COLORS, FAULT_ALPHA
from chaoskit.cli.report import report
from chaoskit.report.html_report import BADGE_COLORS
from chaoskit.report.junit import ELEMENT_FOR
from chaoskit.report.markdown import ICONS
from chaoskit.verdict import Verdict
from tests.support import wait_until
from tests.unit.report import builders as b
from tests.unit.report.builders import Page

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
# Not a skip: ./setup.sh test installs Chromium, so its absence is a broken set-up, not a reason to pass.
needs_chromium = pytest.mark.usefixtures("chromium_installed")


@pytest.fixture
def chromium_installed() -> None:
    if CHROMIUM is None:
        pytest.fail("Chromium is not installed (./setup.sh test installs it: apt-get install chromium)")
WINDOW = (1200, 2600)


def chromium(*args: str) -> subprocess.CompletedProcess:
    """Headless Chromium with a throwaway profile and no way out to the network."""
    with tempfile.TemporaryDirectory(prefix="chaoskit-chromium-") as profile:
        return subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={profile}",
             "--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
             f"--window-size={WINDOW[0]},{WINDOW[1]}", *args],
            capture_output=True, text=True, timeout=90,
        )


def open_in_chromium(page: Path, tmp_path: Path) -> tuple[Page, np.ndarray]:
    """(the DOM Chromium built, the screenshot's RGB pixels as 0..255 ints)."""
    dumped = chromium("--dump-dom", page.resolve().as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    shot = tmp_path / f"{page.stem}.png"
    taken = chromium(f"--screenshot={shot}", page.resolve().as_uri())
    assert taken.returncode == 0 and shot.exists(), taken.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    return Page(dumped.stdout), pixels


def rgb(hex_color: str, alpha: float = 1.0) -> np.ndarray:
    """The colour as drawn over white at ``alpha``."""
    color = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)
    return (color * alpha + 255 * (1 - alpha)).round().astype(int)


def count(pixels: np.ndarray, color: np.ndarray, tolerance: int = 6) -> int:
    return int((np.abs(pixels - color).max(axis=2) <= tolerance).sum())


def assert_rendered(dom: Page, pixels: np.ndarray, verdicts: set[str], charts: int) -> None:
    assert len(dom.charts()) == charts
    # The script ran: uPlot built one plot per panel (latency, error rate, status strip) of every chart.
    plots = [a for t, a in dom.tags if t == "div" and "uplot" in a.get("class", "").split()]
    assert len(plots) == 3 * charts and len(dom.all("canvas")) == len(plots)
    # Values on hover: the line panels (latency, error rate) each have uPlot's live legend.
    legends = [a for t, a in dom.tags if t == "table" and "u-legend" in a.get("class", "").split()]
    assert len(legends) == 2 * charts
    badges = {a["class"].split("v-", 1)[1].split()[0] for t, a in dom.tags
              if t == "span" and "badge" in a.get("class", "")}
    assert verdicts <= badges
    text = " ".join(dom.text)
    for verdict in verdicts:
        assert verdict in text
    for verdict in verdicts:  # the CSS badge is painted: hundreds of pixels of its colour
        assert count(pixels, rgb(BADGE_COLORS[verdict]), tolerance=3) > 200, verdict
    # The chart is drawn: a shaded fault window (a large flat area) and the p99 line.
    assert count(pixels, rgb(COLORS["fault"], FAULT_ALPHA), tolerance=4) > 20_000
    assert count(pixels, rgb(COLORS["p99"]), tolerance=8) > 300


@needs_chromium
def test_game_day_report_renders_in_chromium(tmp_path):
    """A game-day report shows its verdict badges and charts in Chromium with the network cut off."""
    day = b.gameday(tmp_path / "day", [("database-latency", b.run_journal(fault_errors=3)),
                                       ("cache-down", b.run_journal(b.TOLERATED_VERDICT)), ("disk-full", None)])
    result = CliRunner().invoke(report, [str(day)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    page = day.with_suffix(".html")
    dom, pixels = open_in_chromium(page, tmp_path)
    assert_rendered(dom, pixels, {"FAILURE", "TOLERATED", "ERROR"}, charts=2)


# -- a journal from a real run -----------------------------------------------------------

EXPERIMENT = """
title: Web under load behind a slow proxy
variables:
  web: http://127.0.0.1:0
  toxiproxy: http://127.0.0.1:8474
environment:
  toxiproxy_url: ${toxiproxy}
phases: {warmup: 1s, baseline: 4s, fault: 5s, recovery: 4s}
load:
  rate: 40
  timeout: 3s
  connections: 4
  max_connections: 100
  requests:
    - name: page
      url: ${web}/
steady_state:
  title: The page answers fast under load
  probes:
    - name: p99
      type: load
      metric: p99
      tolerance: {max: 600ms}
    - name: error rate
      type: load
      metric: error_rate
      tolerance: {max: 1%}
    - name: page
      type: http
      url: ${web}/
      timeout: 2s
      tolerance: {status: 200}
method:
  - name: slow web
    fault: network.latency
    params: {proxy: web, latency_ms: 1000}
"""


@pytest.mark.docker
@needs_chromium
def test_report_of_a_real_run_renders_in_chromium(tmp_path, web, toxiproxy):
    """A real `chaoskit run` under load with a 1 s toxic: its journal renders as HTML, JUnit and Markdown.

    The verdict is FAILURE (p99 over 600 ms), or INCONCLUSIVE when a busy
    machine made the load generator fall behind; either way every format
    must show exactly the verdict the journal holds.
    """
    experiment = tmp_path / "slow-web.yaml"
    experiment.write_text(EXPERIMENT)
    journal = tmp_path / "journals" / "slow-web.json"
    env = {**os.environ, "CHAOSKIT_LEDGER": str(tmp_path / "ledger.jsonl")}
    run = subprocess.run([sys.executable, "-m", "chaoskit", "--log-format", "json", "run", str(experiment), *web.vars,
                          "--journal", str(journal)], env=env, capture_output=True, text=True, timeout=120)
    assert toxiproxy.client.proxy("web").toxics == ()
    data = json.loads(journal.read_text())
    verdict = data["verdict"]["verdict"]
    assert verdict in ("FAILURE", "INCONCLUSIVE"), run.stdout + run.stderr[-3000:]
    assert run.returncode == Verdict[verdict].exit_code
    assert data["load"]["buckets"], "the run recorded no load"

    result = CliRunner().invoke(report, [str(journal)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    dom, pixels = open_in_chromium(journal.with_suffix(".html"), tmp_path)
    assert_rendered(dom, pixels, {verdict}, charts=1)
    text = " ".join(" ".join(dom.text).split())
    assert data["verdict"]["reasons"][0][:60] in text and "time to detect" in text
    assert "Hypothesis: The page answers fast under load" in text

    junit = CliRunner().invoke(report, [str(journal), "--format", "junit", "-o", "-"], catch_exceptions=False)
    root = ET.fromstring(junit.output.encode())
    case = root.find("testsuite/testcase")
    assert case.get("name") == "Web under load behind a slow proxy" and case.get("classname") == "chaoskit"
    problem = case.find(ELEMENT_FOR[verdict])
    assert problem is not None and problem.get("type") == verdict
    if verdict == "FAILURE":
        assert "hypothesis 'The page answers fast under load', probe 'p99'" in problem.text

    markdown = CliRunner().invoke(report, [str(journal), "--format", "markdown"], catch_exceptions=False)
    assert f"| Web under load behind a slow proxy | {ICONS[verdict]} **{verdict}** |" in markdown.output


@pytest.mark.docker
@needs_chromium
def test_a_sigkilled_run_leaves_a_journal_reported_as_crashed(tmp_path, web, toxiproxy):
    """`chaoskit run` killed with SIGKILL mid-fault: its journal reads, and every report says it crashed."""
    from tests.integration.run.web_experiment import write_experiment

    journal = tmp_path / "j.json"
    env = {**os.environ, "CHAOSKIT_LEDGER": str(tmp_path / "ledger.jsonl")}
    proc = subprocess.Popen([sys.executable, "-m", "chaoskit", "run", str(write_experiment(tmp_path, 300, fault_s=60)),
                             *web.vars, "--journal", str(journal)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: toxiproxy.client.proxy("web").toxics, what="toxic on the server", timeout_s=30)
        wait_until(lambda: '"event":"fault.applied"' in journal.read_text(), what="fault.applied journaled")
        wait_until(lambda: journal.read_text().count('"phase":"FAULT"') >= 3, what="observations during the fault")
    finally:
        proc.kill()
        proc.wait(10)
        rollback = subprocess.run([sys.executable, "-m", "chaoskit", "rollback"], env=env, capture_output=True,
                                  text=True, timeout=60)
    assert rollback.returncode == 0 and toxiproxy.client.proxy("web").toxics == (), rollback.stderr

    result = CliRunner().invoke(report, [str(journal)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    dom, pixels = open_in_chromium(journal.with_suffix(".html"), tmp_path)
    text = " ".join(" ".join(dom.text).split())
    assert "crashed" in text and "not reverted in this journal" in text
    assert count(pixels, rgb(COLORS["fault"], FAULT_ALPHA), tolerance=4) > 20_000  # the fault, open to the end
    for fmt in ("junit", "markdown"):
        out = CliRunner().invoke(report, [str(journal), "--format", fmt, "-o", "-"], catch_exceptions=False).output
        assert "crashed" in out and "TOLERATED" not in out, fmt
