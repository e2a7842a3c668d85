"""What chaoskit keeps host-wide: where its state lives, every ledger used here, and the runs in progress.

``chaoskit rollback`` and ``chaoskit halt`` must find every fault on the host,
whichever ledger a run was given (``--ledger``, ``$CHAOSKIT_LEDGER``, the
pytest plugin's). So every ledger a run writes to is named in one index,
``ledgers`` in the state directory, and every run in progress has a file in
``runs/`` saying its pid, its guard's pid, its ledger and its journal.

The state directory is ``$CHAOSKIT_HOME``; else ``/var/lib/chaoskit`` when
that is writable (or creatable); else ``$XDG_STATE_HOME/chaoskit``
(``~/.local/state/chaoskit``): a user who is not root has their own.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["LiveRun", "default_ledger_path", "known_ledgers", "live_runs", "process_alive", "process_started",
           "registered_run", "remember_ledger", "state_dir"]

HOME_VAR = "CHAOSKIT_HOME"
LEDGER_VAR = "CHAOSKIT_LEDGER"
SYSTEM_DIR = Path("/var/lib/chaoskit")


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get(HOME_VAR):
        return Path(env[HOME_VAR]).expanduser()
    if _can_write_under(SYSTEM_DIR):
        return SYSTEM_DIR
    state_home = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "state")
    return Path(state_home) / "chaoskit"


def default_ledger_path(env: Mapping[str, str] | None = None) -> Path:
    """``$CHAOSKIT_LEDGER``, else ``ledger.jsonl`` in the state directory."""
    env = os.environ if env is None else env
    if env.get(LEDGER_VAR):
        return Path(env[LEDGER_VAR]).expanduser()
    return state_dir(env) / "ledger.jsonl"


def _can_write_under(directory: Path) -> bool:
    probe = directory
    while not probe.exists():  # the nearest existing ancestor decides whether we can create it
        if probe.parent == probe:
            return False
        probe = probe.parent
    return probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)


# -- processes ------------------------------------------------------------------------------

def process_started(pid: int) -> float | None:
    """The process's start time (clock ticks since boot; None if unknown): with the pid, it names one process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return float(stat.rsplit(")", 1)[1].split()[19])


def process_alive(pid: int | None, host: str = "", started: float | None = None) -> bool | None:
    """Whether that process still runs (None: on another host, or no pid: cannot tell)."""
    if pid is None or (host and host != socket.gethostname()):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if started is not None:
        now = process_started(pid)
        return now is None or now == started
    return True


# -- the index of ledgers -----------------------------------------------------------------------

def remember_ledger(ledger: Path, env: Mapping[str, str] | None = None) -> None:
    """Name ``ledger`` in the host's index (once), so rollback and halt find it."""
    path = str(Path(ledger).resolve())
    index = state_dir(env) / "ledgers"
    with _locked(index):
        known = index.read_text().splitlines() if index.exists() else []
        if path in known:
            return
        # Ledgers deleted since (a test's temporary one) are dropped as the index is rewritten.
        kept = [name for name in known if name and Path(name).exists()] + [path]
        tmp = index.with_name(f".ledgers.{os.getpid()}.tmp")
        with tmp.open("w") as out:
            out.write("".join(name + "\n" for name in kept))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, index)


def known_ledgers(env: Mapping[str, str] | None = None) -> list[Path]:
    """Every ledger named in the index that still exists, and the default ledger."""
    index = state_dir(env) / "ledgers"
    names = index.read_text().splitlines() if index.exists() else []
    paths = [default_ledger_path(env).resolve(), *(Path(n) for n in names if n)]
    return [p for p in dict.fromkeys(paths) if p.exists()]


# -- runs in progress -----------------------------------------------------------------------------

@dataclass(frozen=True)
class LiveRun:
    run_id: str
    pid: int
    started: float | None
    ledger: str
    journal: str | None
    guard_pid: int | None = None

    def alive(self) -> bool:
        return bool(process_alive(self.pid, "", self.started))


@contextlib.contextmanager
def registered_run(run: LiveRun, env: Mapping[str, str] | None = None) -> Iterator[Path]:
    """The run is listed in ``runs/`` while the block lasts (a crashed run's file is swept by :func:`live_runs`)."""
    runs = state_dir(env) / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    path = runs / f"{run.run_id}.json"
    path.write_text(json.dumps(asdict(run)))
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def live_runs(env: Mapping[str, str] | None = None) -> list[LiveRun]:
    runs = state_dir(env) / "runs"
    found = []
    for path in sorted(runs.glob("*.json")) if runs.is_dir() else []:
        try:
            run = LiveRun(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            continue
        if run.alive():
            found.append(run)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return found


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
