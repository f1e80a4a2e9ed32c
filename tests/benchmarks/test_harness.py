"""Smoke test of the benchmark harness: its quick mode, brainbucket only, one workload.

Speed is never asserted here; this only checks that the harness runs end to end, that its
checks pass (every file arrived, no-op re-syncs wrote nothing) and that it writes its results.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_quick_run_of_brainbucket_on_small_files(tmp_path: Path) -> None:
    results = tmp_path / "results"
    r = subprocess.run(
        [
            sys.executable, str(REPO / "benchmarks" / "run.py"), "--quick",
            "--tools", "brainbucket", "--workloads", "small",
            "--cache", str(tmp_path / "cache"), "--results", str(results), "--no-readme",
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    (out,) = results.glob("*-quick.json")
    doc = json.loads(out.read_text())
    steps = {(s["tool"], s["step"]) for s in doc["samples"] if s["ok"]}
    assert steps == {
        ("brainbucket", "upload"),
        ("brainbucket", "noop-upload"),
        ("brainbucket", "download"),
        ("brainbucket", "noop-download"),
    }
    assert all(s["files"] == 300 for s in doc["samples"])
    assert "| small | upload | brainbucket |" in r.stdout
