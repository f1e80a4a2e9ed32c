"""``import brainbucket`` is cheap; the public names load on first use and stay what they were."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import brainbucket

SRC = str(Path(brainbucket.__file__).resolve().parents[1])


def _fresh(code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=True,
    )
    return proc.stdout.strip()


def test_import_loads_no_feature() -> None:
    loaded = _fresh(
        "import sys, brainbucket; "
        "print(sorted({m.split('.')[1] for m in sys.modules if m.startswith('brainbucket.')}))"
    )
    assert loaded == "['_exceptions', '_types', '_url']"


def test_sync_stays_the_function_whatever_imports_the_subpackage() -> None:
    out = _fresh(
        "import sys, brainbucket.sync, brainbucket; from brainbucket.sync import plan; "
        "import brainbucket.sync._verify; "
        "print(callable(brainbucket.sync), brainbucket.sync.__module__, "
        "brainbucket.plan is plan, sys.modules['brainbucket.sync'].__name__)"
    )
    assert out == "True brainbucket.sync._sync True brainbucket.sync"


def test_every_public_name_resolves_to_its_feature() -> None:
    assert brainbucket.open_store is sys.modules["brainbucket.store"].open_store
    assert brainbucket.Study.__module__.startswith("brainbucket.bids")
    assert brainbucket.hcp is sys.modules["brainbucket.hcp"]
    assert "open_store" in dir(brainbucket)
