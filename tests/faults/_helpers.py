"""Shared helpers for sync fault tests: a study with a multipart-sized file, a killable sync."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from brainbucket._demo import build_demo_study
from brainbucket._hashing import TMP_SUFFIX

# Small enough to keep the tests fast, large enough for three parts.
THRESHOLD = 6 * 1024 * 1024
PART = 5 * 1024 * 1024
BIG = "derivatives/dmriprep/sub-01/dwi/sub-01_desc-big_dwi.nii.gz"


def make_study(dest: Path, *, subjects: int = 2, big: bool = True) -> Path:
    """A small real BIDS study, plus (with ``big``) one file uploaded in three parts."""
    build_demo_study(dest, subjects=subjects)
    if big:
        path = dest / BIG
        path.parent.mkdir(parents=True, exist_ok=True)
        block = hashlib.sha256(b"big").digest() * 4096  # 128 KiB
        with open(path, "wb") as f:
            for i in range(96):  # 12 MiB, every block different
                f.write(hashlib.sha256(i.to_bytes(4, "big")).digest() + block[32:])
    return dest


def tree_digests(root: Path) -> dict[str, str]:
    """Relative path → sha256 of every data file (no temporaries, no metadata folder)."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not p.name.endswith(TMP_SUFFIX) and not rel.startswith(".brainbucket/"):
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def temporaries(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob(f"*{TMP_SUFFIX}"))


_SCRIPT = """
import json, os, sys
from brainbucket import sync
kw = json.loads(sys.argv[3])
try:
    r = sync(sys.argv[1], sys.argv[2], check=False, **kw)
    print(json.dumps(r.to_dict()), flush=True)
    code = 0 if r.ok else 12
except Exception as exc:
    print(type(exc).__name__, exc, file=sys.stderr, flush=True)
    code = getattr(exc, "exit_code", 70)
sys.stdout.flush(); sys.stderr.flush()
os._exit(code)
"""


def start_sync(src: str, dst: str, **kw: object) -> subprocess.Popen[bytes]:
    """Run ``sync(src, dst, **kw)`` in a child process (same environment) that can be killed."""
    kw.setdefault("multipart_threshold", THRESHOLD)
    kw.setdefault("part_size", PART)
    return subprocess.Popen(
        [sys.executable, "-c", _SCRIPT, src, dst, json.dumps(kw)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )


def kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child: no clean-up code of its own runs."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


def kill_after(proc: subprocess.Popen[bytes], seconds: float) -> bool:
    """SIGKILL after ``seconds`` unless it finished; True if it was killed while running."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            proc.communicate(timeout=30)
            return False
        time.sleep(0.01)
    running = proc.poll() is None
    kill(proc)
    return running


def kill_at(
    proxy: object,
    action: str,
    proc: subprocess.Popen[bytes],
    timeout: float = 90,
    settle: float = 0.0,
) -> None:
    """SIGKILL ``proc`` once the proxy applied ``action`` to one of its requests.

    ``settle`` waits that much longer first (for a ``cut``: until the partial answer has
    reached the child). Fails with the child's output if it ended (or never got there) first.
    """
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if proxy.injected(action):  # type: ignore[attr-defined]
                time.sleep(settle)
                if proc.poll() is not None:
                    out, err = proc.communicate(timeout=30)
                    msg = f"the sync ended (exit {proc.returncode}) at the kill point: {err.decode()[-1500:]}"
                    raise AssertionError(msg)
                return
            if proc.poll() is not None:
                out, err = proc.communicate(timeout=30)
                msg = (
                    f"the sync ended (exit {proc.returncode}) before the kill point {action!r}: "
                    f"{out.decode()[-500:]} {err.decode()[-1500:]}"
                )
                raise AssertionError(msg)
            time.sleep(0.02)
        msg = f"the kill point {action!r} was not reached within {timeout} s"
        raise AssertionError(msg)
    finally:
        kill(proc)
