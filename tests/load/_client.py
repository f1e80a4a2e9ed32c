"""One load-test client, run as its own process until a deadline; prints a JSON report.

Roles:

- ``publish ROOT URL NAME``: keep changing files of subject NAME under ROOT and syncing ROOT up
  to URL (a shared dataset: conflicts with other publishers are expected and retried);
- ``fetch URL DEST``: keep syncing URL down to DEST and verifying the copy against the
  manifest it came with.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
import time
from pathlib import Path


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp-load")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _record(report: dict, message: str) -> None:
    """Count a transfer the network kept breaking until retries ran out apart from errors.

    That is the documented clear failure (exit 10) a re-run repairs; the next round re-runs
    it, and the test checks that nothing was lost and how often it happened. Anything else is
    an error.
    """
    if "after retries" in message:
        report["gave_up_after_retries"] = report.get("gave_up_after_retries", 0) + 1
    else:
        report["errors"].append(message)


def publish(root: Path, url: str, name: str, deadline: float, rng: random.Random) -> dict:
    from brainbucket import ConflictError, sync

    report = {"role": "publish", "syncs": 0, "conflicts": 0, "errors": [], "bytes": 0, "files": 0}
    n = 0
    while time.monotonic() < deadline:
        n += 1
        # Change a few files: new ones, rewritten ones (size kept or not).
        for _ in range(rng.randint(1, 4)):
            k = rng.randint(0, 11)
            size = rng.choice([0, 1, 1000, 40_000, 300_000])
            data = hashlib.sha256(f"{name}-{n}-{k}".encode()).digest() * (size // 32 + 1)
            _write(root / name / "anat" / f"{name}_run-{k:02d}_T1w.nii.gz", data[:size])
        for attempt in range(20):
            try:
                r = sync(root, url, check=False)
            except ConflictError:
                report["conflicts"] += 1
                time.sleep(rng.uniform(0.05, 0.3 * (attempt + 1)))
                continue
            except Exception as exc:
                _record(report, f"{type(exc).__name__}: {exc}")
                break
            for p, e in r.failed:
                _record(report, f"{p}: {e}")
            report["syncs"] += 1
            report["files"] += r.transferred
            report["bytes"] += r.transferred_bytes
            break
    # Leave with the folder and the bucket in step: one last successful sync.
    for attempt in range(40):
        try:
            sync(root, url)
            break
        except ConflictError:
            report["conflicts"] += 1
            time.sleep(rng.uniform(0.05, 0.2 * (attempt + 1)))
    else:
        report["errors"].append("could not finish the last sync")
    return report


def fetch(url: str, dest: Path, deadline: float) -> dict:
    from brainbucket import ObjectNotFoundError, sync
    from brainbucket.sync import verify

    report = {"role": "fetch", "syncs": 0, "verified_files": 0, "errors": [], "bytes": 0}
    while time.monotonic() < deadline:
        try:
            r = sync(url, dest, check=False, delete=True, force=True)
        except Exception as exc:
            _record(report, f"{type(exc).__name__}: {exc}")
            time.sleep(0.2)
            continue
        report["syncs"] += 1
        report["bytes"] += r.transferred_bytes
        if r.failed:
            # A file rewritten between reading the manifest and fetching the file is refused
            # (its bytes no longer match); anything else is an error. The next round gets it.
            for p, e in r.failed:
                if "does not match the expected" in e or "changed while it was being read" in e:
                    report["refused_changed_meanwhile"] = (
                        report.get("refused_changed_meanwhile", 0) + 1
                    )
                else:
                    _record(report, f"{p}: {e}")
            continue
        try:
            v = verify(dest)
        except ObjectNotFoundError:
            # The dataset had no manifest yet (its first upload was still running): the copy
            # came from a listing, checked by size and MD5, with nothing to verify against.
            report["before_first_manifest"] = report.get("before_first_manifest", 0) + 1
            continue
        if not v.ok:
            report["errors"].append(f"verify: {v.to_dict()}")
        report["verified_files"] += v.checked
    return report


def main() -> None:
    role, seconds, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    deadline = time.monotonic() + seconds
    rng = random.Random(seed)
    if role == "publish":
        out = publish(Path(sys.argv[4]), sys.argv[5], sys.argv[6], deadline, rng)
    else:
        out = fetch(sys.argv[4], Path(sys.argv[5]), deadline)
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
