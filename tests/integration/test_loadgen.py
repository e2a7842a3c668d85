"""The load generator against real servers: nginx in a container, and a port nobody listens on."""

from __future__ import annotations

import gc
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from chaoskit.measure import LoadGenerator, ValidityLimits, assess_validity, summarize
from chaoskit.measure.buckets import Bucket
from chaoskit.model.load import LoadSpec, RequestSpec
from tests.support import wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def nginx(run_container: Callable[..., Any]) -> tuple[Any, str]:
    """chaoskit/nginx (200 "ok" on any path) on a random 127.0.0.1 port; removed after the test."""
    container = run_container("chaoskit/nginx", ports={"80/tcp": ("127.0.0.1", None)})
    base = f"http://127.0.0.1:{container.ports['80/tcp'][0]['HostPort']}"
    wait_until(lambda: urllib.request.urlopen(base + "/", timeout=1).status == 200, what="nginx")
    return container, base


def run_load(spec: LoadSpec, seconds: float, during: Callable[[LoadGenerator], None] | None = None) -> LoadGenerator:
    generator = LoadGenerator(spec, max_duration_s=seconds + 5)
    generator.start()
    started = time.monotonic()
    try:
        if during is not None:
            during(generator)
        time.sleep(max(0.0, seconds - (time.monotonic() - started)))
    finally:
        generator.stop()
    return generator


@pytest.mark.docker
def test_steady_load_is_sent_on_schedule_and_answered(nginx: tuple[Any, str]):
    """At 300 req/s for 3 s every scheduled request is sent, answered 200, and bucketed per second."""
    _, base = nginx
    spec = LoadSpec(rate=300, requests=(RequestSpec("read", base + "/timeline/{user}?limit=20"),), connections=8)
    stolen_before = psutil.cpu_times().steal
    generator = run_load(spec, 3.0)
    stolen = psutil.cpu_times().steal - stolen_before
    buckets = generator.buckets()
    total = summarize(buckets)
    assert generator.error is None
    assert len(buckets) >= 3 and [b.index for b in buckets] == list(range(len(buckets)))
    assert total.sent >= 0.95 * total.target and total.target >= 850
    assert total.succeeded == total.sent and total.failed == total.timed_out == 0
    assert 0 < total.p50 < total.p99 < 1.0
    assert all(b.target == 300 for b in buckets[:3])
    # Lenient lag limit: this asserts the generator kept its schedule, not the shared machine's scheduler.
    assert assess_validity(buckets, ValidityLimits(max_lag_p99_s=0.25)).valid
    # Each second's steal is a share of all CPUs' time: summed back to CPU-seconds it cannot exceed
    # what the kernel counted over the whole run (plus one 10 ms tick of rounding per second).
    assert all(0.0 <= b.steal <= 1.0 for b in buckets)
    in_buckets = sum(b.steal * b.duration_s * psutil.cpu_count() for b in buckets)
    assert in_buckets <= stolen + 0.01 * len(buckets) + 1e-9
    # The journal is plain JSON and the buckets come back from it intact.
    record = json.loads(json.dumps(generator.journal()))
    copies = [Bucket.from_dict(b) for b in record["buckets"]]
    assert summarize(copies).p99 == total.p99 and "reasons" in record["validity"]
    assert [c.steal for c in copies] == [b.steal for b in buckets] and record["summary"]["steal"] == total.steal


@pytest.mark.docker
def test_live_buckets_are_readable_while_the_load_runs(nginx: tuple[Any, str]):
    """The run loop can wait for and read completed seconds before the load stops."""
    _, base = nginx
    spec = LoadSpec(rate=100, requests=(RequestSpec("read", base + "/"),), connections=4)
    generator = LoadGenerator(spec, max_duration_s=10)
    with generator:
        assert generator.wait_for_buckets(2, timeout_s=5)
        window = generator.latest_window()
        assert generator.running
        assert gc.get_freeze_count() > 0, "the heap is frozen while the load runs"
    assert window is not None and window.sent > 0 and window.p99 is not None
    assert not generator.running
    assert gc.get_freeze_count() == 0


@pytest.mark.docker
def test_realtime_load_raises_every_thread_of_the_process_while_it_runs(nginx: tuple[Any, str]):
    """load.realtime: every thread, the generator's and the caller's, is SCHED_FIFO while the load runs
    (the GIL makes them one scheduling unit); after it, all are back to normal, threads started meanwhile too."""
    if os.geteuid() != 0:
        pytest.fail("this test needs root, as `./setup.sh test` runs (CAP_SYS_NICE for SCHED_FIFO)")
    _, base = nginx
    spec = LoadSpec(rate=200, requests=(RequestSpec("read", base + "/"),), connections=4, realtime=True)
    generator = LoadGenerator(spec, max_duration_s=10)
    release = threading.Event()
    with generator:
        assert generator.wait_for_buckets(1, timeout_s=5)
        started_meanwhile = threading.Thread(target=release.wait, daemon=True)
        started_meanwhile.start()
        assert os.sched_getscheduler(generator._thread.native_id) == os.SCHED_FIFO
        assert os.sched_getscheduler(0) == os.SCHED_FIFO
        assert os.sched_getscheduler(started_meanwhile.native_id) == os.SCHED_FIFO
    try:
        assert os.sched_getscheduler(0) == os.SCHED_OTHER
        assert os.sched_getscheduler(started_meanwhile.native_id) == os.SCHED_OTHER
    finally:
        release.set()
    assert summarize(generator.buckets()).succeeded > 0
    journal = generator.journal()  # written after the load: it says how the load ran
    assert journal["spec"]["realtime"] is True and journal["generator"]["scheduling"] == "SCHED_FIFO"


def _cpu_latency_limit() -> int:
    """The kernel's CPU latency limit now, in microseconds (2,000,000,000 when nothing asks for one)."""
    with open("/dev/cpu_dma_latency", "rb") as device:
        return struct.unpack("=i", device.read(4))[0]


@pytest.mark.docker
def test_keep_cpus_awake_holds_a_zero_cpu_latency_request_only_while_the_load_runs(nginx: tuple[Any, str]):
    if os.geteuid() != 0:
        pytest.fail("this test needs root, as `./setup.sh test` runs (/dev/cpu_dma_latency is root's)")
    before = _cpu_latency_limit()
    assert before > 0, "another process holds a zero CPU latency request: this test could not tell"
    _, base = nginx
    spec = LoadSpec(rate=200, requests=(RequestSpec("read", base + "/"),), connections=4, keep_cpus_awake=True)
    with LoadGenerator(spec, max_duration_s=10) as generator:
        assert generator.wait_for_buckets(1, timeout_s=5)
        assert _cpu_latency_limit() == 0
        assert generator.diagnostics()["cpus"] == "kept awake"
    assert _cpu_latency_limit() == before
    assert summarize(generator.buckets()).succeeded > 0
    journal = generator.journal()  # written after the load: it says how the load ran
    assert journal["spec"]["keep_cpus_awake"] is True and journal["generator"]["cpus"] == "kept awake"


def test_a_killed_process_leaves_no_cpu_latency_request_behind():
    """The request lives as long as the file is open: SIGKILL, which no cleanup code survives, ends it too."""
    if os.geteuid() != 0:
        pytest.fail("this test needs root, as `./setup.sh test` runs (/dev/cpu_dma_latency is root's)")
    before = _cpu_latency_limit()
    assert before > 0, "another process holds a zero CPU latency request: this test could not tell"
    program = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from chaoskit.measure.tuning import keep_cpus_awake\n"
        "keep_cpus_awake()\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert _cpu_latency_limit() == 0
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert _cpu_latency_limit() == before


@pytest.mark.parametrize("key, setting, code, says", [
    ("realtime", True, 3, "load.realtime is set but real-time scheduling was refused"),
    ("realtime", "auto", 0, "scheduling normal"),
    ("keep_cpus_awake", True, 3, "load.keep_cpus_awake is set but the CPU latency request"),
    ("keep_cpus_awake", "auto", 0, "cpus normal idle"),
])
def test_refused_tuning_fails_when_required_and_falls_back_when_auto(key, setting, code, says, tmp_path):
    """Without the privilege: `true` does not start and says what to do; auto runs without the tuning."""
    # Stands in for /dev/cpu_dma_latency: root's and, unlike it, read-only, so that without
    # CAP_DAC_OVERRIDE the kernel refuses the write as it refuses a user's.
    device = tmp_path / "cpu_dma_latency"
    device.write_bytes(b"")
    device.chmod(0o400)
    program = (
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from chaoskit.measure import LoadGenerator, LoadGeneratorFailed, tuning\n"
        "from chaoskit.model.load import LoadSpec, RequestSpec\n"
        f"tuning.CPU_LATENCY_DEVICE = {str(device)!r}\n"
        f"spec = LoadSpec(rate=10, requests=(RequestSpec('r', 'http://127.0.0.1:9/'),), {key}={setting!r})\n"
        "generator = LoadGenerator(spec)\n"
        "try:\n"
        "    generator.start()\n"
        "except LoadGeneratorFailed as exc:\n"
        "    print(exc)\n"
        "    sys.exit(3)\n"
        "generator.stop()\n"
        "print('scheduling', generator.diagnostics()['scheduling'])\n"
        "print('cpus', generator.diagnostics()['cpus'])\n"
    )
    # Still root (so the files stay readable wherever the checkout is), but without CAP_SYS_NICE,
    # CAP_DAC_OVERRIDE and a real-time allowance: what an unprivileged user has.
    done = subprocess.run(["prlimit", "--rtprio=0", "setpriv", "--bounding-set=-sys_nice,-dac_override",
                           sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == code, done.stderr
    assert says in done.stdout
    if setting is True:
        assert ("CAP_SYS_NICE" if key == "realtime" else "run chaoskit as root") in done.stdout
        assert f"{key}: auto" in done.stdout
    else:
        assert f"load.{key}_refused" in done.stdout + done.stderr  # the warning, logged


@pytest.mark.docker
def test_unexpected_status_is_a_failure_with_its_reason(nginx: tuple[Any, str]):
    """A 200 where only 201 counts as success is a failed outcome named by its status."""
    _, base = nginx
    spec = LoadSpec(rate=50, requests=(RequestSpec("post", base + "/tweets", method="POST",
                                                   json={"user_id": "{user}", "text": "hi {seq}"},
                                                   ok_status=(201,)),), connections=2)
    total = summarize(run_load(spec, 1.5).buckets())
    assert total.sent > 0 and total.failed == total.sent and total.succeeded == 0
    assert total.errors == {"status 200": total.sent}


@pytest.mark.docker
def test_a_frozen_server_shows_in_the_percentiles(nginx: tuple[Any, str]):
    """Server paused 0.8 s at 200 req/s: p99 timed from intended send shows the stall (no coordinated omission)."""
    container, base = nginx
    spec = LoadSpec(rate=200, requests=(RequestSpec("read", base + "/"),), connections=8, timeout_s=3.0)

    def freeze(generator: LoadGenerator) -> None:
        generator.wait_for_buckets(1, timeout_s=5)
        container.pause()
        time.sleep(0.8)
        container.unpause()

    total = summarize(run_load(spec, 4.0, during=freeze).buckets())
    assert total.timed_out == 0 and total.failed == 0
    # ~160 of ~800 requests were sent during the freeze and waited up to 0.8 s.
    assert total.p99 > 0.5
    assert total.p50 < 0.1


@pytest.mark.docker
def test_requests_not_answered_in_time_are_timeouts_with_their_latency(nginx: tuple[Any, str]):
    """With the server paused past the timeout, requests end as timeouts recorded at about the timeout."""
    container, base = nginx
    spec = LoadSpec(rate=100, requests=(RequestSpec("read", base + "/"),), connections=4, timeout_s=0.3)

    def freeze(generator: LoadGenerator) -> None:
        generator.wait_for_buckets(1, timeout_s=5)
        container.pause()
        time.sleep(1.0)
        container.unpause()

    generator = run_load(spec, 3.0, during=freeze)
    total = summarize(generator.buckets())
    assert total.timed_out >= 50
    assert total.max is not None and 0.3 <= total.max < 0.5
    assert total.succeeded > 0  # and the load carried on once the server was back


def test_connection_refused_is_a_fast_failure():
    """Nothing listening: every request fails at once with the connect error, none hangs to the timeout."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again on leaving the block: nothing listens there
    spec = LoadSpec(rate=50, requests=(RequestSpec("read", f"http://127.0.0.1:{port}/"),), connections=2)
    generator = run_load(spec, 1.5)
    total = summarize(generator.buckets())
    assert total.sent > 0 and total.failed == total.sent
    assert set(total.errors) == {"connect: Connection refused"}
    assert total.max < 0.5
    assert assess_validity(generator.buckets(), ValidityLimits(max_lag_p99_s=0.25)).valid  # the generator kept up


def test_start_twice_is_refused_and_stop_is_idempotent():
    """A generator runs once; stopping it again is harmless."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    generator = LoadGenerator(LoadSpec(rate=10, requests=(RequestSpec("r", f"http://127.0.0.1:{port}/"),),
                                       connections=1), max_duration_s=5)
    generator.start()
    with pytest.raises(RuntimeError):
        generator.start()
    generator.stop()
    first = generator.buckets()
    generator.stop()
    assert generator.buckets() == first


class _TweetHandler(BaseHTTPRequestHandler):
    """POST answers 201 with a fresh id (chunked every other time); GET answers 200."""

    protocol_version = "HTTP/1.1"
    next_id = 0
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers["Content-Length"]))
        with self.lock:
            _TweetHandler.next_id += 1
            tweet_id = _TweetHandler.next_id
        body = json.dumps({"id": tweet_id, "fanout": "queued"}).encode()
        self.send_response(201)
        if tweet_id % 2:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))

    def log_message(self, *args: object) -> None:
        pass


def test_captured_ids_are_what_the_server_acknowledged():
    """Ids in 201 answers (chunked or not) are captured, one per success, none invented."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TweetHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/tweets"
        spec = LoadSpec(rate=40, connections=2, requests=(
            RequestSpec("post", url, method="POST", json={"user_id": "{user}", "text": "t{seq}"}, capture="id"),))
        generator = run_load(spec, 1.5)
    finally:
        server.shutdown()
        server.server_close()
    total = summarize(generator.buckets())
    ids = generator.captured("post")
    assert total.succeeded > 0 and total.failed == 0
    assert sorted(ids) == list(range(1, _TweetHandler.next_id + 1)) and len(ids) == total.succeeded



def test_a_server_closing_every_new_connection_is_not_reconnected_to_in_a_loop():
    """A server that accepts and at once closes every connection: requests fail with their reason, and the
    generator opens connections for the requests that wait, not in a loop to refill its warm pool."""
    accepted = 0
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        port = listener.getsockname()[1]

        def close_everything() -> None:
            nonlocal accepted
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return  # the listener was closed: the test is over
                accepted += 1
                conn.close()

        threading.Thread(target=close_everything, daemon=True).start()
        spec = LoadSpec(rate=50, timeout_s=1.0, requests=(RequestSpec("read", f"http://127.0.0.1:{port}/"),),
                        connections=8)
        generator = run_load(spec, 2.0)
    total = summarize(generator.buckets())
    assert generator.error is None and total.sent >= 90
    assert total.succeeded == 0 and total.failed + total.timed_out == total.sent
    assert "connection closed before the request was sent" in total.errors
    # About two connects per request (each failure and the 10 ms tick each open one for what waits;
    # a reconnect loop made 12 per request here), however many the warm pool lost.
    assert generator.diagnostics()["connects"] <= 4 * total.sent + spec.connections
    assert accepted > 0
