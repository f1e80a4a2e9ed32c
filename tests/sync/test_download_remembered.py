"""A download leaves files the next sync need not read again."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import brainbucket
from brainbucket._config import Config


def test_downloaded_files_carry_object_time_and_are_remembered(bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "study"
    for i in range(5):
        f = src / f"sub-0{i}" / "anat" / f"sub-0{i}_T1w.nii.gz"
        f.parent.mkdir(parents=True)
        f.write_bytes(os.urandom(2000 + i))
    os.utime(src / "sub-00" / "anat" / "sub-00_T1w.nii.gz", (1_600_000_000, 1_600_000_000))
    brainbucket.sync(src, f"s3://{bucket}")
    # Objects written in the last two seconds are too fresh to be trusted by stat alone.
    time.sleep(2.1)
    store = brainbucket.open_store(f"s3://{bucket}")
    dst = tmp_path / "copy"
    assert brainbucket.sync(f"s3://{bucket}", dst).transferred == 5

    # Each file carries its object's modification time (as aws-cli and rclone do)...
    for rel in ("sub-00/anat/sub-00_T1w.nii.gz", "sub-03/anat/sub-03_T1w.nii.gz"):
        obj_time = store.info(rel).last_modified
        assert obj_time is not None
        assert abs((dst / rel).stat().st_mtime - obj_time.timestamp()) < 1.0

    # ...so the verified digests are remembered at once and a no-op re-reads nothing.
    db = sqlite3.connect(Config().state_dir / "hashes.sqlite")
    try:
        rows = db.execute(
            "SELECT path FROM files WHERE root = ?", (os.path.abspath(dst),)
        ).fetchall()
    finally:
        db.close()
    data_objects = {o.path for o in store.walk() if not o.path.startswith(".brainbucket/")}
    assert {r[0] for r in rows} == data_objects
    again = brainbucket.sync(f"s3://{bucket}", dst)
    assert again.transferred == 0
    assert again.unchanged == 5
