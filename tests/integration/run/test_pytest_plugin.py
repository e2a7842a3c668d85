"""The pytest plugin, used as a project would: a test runs an experiment and asserts on its verdict."""

from __future__ import annotations

import pytest

from tests.integration.run.web_experiment import write_experiment

pytestmark = pytest.mark.docker

pytest_plugins = ["pytester"]

INNER_TEST = '''
import pytest

@pytest.mark.chaoskit
def test_latency_is_tolerated(chaoskit_run):
    result = chaoskit_run({experiment!r}, vars={vars!r})
    assert result.tolerated, result.summary

@pytest.mark.chaoskit
def test_heavy_latency_fails(chaoskit_run):
    result = chaoskit_run({harmful!r}, vars={vars!r})
    assert result.tolerated, result.summary
'''


def test_plugin_runs_experiments_and_reports_verdicts(pytester, tmp_path, web, toxiproxy, monkeypatch):
    """Through the plugin, a harmless fault passes, a harmful one fails with its reason, and nothing is left applied;
    its faults went to the ledger `chaoskit rollback` reads ($CHAOSKIT_LEDGER here), not a temporary one."""
    from chaoskit.run.ledger import Ledger

    ledger = tmp_path / "host-ledger.jsonl"
    monkeypatch.setenv("CHAOSKIT_LEDGER", str(ledger))
    monkeypatch.setenv("CHAOSKIT_HOME", str(tmp_path / "home"))
    variables = dict(arg.split("=", 1) for arg in web.vars[1::2])
    pytester.makepyfile(INNER_TEST.format(experiment=str(write_experiment(tmp_path, 1)),
                                          harmful=str(write_experiment(tmp_path, 300)), vars=variables))
    result = pytester.runpytest_subprocess("-m", "chaoskit", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*FAILURE*'page'*"])
    assert toxiproxy.client.proxy("web").toxics == ()
    entries = Ledger(ledger).entries()
    assert entries and not any(e.pending for e in entries)
