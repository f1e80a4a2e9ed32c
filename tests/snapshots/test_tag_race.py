"""Writers racing to create the same tag: exactly one wins, the others get exit 7."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import brainbucket
from brainbucket import ConflictError, open_store
from brainbucket.snapshots import Tag, create_tag, list_tags
from servers import S3Endpoint

from ._study import synced

RACERS = 8


@pytest.mark.parametrize("server", ["seaweedfs", "rclone"], indirect=True)
def test_racing_threads_one_tag_wins(
    server: S3Endpoint,
    server_bucket: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SeaweedFS honours ``If-None-Match: *``; rclone ignores it, and the checked create
    (``store/_swap.py``) must still leave one winner."""
    study = synced(server_bucket, tmp_path, capsys)
    start = threading.Barrier(RACERS)
    won: list[Tag] = []
    lost: list[ConflictError] = []

    def racer(n: int) -> None:
        store = open_store(study)
        start.wait()
        try:
            won.append(create_tag(store, "v1", message=f"racer {n}"))
        except ConflictError as exc:
            lost.append(exc)

    threads = [threading.Thread(target=racer, args=(n,)) for n in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    assert len(lost) == RACERS - 1
    (stored,) = list_tags(open_store(study))
    assert stored == won[0]  # the survivor is the winner's, never a loser's


def test_racing_processes_one_tag_wins(study: str, s3_env: dict[str, str], cache_dir: Path) -> None:
    env = {
        **os.environ,
        **s3_env,
        "BRAINBUCKET_CACHE": str(cache_dir),
        "PYTHONPATH": str(Path(brainbucket.__file__).parents[1]),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "brainbucket", "tag", study, "v1", "-m", f"racer {n}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(RACERS)
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        results.append((p.returncode, out, err))
    codes = sorted(code for code, _, _ in results)
    assert codes == [0] + [7] * (RACERS - 1), results
    for code, _, err in results:
        if code == 7:
            assert f"error: {study}: tag 'v1' exists already" in err.splitlines()[0]
    (stored,) = list_tags(open_store(study))
    (winner_out,) = [out for code, out, _ in results if code == 0]
    assert stored.root in winner_out
