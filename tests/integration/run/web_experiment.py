"""A small experiment against nginx behind a real Toxiproxy proxy named 'web', with a latency fault."""

from __future__ import annotations

from pathlib import Path

EXPERIMENT = """
title: Web behind a proxy, {fault_name}
variables:
  web: http://127.0.0.1:0
  toxiproxy: http://127.0.0.1:8474
environment:
  toxiproxy_url: ${{toxiproxy}}
phases: {{warmup: 0s, baseline: 2s, fault: {fault_s}s, recovery: 4s}}
steady_state:
  title: The page answers fast
  probes:
    - name: page
      type: http
      url: ${{web}}/
      timeout: 2s
      tolerance: {{status: 200, latency: {{max: 150ms}}}}
method:
  - fault: network.latency
    params: {{proxy: web, latency_ms: {latency_ms}}}
"""


def write_experiment(tmp_path: Path, latency_ms: int, fault_s: int = 3) -> Path:
    path = tmp_path / f"latency-{latency_ms}.yaml"
    path.write_text(EXPERIMENT.format(fault_name=f"{latency_ms} ms", fault_s=fault_s, latency_ms=latency_ms))
    return path


LOAD_EXPERIMENT = """
title: Web under load, {latency_ms} ms of latency
variables:
  web: http://127.0.0.1:0
  toxiproxy: http://127.0.0.1:8474
environment:
  toxiproxy_url: ${{toxiproxy}}
phases: {{warmup: 1s, baseline: 4s, fault: 4s, recovery: 5s}}
load:
  rate: 200
  timeout: 2s
  connections: 16
  # The tests judge verdicts, not the generator: a CI machine that stalls the process for
  # 40 ms must not make the run INCONCLUSIVE (the derived limit would be 30 ms here).
  max_lag: 100ms
  requests:
    - {{name: page, url: "${{web}}/"}}
steady_state:
  title: The page stays fast under load
  probes:
    - {{name: p99, type: load, metric: p99, tolerance: {{max: 300ms}}}}
    - {{name: errors, type: load, metric: error_rate, tolerance: {{max: 1%}}}}
method:
  - fault: network.latency
    params: {{proxy: web, latency_ms: {latency_ms}}}
"""


def write_load_experiment(tmp_path: Path, latency_ms: int) -> Path:
    path = tmp_path / f"load-latency-{latency_ms}.yaml"
    path.write_text(LOAD_EXPERIMENT.format(latency_ms=latency_ms))
    return path
