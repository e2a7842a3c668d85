"""The write audits in real runs against the sample stack (fan-out lag, no tweet lost, no fan-out left pending):
journal and verdicts."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from chaoskit.run.ledger import Ledger

pytestmark = pytest.mark.stack

EXPERIMENT = """\
title: worker killed, fan-out and durability observed
environment: {{compose_project: "{project}", toxiproxy_url: "{toxiproxy}"}}
phases: {{warmup: 1s, baseline: 3s, fault: 3s, recovery: 6s}}
load:
  rate: 40
  users: {{count: 2000}}
  requests:
    - {{name: read, url: "{api}/timeline/{{user}}?limit=20", weight: 3}}
    - {{name: post, method: POST, url: "{api}/tweets", json: {{user_id: "{{user}}", text: "{marker} {{seq}}"}},
       ok_status: [201], capture: id}}
steady_state:
  title: followers see new tweets, and no acknowledged tweet is lost
  probes:
    # User 7 is an ordinary user whom user 19 follows in the 2,000-user data set.
    - name: fan-out lag
      type: writes.visible
      write: {{url: "{api}/tweets", json: {{user_id: 7, text: "{marker} lag {{seq}}"}}}}
      read: "{api}/timeline/19?limit=200"
      tolerance: 20s
    - name: no tweet lost
      type: writes.readable
      request: post
      url: "{api}/tweets/{{id}}"
      stored:
        target: {{service: postgres}}
        cmd: [psql, -U, postgres, -AtX, -c, "SELECT id FROM tweets WHERE id IN ({{ids}})"]
      tolerance: 0
    - name: no fan-out lost
      type: writes.pending
      pending:
        target: {{service: postgres}}
        cmd: [psql, -U, postgres, -AtX, -c, "SELECT id FROM tweets WHERE id IN ({{ids}}) AND NOT fanned_out"]
      tolerance: 0
method:
  - {{name: kill the worker, fault: container.kill, target: {{service: worker}}}}
{extra}"""


def run(stack, tmp_path: Path, extra: str = "") -> tuple[subprocess.CompletedProcess[str], dict, str]:
    marker = f"probe-it-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "experiment.yaml"
    path.write_text(EXPERIMENT.format(project=stack.project, toxiproxy=stack.toxiproxy_url, marker=marker,
                                      api=f"http://127.0.0.1:{stack.api_port}", extra=extra.format(marker=marker)))
    journal = tmp_path / "journal.json"
    ledger = tmp_path / "ledger.jsonl"
    result = subprocess.run([sys.executable, "-m", "chaoskit", "--log-format", "json", "run", str(path),
                             "--journal", str(journal), "--ledger", str(ledger)],
                            capture_output=True, text=True, timeout=120)
    assert Ledger(ledger).pending() == []
    assert all(c.status == "running" for c in stack.containers("worker"))
    return result, json.loads(journal.read_text()), marker


def event_of(journal: dict, name: str) -> dict:
    (event,) = [e for e in journal["events"] if e["event"] == name]
    return event


def test_a_worker_crash_shows_in_fanout_lag_and_loses_no_tweet(stack, tmp_path):
    """Lag values are journaled each round (the crash's backlog among them); after recovery every 201 is read back
    and fanned out."""
    result, journal, marker = run(stack, tmp_path)
    verdict = journal["verdict"]
    # A machine too busy to keep the load's schedule makes it INCONCLUSIVE, which says nothing about the probes.
    assert verdict["verdict"] == "TOLERATED" or verdict["reasons"][0].startswith("the measurement is not valid"), \
        result.stdout + result.stderr[-3000:]
    lags = [o for o in journal["observations"] if o["probe"] == "fan-out lag"]
    assert {o["phase"] for o in lags} >= {"BASELINE", "RECOVERY"}
    values = [o["value"] for o in lags]
    assert all(isinstance(v, float) and 0 <= v < 20 for v in values), lags
    # Tweets posted while the worker was dead reached the timeline only after it was started again.
    assert max(values) >= 1.0 > min(values), values
    summary = event_of(journal, "writes.visible.summary")
    assert summary["probe"] == "fan-out lag" and summary["visible"] >= len(lags) > 0, summary
    assert summary["never_visible"] == 0 and summary["lag_max_s"] >= summary["lag_p50_s"] > 0, summary
    event = event_of(journal, "writes.readable.checked")
    posted = int(stack.sql(f"SELECT count(*) FROM tweets WHERE text LIKE '{marker} %' AND text NOT LIKE "
                           f"'{marker} lag %'")[0][0])
    assert 0 < event["acknowledged"] == event["checked"] <= posted, event
    assert (event["lost"], event["unverified"], event["not_stored"]) == (0, 0, 0), event
    audit, fanout = [o for o in journal["observations"] if o["phase"] == "AUDIT"]
    assert audit["probe"] == "no tweet lost" and audit["ok"] and audit["value"] == 0
    assert f"{event['acknowledged']} acknowledged by request 'post', {event['checked']} checked, 0 lost" in audit["detail"]
    # The restarted worker delivered every job the crash held up: nothing is left pending fan-out.
    complete = event_of(journal, "writes.pending.checked")
    assert complete["acknowledged"] == event["acknowledged"] and complete["pending"] == 0, complete
    assert fanout["probe"] == "no fan-out lost" and fanout["ok"] and fanout["value"] == 0


def test_acknowledged_tweets_deleted_behind_the_api_are_a_failure(stack, tmp_path):
    """Tweets deleted from Postgres after their 201 (a rollback action does it) are found lost: FAILURE, exit 1."""
    delete = ("rollbacks:\n  - type: command\n    target: {{service: postgres}}\n    params: {{cmd: \"psql -U postgres"
              " -c \\\"DELETE FROM tweets WHERE text LIKE '{marker} %'\\\"\"}}\n")
    try:
        result, journal, _ = run(stack, tmp_path, delete)
    finally:
        # The deleted tweets are still in followers' caches; later tests compare caches with SQL, so
        # start them cold (each is repaired from Postgres on its first miss).
        stack.redis("FLUSHALL")
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    assert "probe 'no tweet lost' violated after recovery" in result.stdout
    event = event_of(journal, "writes.readable.checked")
    assert event["lost"] + event["not_stored"] > 0 and event["checked"] == event["acknowledged"] > 0, event
