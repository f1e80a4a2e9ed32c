"""Load: eight clients publish to and fetch from one server at once, for a bounded time.

Four publishers change their own subject of two shared datasets and sync up (so they race
for the same manifest pointer and must retry conflicts); four fetchers keep syncing those
datasets down and verifying every copy. At the end: nobody hung, nothing was lost, every file
verified. ``BRAINBUCKET_LOAD_SECONDS`` sets the duration (default 60).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from brainbucket import open_store, sync
from brainbucket.store import S3Store
from brainbucket.sync import verify

CLIENT = Path(__file__).with_name("_client.py")
# Read at import: the session's fixtures clear BRAINBUCKET_* variables before tests run.
SECONDS = float(os.environ.get("BRAINBUCKET_LOAD_SECONDS", "60"))


def _digests(root: Path) -> dict[str, str]:
    import hashlib

    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".brainbucket" not in p.parts and not p.name.endswith(".bbpart")
    }


@pytest.mark.slow
def test_eight_clients_for_a_bounded_time(
    bucket: str, tmp_path: Path, s3_env: dict[str, str]
) -> None:
    seconds = SECONDS
    datasets = [f"s3://{bucket}/ds-{i}" for i in range(2)]
    procs: list[tuple[str, subprocess.Popen[str]]] = []
    publishers: list[tuple[Path, str, str]] = []
    for i in range(4):
        url = datasets[i % 2]
        root = tmp_path / f"pub-{i}"
        (root / f"sub-{i:02d}").mkdir(parents=True)
        (root / f"sub-{i:02d}" / "participant.json").write_text(f'{{"id": {i}}}')
        sync(root, url)  # the datasets exist (with a manifest) before the clients start
        publishers.append((root, url, f"sub-{i:02d}"))
        argv = ["publish", str(seconds), str(i), str(root), url, f"sub-{i:02d}"]
        procs.append((f"publisher {i}", _start(argv)))
    for i in range(4):
        argv = ["fetch", str(seconds), str(100 + i), datasets[i % 2], str(tmp_path / f"fetch-{i}")]
        procs.append((f"fetcher {i}", _start(argv)))

    reports = {}
    for name, proc in procs:
        try:
            out, err = proc.communicate(timeout=seconds + 240)
        except subprocess.TimeoutExpired:
            for _, p in procs:
                p.kill()
            pytest.fail(f"{name} did not finish: a deadlock or a hang")
        assert proc.returncode == 0, f"{name}: {err[-2000:]}"
        reports[name] = json.loads(out.strip().splitlines()[-1])

    errors = {n: r["errors"] for n, r in reports.items() if r["errors"]}
    assert not errors, errors
    assert all(r["syncs"] > 0 for r in reports.values()), reports

    # Nothing lost: every publisher's final files are in its dataset, verified by content.
    for url in datasets:
        assert verify(url, deep=True).ok
        down = tmp_path / ("final-" + url.rsplit("/", 1)[-1])
        assert sync(url, down).ok
        got = _digests(down)
        for root, purl, name in publishers:
            if purl != url:
                continue
            want = {k: v for k, v in _digests(root).items() if k.startswith(name + "/")}
            assert want, name
            assert {k: got.get(k) for k in want} == want, f"{name} lost data"
        store = open_store(url)
        assert isinstance(store, S3Store)
        assert store.multipart_uploads() == []
    summary = {
        "seconds": seconds,
        "syncs": sum(r["syncs"] for r in reports.values()),
        "conflicts_retried": sum(r.get("conflicts", 0) for r in reports.values()),
        "files_uploaded": sum(r.get("files", 0) for r in reports.values()),
        "files_verified_by_fetchers": sum(r.get("verified_files", 0) for r in reports.values()),
        "refused_changed_meanwhile": sum(
            r.get("refused_changed_meanwhile", 0) for r in reports.values()
        ),
        "bytes": sum(r["bytes"] for r in reports.values()),
        "run": uuid.uuid4().hex[:6],
    }
    print(f"load summary: {json.dumps(summary)}")


def _start(argv: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CLIENT), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
