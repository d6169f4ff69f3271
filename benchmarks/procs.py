"""What the Ray processes of this machine cost: resident memory, and CPU time per process.

Read from ``/proc`` before and after a run; a process's role is its title (Ray names actor
processes ``ray::<ActorClass>`` and task workers ``ray::<task>`` or ``ray::IDLE``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

__all__ = [
    "PeakSampler",
    "cpu_seconds",
    "machine_ticks",
    "processes",
    "ray_processes",
    "ray_processes_rss",
    "role",
]

TICKS = os.sysconf("SC_CLK_TCK")


def _cmdline(pid: str) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as handle:
        return handle.read().replace(b"\0", b" ").decode(errors="replace")


def processes(keep: Callable[[int, str], bool]) -> dict[int, str]:
    """pid → command line of the processes of this machine that ``keep(pid, cmdline)``."""
    found: dict[int, str] = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = _cmdline(pid)
        except OSError:
            continue
        if keep(int(pid), cmdline):
            found[int(pid)] = cmdline
    return found


def ray_processes() -> dict[int, str]:
    """pid → command line of every Ray process of this machine, and of this driver."""
    return processes(lambda pid, cmdline: "ray" in cmdline or pid == os.getpid())


def machine_ticks() -> tuple[int, int]:
    """(all, idle) clock ticks of the whole machine so far, from ``/proc/stat``: the CPU the
    per-process figures miss (the kernel's network work, processes that came and went)."""
    with open("/proc/stat") as handle:
        fields = [int(field) for field in handle.readline().split()[1:]]
    return sum(fields), fields[3] + fields[4]


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds each process has used so far (gone processes are left out)."""
    used: dict[int, float] = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / TICKS
    return used


def role(pid: int, cmdline: str) -> str:
    """What a Ray process does, for a CPU table."""
    if pid == os.getpid():
        return "driver"
    title = cmdline.split(" ", 1)[0]
    if title.startswith("ray::"):
        name = title[5:].split(".", 1)[0]  # an actor running a method shows "Class.method"
        if name in ("IDLE", "run_handler_batch") or name.startswith("IDLE"):
            return "handler task workers"
        return name
    for daemon in ("raylet", "gcs_server", "dashboard", "log_monitor", "runtime_env"):
        if daemon in cmdline:
            return "ray daemons"
    return "other ray processes"


def ray_processes_rss() -> int:
    """Resident memory (bytes) of every Ray process of this machine (raylet, GCS, workers...)."""
    total = 0
    for pid in ray_processes():
        try:
            with open(f"/proc/{pid}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


class PeakSampler:
    """The peak of :func:`ray_processes_rss` while the ``with`` block runs."""

    def __init__(self, period: float = 0.25) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(period,), daemon=True)

    def _loop(self, period: float) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, ray_processes_rss())
            self._stop.wait(period)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, ray_processes_rss())
