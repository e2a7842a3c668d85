"""The example plugin's probe, installed in the venv: listed, validated with file:line, read for real against a
server on 127.0.0.1, shown in a dry run and judged in a run against a real container."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaoskit.adapters.probe_plugins import probe_catalogue
from chaoskit.measure.plugin_poll import PluginPoller
from chaoskit.model.plugin_probe import PluginProbeSpec
from chaoskit.model.tolerance import Threshold
from tests.integration.run.test_run_cli import chaoskit, finish

ROOT = Path(__file__).resolve().parents[3]
PLUGIN = ROOT / "examples" / "chaoskit-example-plugin"

EXPERIMENT = """
title: A web server's TCP port while its container is stopped
variables:
  port: {port}
phases: {{warmup: 0s, baseline: 3s, fault: 3s, recovery: 6s}}
steady_state:
  title: The port accepts connections, fast enough
  probes:
    - name: web connect
      type: example.tcp_connect
      params: {{host: 127.0.0.1, port: "${{port}}", timeout: 500ms}}
      tolerance: {{max: 200ms}}
method:
  - {{name: web stopped, fault: container.stop, target: {{name: {name}}}}}
"""


@pytest.fixture(autouse=True)
def installed() -> None:
    assert "example.tcp_connect" in probe_catalogue().probes, (
        f"the example plugin's probe is not installed: pip install --no-deps -e {PLUGIN} (./setup.sh does)")


class Server:
    """A TCP server on 127.0.0.1 that accepts and closes connections until stopped."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.done.is_set():
            try:
                self.listener.accept()[0].close()
            except (TimeoutError, OSError):
                continue

    def stop(self) -> None:
        """Stop accepting and close the socket: connections are refused from now on."""
        self.done.set()
        self.thread.join(timeout=2)
        self.listener.close()


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.stop()


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe_socket:
        return probe_socket.getsockname()[1]


def spec(port: int) -> PluginProbeSpec:
    cls = probe_catalogue().probes["example.tcp_connect"]
    params = cls.signature.parse({"host": "127.0.0.1", "port": port, "timeout": "500ms"})
    return PluginProbeSpec("connect", "example.tcp_connect", params, "duration", Threshold(max=0.2))


def test_probes_lists_the_plugin_probe_with_its_distribution():
    """`chaoskit probes --json` has the plugin's probe after the built-ins, with what one reading is."""
    result = subprocess.run([sys.executable, "-m", "chaoskit", "probes", "--json"], capture_output=True, text=True,
                            timeout=60, check=True)
    listed = {p["type"]: p for p in json.loads(result.stdout)}
    assert listed["example.tcp_connect"]["origin"] == "chaoskit-example-plugin 0.1.0"
    assert listed["example.tcp_connect"]["reading"] == "duration"
    assert [p["name"] for p in listed["example.tcp_connect"]["params"]] == ["host", "port", "timeout"]
    assert listed["http"]["origin"] == "built-in" and result.stderr == ""


def test_validate_checks_the_plugin_probe_with_file_and_line(tmp_path):
    """The shipped example validates; a misspelt parameter is reported at its line with a suggestion."""
    good = tmp_path / "good.yaml"
    good.write_text(EXPERIMENT.format(port=8080, name="web"))
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("port: \"${port}\"", "prot: 8080"))
    shipped = PLUGIN / "connect-time.yaml"
    result = subprocess.run([sys.executable, "-m", "chaoskit", "validate", str(shipped), str(good), str(bad)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"ok: {shipped}" in result.stdout and f"ok: {good}" in result.stdout
    assert f"{bad}:11: steady_state.probes[0].params.prot: unknown parameter for example.tcp_connect; did you " \
           "mean 'port'?" in result.stderr


def test_the_probe_times_a_real_connection_and_a_refusal_is_no_reading(server):
    """Against a server on 127.0.0.1: a reading of a few milliseconds; once it is closed, a reading with the
    refusal as its error and no value."""
    port = server.port
    poller = PluginPoller(spec(port))
    poller.prepare()
    assert poller.describe() == f"TCP connect time to 127.0.0.1:{port}"
    readings = [poller.poll() for _ in range(3)]
    assert all(r.error is None and 0 < r.values["value"] < 0.2 for r in readings), readings
    server.stop()
    refused = poller.poll()
    assert refused.values == {} and refused.error is not None
    assert refused.error.startswith(f"connect to 127.0.0.1:{port}: ") and "refused" in refused.error.lower()
    poller.close()


@pytest.mark.docker
def test_dry_run_shows_it_and_a_run_judges_a_real_container(tmp_path, run_container):
    """nginx published on 127.0.0.1: the dry run names the probe; the run sees connections refused while the
    container is stopped (FAILURE, said in one line) and the port back after the revert."""
    port = free_port()
    web = run_container("chaoskit/nginx", ports={"80/tcp": ("127.0.0.1", port)})
    path, ledger = tmp_path / "connect.yaml", tmp_path / "ledger.jsonl"
    path.write_text(EXPERIMENT.format(port=port, name=web.name))
    code, out, err = finish(chaoskit("run", "--dry-run", str(path), ledger=ledger))
    assert code == 0, err
    assert f"  probe 'web connect' (example.tcp_connect): TCP connect time to 127.0.0.1:{port}" in out
    journal = tmp_path / "j.json"
    code, out, err = finish(chaoskit("run", str(path), "--journal", str(journal), ledger=ledger), timeout=120)
    assert code == 1 and out.startswith("FAILURE"), out + err
    assert f"connect to 127.0.0.1:{port}" in out and "Traceback" not in err
    data = json.loads(journal.read_text())
    (record,) = data["prometheus"]
    assert record["type"] == "example.tcp_connect" and record["readings"]
    recovery = [o for o in data["observations"] if o["phase"] == "RECOVERY"]
    assert recovery and recovery[-1]["ok"], recovery


ACME = '''
from chaoskit.adapters.probe_plugins import PluginProbe
from chaoskit.faults.base import Fault
from chaoskit.model.params import FaultSignature, ParamSpec
from chaoskit.model.plugin_probe import ProbeSignature


class Flaky(PluginProbe):
    type = "acme.flaky"
    signature = ProbeSignature(params=(ParamSpec("fail_after", "int", default=2),), reading="pass_fail")
    reads = 0

    def describe(self):
        return "a probe with a bug"

    def read(self):
        Flaky.reads += 1
        if Flaky.reads > self.params["fail_after"]:
            return {}["missing"]
        return True


class Nothing(Fault):
    kind = "acme.nothing"
    signature = FaultSignature(target="none")

    def describe(self):
        return "nothing at all"

    def apply(self, backends):
        pass

    def revert(self, backends):
        pass
'''


def test_a_plugin_probe_that_raises_ends_the_run_as_an_error_in_one_line(tmp_path):
    """A probe plugin (installed beside chaoskit as a distribution) whose read() raises KeyError: exit 6, one line
    naming the probe, its type and its distribution, no traceback; the fault it ran beside is still reverted."""
    dist = tmp_path / "acme_probes-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-probes\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[chaoskit.probes]\nacme.flaky = acme_probes:Flaky\n"
                                           "[chaoskit.faults]\nacme.nothing = acme_probes:Nothing\n")
    (tmp_path / "acme_probes.py").write_text(ACME)
    path = tmp_path / "flaky.yaml"
    path.write_text("title: flaky\nphases: {warmup: 0s, baseline: 2s, fault: 2s, recovery: 2s}\n"
                    "steady_state: {title: fine, probes: [{name: flaky one, type: acme.flaky}]}\n"
                    "method: [{fault: acme.nothing}]\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", ""), str(ROOT)]),
           "CHAOSKIT_LEDGER": str(tmp_path / "ledger.jsonl")}
    result = subprocess.run([sys.executable, "-m", "chaoskit", "--log-format", "json", "run", str(path),
                             "--journal", str(tmp_path / "j.json")], capture_output=True, text=True, timeout=60,
                            env=env)
    assert result.returncode == 6, result.stdout + result.stderr
    assert result.stdout.startswith("ERROR: flaky")
    assert ("plugin probe 'flaky one' (acme.flaky, from acme-probes 1.0) failed: KeyError: 'missing'"
            in result.stdout), result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    events = [e["event"] for e in json.loads((tmp_path / "j.json").read_text())["events"]]
    assert "fault.applied" in events and "fault.reverted" in events
