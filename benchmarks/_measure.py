"""Run one child process and measure it: wall time, CPU seconds, peak RSS.

``os.wait4`` returns the child's resource usage including every descendant it reaped, so the
CPU seconds cover the whole client process tree. Its ``ru_maxrss`` cannot be used for memory:
Linux carries the high-water mark of the forked parent (this harness) across ``exec``, so
every tool would report at least the harness's own size. Peak memory is therefore read from
``VmHWM`` in ``/proc/<pid>/status`` (reset by ``exec``, monotonic), polled every few
milliseconds for the child and its descendants.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    """One timed run of one tool on one workload step."""

    tool: str
    workload: str
    step: str  # upload | noop-upload | download | noop-download
    repeat: int
    wall_s: float
    user_s: float
    sys_s: float
    peak_rss_mib: float
    files: int
    bytes: int
    exit_code: int
    ok: bool
    note: str = ""

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["cpu_s"] = round(self.cpu_s, 3)
        return d


@dataclass(frozen=True)
class Run:
    wall_s: float
    user_s: float
    sys_s: float
    peak_rss_mib: float
    exit_code: int
    output_tail: str
    minflt: int = 0


def run_measured(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float = 3600) -> Run:
    """Start ``cmd``, wait for it with ``wait4`` and return what it cost."""
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
        deadline = t0 + timeout
        peak: dict[int, int] = {}
        pids = [proc.pid]
        polls = 0
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if polls % 20 == 0:  # descendants are rare; look for them every ~0.2 s
                pids = _descendants(proc.pid)
            polls += 1
            for p in pids:
                peak[p] = max(peak.get(p, 0), _hwm_kib(p))
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, ru = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        tail = out.read()[-2000:].decode(errors="replace")
    return Run(
        wall,
        ru.ru_utime,
        ru.ru_stime,
        sum(peak.values()) / 1024,
        proc.returncode,
        tail,
        ru.ru_minflt,
    )


def _hwm_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                out += [int(c) for c in f.read().split()]
    except (OSError, ValueError):
        pass
    return out


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += _children(p)
    return out
