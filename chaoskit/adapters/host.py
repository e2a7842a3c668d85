"""Side effects on the host itself: processes (psutil) and filesystems (statvfs, fallocate).

Containers on a local engine are ordinary host processes and their files are
reachable from the host, so process and disk faults work from here rather
than by exec-ing tools that an image may not have (and that a stopped
container cannot run, which matters most at revert time). The only module
that imports psutil.
"""

from __future__ import annotations

import errno
import functools
import os
import signal as signals
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from chaoskit.adapters.target_backend import FilesystemUsage, ProcessMatch
from chaoskit.errors import BackendError

__all__ = ["HOST_FILES", "HostFiles", "container_path_on_host", "container_process", "count_processes", "fill_file",
           "filesystem_usage", "kill_process_tree", "live_view", "machine_steal_s", "remove_file",
           "signal_container_process", "signal_processes"]


def count_processes(pids: list[int] | None, match: ProcessMatch) -> int:
    """How many of the processes with these host PIDs (every host process when None) match."""
    return len(_matching(pids, match))


def signal_processes(pids: list[int] | None, match: ProcessMatch, signal: str) -> int:
    """Send ``signal`` to each matching process (of these host PIDs, or of the host); how many received it."""
    return len(_kill(_matching(pids, match), signal))


def _matching(pids: list[int] | None, match: ProcessMatch) -> list[psutil.Process]:
    me = os.getpid()
    found = [p for p in _processes_in(pids) if p.pid != me and _matches(p, match)]
    if match.descendants:
        found += [child for p in found for child in _children(p)]
    return found


def _matches(proc: psutil.Process, match: ProcessMatch) -> bool:
    # Processes come and go while we look; a vanished one simply does not match.
    try:
        if match.name is not None and proc.name() != match.name:
            return False
        return match.cmdline_contains is None or match.cmdline_contains in " ".join(proc.cmdline())
    except psutil.Error:
        return False


def _children(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children(recursive=True)
    except psutil.Error:
        return []


def _processes_in(pids: list[int] | None) -> Iterator[psutil.Process]:
    """The processes with these host PIDs (those still alive); every host process when ``pids`` is None."""
    if pids is None:
        yield from psutil.process_iter()
        return
    for pid in pids:
        try:
            yield psutil.Process(pid)
        except psutil.NoSuchProcess:
            continue


def _kill(processes: list[psutil.Process], signal: str) -> list[int]:
    """Send ``signal`` to each process; the pids that received it (gone ones are skipped)."""
    signum = signals.Signals[signal]
    sent = []
    for proc in processes:
        try:
            proc.send_signal(signum)
            sent.append(proc.pid)
        except psutil.NoSuchProcess:
            continue
        except psutil.AccessDenied as exc:
            raise BackendError(f"no permission to signal pid {proc.pid} ({proc.name()}): run chaoskit as root") from exc
    return sent


def kill_process_tree(pid: int) -> int:
    """SIGKILL host process ``pid`` and all its descendants (a command past its timeout); how many received it."""
    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return 0
    # The children are listed before anything dies: once the parent is gone they are reparented out of reach.
    return len(_kill([root, *_children(root)], "SIGKILL"))


def container_process(container_id: str, pid: int) -> psutil.Process | None:
    """Host process ``pid`` if it is a process of container ``container_id`` that can be signalled safely from here.

    None when it cannot be: gone, not in the container's cgroup (the engine
    reports PIDs of *its* PID namespace, which is not ours when chaoskit runs in
    a container or the engine in a VM), or a kernel without pidfds, without
    which a later signal cannot be tied to the process checked here.
    """
    if pid <= 0 or not _pidfds_work() or not _in_cgroup_of(pid, container_id):
        return None
    for proc in _processes_in([pid]):
        try:
            proc.name()  # read now (psutil keeps it): callers describe the process by it after it is gone
        except psutil.NoSuchProcess:
            return None
        return proc
    return None


def signal_container_process(container_id: str, pid: int, signal: str) -> bool:
    """Send ``signal`` to host process ``pid`` if it is, at that moment, a process of container ``container_id``.

    False when nothing was sent: the process is gone, or ``pid`` now names a
    process outside the container. The process is pinned by a pidfd before its
    cgroup is read and the signal goes through that pidfd, so if it exits and
    its PID goes to another process in between, the signal fails instead of
    reaching the newcomer (a create-time check leaves that window open).
    """
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return False
    try:
        # The cgroup read is of whoever holds ``pid`` now; if that is not the pinned process,
        # the pinned one has exited and the signal below fails with ESRCH.
        if not _in_cgroup_of(pid, container_id):
            return False
        signals.pidfd_send_signal(pidfd, signals.Signals[signal])
        return True
    except ProcessLookupError:
        return False
    except PermissionError as exc:
        raise BackendError(f"no permission to signal pid {pid} of container {container_id[:12]}: "
                           f"run chaoskit as root") from exc
    finally:
        os.close(pidfd)


def _in_cgroup_of(pid: int, container_id: str) -> bool:
    # Docker names a container's cgroup after its full id (/docker/ID, or docker-ID.scope under systemd).
    try:
        return container_id in Path(f"/proc/{pid}/cgroup").read_text()
    except OSError:
        return False


@functools.cache
def _pidfds_work() -> bool:
    """Whether this kernel has pidfd_open (Linux >= 5.3)."""
    if not hasattr(os, "pidfd_open"):
        return False
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError as exc:
        if exc.errno in (errno.ENOSYS, errno.EPERM):  # EPERM: a seccomp profile forbids it
            return False
        raise
    return True


def filesystem_usage(path: Path) -> FilesystemUsage:
    st = os.statvfs(path)
    # f_bavail: what an unprivileged writer (postgres) can still use; the root reserve does not help it.
    return FilesystemUsage(total_bytes=st.f_blocks * st.f_frsize, free_bytes=st.f_bavail * st.f_frsize)


def fill_file(path: Path, size: int) -> None:
    """Create ``path`` holding ``size`` bytes of real blocks, at once where the filesystem allows.

    A file already there is left as it is (a second fill is no fill), and a
    filesystem that fills up first is not an error: filling it is the point.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise BackendError(f"fill {path}: {exc}") from exc
    try:
        _allocate(fd, size)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise BackendError(f"fill {path}: {exc}") from exc


def _allocate(fd: int, size: int) -> None:
    try:
        try:
            os.posix_fallocate(fd, 0, size)
        except OSError as exc:
            if exc.errno != errno.EOPNOTSUPP:  # fall back to writing zeros
                raise
            chunk = b"\0" * (1 << 20)
            written = 0
            while written < size:
                written += os.write(fd, chunk[: min(len(chunk), size - written)])
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_file(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


class HostFiles:
    """The file half of a target backend, for files the host reaches by path (``location`` is a host path).

    A location in a container's overlay writable layer (``.../diff/...``) is
    worked on through the container's mounted view (``.../merged/...``) while
    that is mounted, so the overlay sees every change as the container would
    make it, and directly in the layer while the container is stopped.
    """

    def filesystem_usage(self, location: str) -> FilesystemUsage:
        directory = live_view(Path(location)).parent
        # The directory may exist only once the fill creates it (in a stopped container's layer, say).
        while not directory.exists() and directory != directory.parent:
            directory = directory.parent
        return filesystem_usage(directory)

    def fill_file(self, location: str, size: int) -> None:
        fill_file(live_view(Path(location)), size)

    def remove_file(self, location: str) -> None:
        remove_file(live_view(Path(location)))


# What faults without a target (acting on chaoskit's own host) use.
HOST_FILES = HostFiles()


def container_path_on_host(attrs: dict[str, Any], path: str) -> Path:
    """Where ``path`` inside a container lives on the host, as a path that stays valid across restarts.

    A path under a bind mount or volume maps to its source; one under a tmpfs
    exists only in the container's mount namespace, reached through
    /proc/PID/root (a restart empties a tmpfs, fill file included); any other
    path is in the container's own filesystem: its overlay writable layer (the
    ``UpperDir``, which a restart keeps), or, with a storage driver that has
    none, /proc/PID/root (valid only while that process lives).
    """
    inner = Path(path)
    pid = (attrs.get("State") or {}).get("Pid") or 0
    tmpfs = [{"Destination": d, "Type": "tmpfs"} for d in ((attrs.get("HostConfig") or {}).get("Tmpfs") or {})]
    for mount in sorted([*(attrs.get("Mounts") or []), *tmpfs], key=lambda m: len(m["Destination"]), reverse=True):
        dest = Path(mount["Destination"])
        if inner == dest or dest in inner.parents:
            if mount.get("Type") != "tmpfs":
                return Path(mount["Source"]) / inner.relative_to(dest)
            if pid:
                return Path(f"/proc/{pid}/root") / inner.relative_to("/")
            raise BackendError(f"{path} of container {attrs.get('Name', '?')} is a tmpfs: reachable only while it runs")
    upper = ((attrs.get("GraphDriver") or {}).get("Data") or {}).get("UpperDir")
    if upper:
        return Path(upper) / inner.relative_to("/")
    if pid:
        return Path(f"/proc/{pid}/root") / inner.relative_to("/")
    raise BackendError(f"cannot reach {path} of container {attrs.get('Name', '?')} from the host")


def live_view(path: Path) -> Path:
    """``path`` in an overlay2 writable layer (``<layer>/diff/...``) as seen through ``<layer>/merged`` if that
    is mounted (the container runs); any other path as it is."""
    for layer in path.parents:
        if layer.name == "diff" and os.path.ismount(layer.parent / "merged"):
            return layer.parent / "merged" / path.relative_to(layer)
    return path


def machine_steal_s() -> float:
    """CPU-seconds the hypervisor has taken from this machine's CPUs since boot (0 where the OS does not say)."""
    return getattr(psutil.cpu_times(), "steal", 0.0)
