"""Snapshots: ``diff`` of two versions of a 10⁶-entry manifest that differ in one subject,
and the requests ``tag`` makes.

Usage::

    python benchmarks/snapshots.py                 # 10,000 subjects x 100 files, 5 repeats
    python benchmarks/snapshots.py --subjects 1000 # quicker

The manifest pair is synthetic (entries only, no data): version A, then version B with one
subject changed (one file rewritten, one added, one removed), both written to a local folder
store, tagged ``v1`` and ``v2``. Each repeat reads both snapshots afresh (no manifest cache)
and diffs them, as ``brainbucket diff s3://study@v1 s3://study@v2`` does. Store verbs are
counted by a proxy: on S3 each ``read_bytes``/``stream`` is one GET, each ``write_bytes`` one
PUT and each ``ls`` one listing page per 1000 keys.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from brainbucket import open_store  # noqa: E402
from brainbucket.manifest import Entry, Manifest, read_manifest, write_manifest  # noqa: E402
from brainbucket.snapshots import create_tag  # noqa: E402
from brainbucket.snapshots._diff import diff_manifests  # noqa: E402


class Counting:
    """A store that counts the verbs called on it."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name in ("read_bytes", "stream", "ls", "write_bytes", "info", "delete"):

            def counted(*args: Any, **kwargs: Any) -> Any:
                self.calls[name] += 1
                return attr(*args, **kwargs)

            return counted
        return attr


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=10_000)
    ap.add_argument("--files", type=int, default=100, help="files per subject")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bb-snapshots-"))
    store = open_store(root)

    t = time.perf_counter()
    m = Manifest(
        Entry(f"sub-{s:05d}/anat/f{f:03d}.nii.gz", 1000 + f, digest(s * 1000 + f))
        for s in range(args.subjects)
        for f in range(args.files)
    )
    write_manifest(store, m)
    print(f"version A: {len(m):,} entries in {len(m.shards()):,} shards, built and written "
          f"in {time.perf_counter() - t:.1f} s")  # fmt: skip
    counting = Counting(store)
    create_tag(counting, "v1")  # type: ignore[arg-type]
    print(f"tag: store verbs {dict(counting.calls)}")

    s = args.subjects // 2
    m[f"sub-{s:05d}/anat/f000.nii.gz"] = Entry(f"sub-{s:05d}/anat/f000.nii.gz", 7, digest(1))
    m.add(Entry(f"sub-{s:05d}/anat/new.nii.gz", 8, digest(2)))
    del m[f"sub-{s:05d}/anat/f001.nii.gz"]
    write_manifest(store, m)
    create_tag(store, "v2")

    times = []
    for _ in range(args.repeat):
        a_store = Counting(open_store(root))
        t = time.perf_counter()
        a = read_manifest(a_store, root=_tag_root(store, "v1"), cache=False)  # type: ignore[arg-type]
        b = read_manifest(a_store, root=_tag_root(store, "v2"), cache=False)  # type: ignore[arg-type]
        assert a is not None and b is not None
        d = diff_manifests(a, b)
        times.append(time.perf_counter() - t)
        assert (len(d.added), len(d.changed), len(d.removed)) == (1, 1, 1)
    print(f"diff: median {statistics.median(times) * 1000:.0f} ms over {args.repeat} "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}); shards read "
          f"{d.shards_read} of {d.shards_read + d.shards_skipped}; store verbs "
          f"{dict(a_store.calls)}")  # fmt: skip


def _tag_root(store: Any, name: str) -> str:
    from brainbucket.snapshots import read_tag

    return read_tag(store, name).root


if __name__ == "__main__":
    main()
