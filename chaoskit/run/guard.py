"""The dead-man switch: a small process, paired with each run and monkey, that reverts their faults if they die.

The controller (:func:`guarded`) starts ``python -m chaoskit.run.guard`` in a
session of its own (``setsid``: a SIGKILL or Ctrl-C to the controller's
process group does not reach it) with the read end of a pipe as its stdin,
and beats into the pipe from a thread every ``dead_man / 4`` seconds. The
guard reverts the run's pending ledger entries, through the same code as
``chaoskit rollback`` (:func:`chaoskit.run.reverting.revert_pending`),

* at once when the pipe reaches end of file without a goodbye: the
  controller is dead (SIGKILL, OOM, a crash of the interpreter);
* when no beat came for ``dead_man`` seconds: the controller is frozen
  (SIGSTOP, a swapped-out or wedged process). It then keeps watching, and
  reverts again whatever a controller that comes back applies and abandons.

Each revert is noted in the ledger (``"by": "guard"``) and appended to the
run's journal as a ``guard.reverted`` event while the journal is unfinished
(the reader then reports the run as crashed). A run that ends normally says
goodbye (``D``) and the guard exits. The guard adds no way to leave a fault
behind: it only reads what the ledger holds, so if it dies as well, the
ledger still has every fault for ``chaoskit rollback``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

from chaoskit.log import configure, get_logger

__all__ = ["DEFAULT_DEAD_MAN_S", "Guard", "guarded"]

DEFAULT_DEAD_MAN_S = 10.0
_BEAT, _GOODBYE = b".", b"D"

log = get_logger("chaoskit.guard")


class Guard:
    """The controller's end: the guard process and the heartbeat that keeps it waiting."""

    def __init__(self, ledger: Path, run_id: str, journal: Path | None, dead_man_s: float = DEFAULT_DEAD_MAN_S):
        read_end, self._pipe = os.pipe()  # both non-inheritable: no child of the controller keeps the pipe open
        command = [sys.executable, "-m", "chaoskit.run.guard", "--ledger", str(ledger), "--run-id", run_id,
                   "--dead-man", repr(dead_man_s)]
        if journal is not None:
            command += ["--journal", str(journal)]
        log_path = Path(ledger).with_name(Path(ledger).name + ".guard.log")
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as guard_log:
            self.process = subprocess.Popen(command, stdin=read_end, stdout=subprocess.DEVNULL, stderr=guard_log,
                                            start_new_session=True, env=_guard_env())
        os.close(read_end)
        self.interval_s = dead_man_s / 4
        self._stop = threading.Event()
        self._beater = threading.Thread(target=self._beat, name="chaoskit-heartbeat", daemon=True)
        self._beater.start()
        log.debug("guard.started", pid=self.process.pid, run_id=run_id, dead_man_s=dead_man_s)

    @property
    def pid(self) -> int:
        return self.process.pid

    def _beat(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                os.write(self._pipe, _BEAT)
            except OSError:  # the guard is gone: the ledger still holds everything for `chaoskit rollback`
                log.warning("guard.gone", pid=self.process.pid)
                return

    def stop(self) -> None:
        """The run ended: say goodbye, and let the guard exit."""
        self._stop.set()
        self._beater.join()
        with contextlib.suppress(OSError):
            os.write(self._pipe, _GOODBYE)
        os.close(self._pipe)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.warning("guard.lingering", pid=self.process.pid)


def _guard_env() -> dict[str, str]:
    """The controller's environment, with this chaoskit first on the path (whatever put it on the controller's)."""
    here = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1"}


@contextlib.contextmanager
def guarded(ledger: Path, run_id: str, journal: Path | None, dead_man_s: float = DEFAULT_DEAD_MAN_S) -> Iterator[Guard]:
    """A run (or monkey) in progress: its ledger named in the host's index, a guard, and its entry in ``runs/``.

    ``chaoskit halt`` finds it there, and ``chaoskit rollback`` finds its ledger.
    """
    from chaoskit.run.registry import LiveRun, process_started, registered_run, remember_ledger

    remember_ledger(ledger)
    guard = Guard(ledger, run_id, journal, dead_man_s)
    try:
        with registered_run(LiveRun(run_id, os.getpid(), process_started(os.getpid()), str(ledger),
                                    None if journal is None else str(journal), guard.pid)):
            yield guard
    finally:
        guard.stop()


# -- the guard's end ------------------------------------------------------------------------------


def watch(beats: int, dead_man_s: float, revert: Callable[[str], None],
          clock: Callable[[], float] = time.monotonic) -> str:
    """Read beats from fd ``beats`` until goodbye (returns "goodbye") or the controller's death ("gone")."""
    last = clock()
    while True:
        ready, _, _ = select.select([beats], [], [], max(0.0, last + dead_man_s - clock()))
        if not ready:
            revert(f"no heartbeat for {dead_man_s:g}s")
            last = clock()
            continue
        data = os.read(beats, 4096)
        if _GOODBYE in data:
            return "goodbye"
        if not data:
            revert("the controller died")
            return "gone"
        last = clock()


def _revert(ledger_path: Path, run_id: str, journal: Path | None, reason: str) -> None:
    from chaoskit.journal import append_if_unfinished, now
    from chaoskit.run.ledger import Ledger
    from chaoskit.run.reverting import revert_pending

    report = revert_pending(Ledger(ledger_path), run_id=run_id, force=True, by="guard")
    if report.empty:
        return
    log.warning("guard.reverted", run_id=run_id, reason=reason, reverted=report.reverted, gone=report.gone,
                failed=report.failed)
    if journal is not None:
        append_if_unfinished(journal, "events", {
            "t": _since_start(journal), "at": now(), "event": "guard.reverted", "reason": reason,
            "reverted": report.reverted, "gone": report.gone, "failed": report.failed})


def _since_start(journal: Path) -> float:
    """Seconds since the run started, read from the journal's header (its first line)."""
    import json

    try:
        with open(journal, "rb") as handle:
            started = json.loads(handle.readline())["started_at"]
        return round(time.time() - datetime.fromisoformat(started).timestamp(), 3)
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaoskit.run.guard", description=__doc__.split("\n")[0])
    parser.add_argument("--ledger", required=True, type=Path)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--dead-man", type=float, default=DEFAULT_DEAD_MAN_S)
    parser.add_argument("--journal", type=Path, default=None)
    args = parser.parse_args(argv)
    configure("json", 0)  # its log file gets what it did, not debug chatter
    import chaoskit.run.reverting  # noqa: F401 - imported now, so the revert starts at once when it is needed

    ended = watch(0, args.dead_man, lambda reason: _revert(args.ledger, args.run_id, args.journal, reason))
    log.debug("guard.exit", run_id=args.run_id, ended=ended)
    return 0


if __name__ == "__main__":
    sys.exit(main())
