"""The large-file download path on its own: store.adownload with and without allocator tuning.

Usage::

    python benchmarks/download_path.py [--repeat 5] [--jobs 16] [--quick]

Uploads the ``bids`` workload once (with s5cmd, untimed) to a fresh local server, then
downloads it into an empty folder with ``S3Store.adownload`` in a child process, with and
without raising glibc malloc's mmap and trim thresholds at start-up (``mallopt``), and reports the median wall
time, CPU seconds, minor page faults and peak memory of each variant. s5cmd's download of the
same data is measured alongside as the reference.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from _measure import run_measured  # noqa: E402
from _workloads import FULL, QUICK, ensure_tree, tree_stats  # noqa: E402

# glibc <malloc.h>: M_TRIM_THRESHOLD, M_MMAP_THRESHOLD; 32 MiB is glibc's cap on 64-bit.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def tune_allocator() -> None:
    """Raise glibc malloc's mmap and trim thresholds, so freed ~1 MiB chunks are reused."""
    mallopt = ctypes.CDLL(None).mallopt
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    assert mallopt(_M_MMAP_THRESHOLD, 32 << 20) == 1
    assert mallopt(_M_TRIM_THRESHOLD, 256 << 20) == 1


def child(bucket: str, dest: str, jobs: int) -> None:
    """Download every object of ``bucket`` into ``dest`` (runs in the measured process)."""
    import obstore

    from brainbucket import Expected, open_store
    from brainbucket._hashing import CHUNK, VerifiedWriter

    if os.environ.get("BENCH_MALLOC_TUNING") == "1":
        tune_allocator()
    store = open_store(f"s3://{bucket}")
    infos = list(store.walk(""))

    async def go() -> None:
        sem = asyncio.Semaphore(jobs)

        async def one(info) -> None:
            async with sem:
                target = Path(dest) / info.path
                if os.environ.get("BENCH_THREADED") != "1":
                    await store.adownload(info.path, target, Expected(size=info.size))
                    return
                # The same verified write, with the file write and SHA-256 of each chunk in a
                # worker thread (both release the GIL) instead of on the event loop.
                res = await obstore.get_async(store.obs, store.key(info.path))
                with VerifiedWriter(target, Expected(size=info.size)) as w:
                    async for chunk in res.stream(min_chunk_size=CHUNK):
                        await asyncio.to_thread(w.write, chunk)
                    await asyncio.to_thread(w.commit)

        await asyncio.gather(*(one(i) for i in infos))

    asyncio.run(go())
    sys.stdout.flush()
    os._exit(0)  # see brainbucket.cli.main: leave without the interpreter's shutdown


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--jobs", type=int, default=16)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--cache", type=Path, default=HERE / ".cache")
    p.add_argument("--child", nargs=2, metavar=("BUCKET", "DEST"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(*args.child, args.jobs)
        return 0

    from brainbucket import open_store
    from brainbucket.server import LocalServer

    tree = ensure_tree(args.cache, "bids", (QUICK if args.quick else FULL)["bids"])
    work = Path(tempfile.mkdtemp(prefix="bbdl-", dir=args.cache))
    bin_ = Path(sys.executable).parent
    try:
        with LocalServer(work / "server") as srv:
            env = {
                **{
                    k: v
                    for k, v in os.environ.items()
                    if not k.startswith(("AWS_", "BRAINBUCKET_"))
                },
                **srv.env(),
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "PYTHONPATH": str(HERE.parent / "src"),
            }
            os.environ.update(env)
            open_store("s3://dlbench").create_bucket(versioning=True)
            up = [str(bin_ / "s5cmd"), "--endpoint-url", srv.endpoint_url, "--log", "error"]
            subprocess.run([*up, "sync", f"{tree.path}/", "s3://dlbench/"], env=env, check=True)
            variants = {
                "s5cmd": (lambda d: [*up, "sync", "s3://dlbench/*", f"{d}/"], {}),
                "adownload untuned": (
                    lambda d: [
                        sys.executable,
                        __file__,
                        "--jobs",
                        str(args.jobs),
                        "--child",
                        "dlbench",
                        d,
                    ],
                    {"BENCH_MALLOC_TUNING": "0"},
                ),
                "adownload tuned": (
                    lambda d: [
                        sys.executable,
                        __file__,
                        "--jobs",
                        str(args.jobs),
                        "--child",
                        "dlbench",
                        d,
                    ],
                    {"BENCH_MALLOC_TUNING": "1"},
                ),
                "write+hash in thread": (
                    lambda d: [
                        sys.executable,
                        __file__,
                        "--jobs",
                        str(args.jobs),
                        "--child",
                        "dlbench",
                        d,
                    ],
                    {"BENCH_MALLOC_TUNING": "0", "BENCH_THREADED": "1"},
                ),
            }
            results: dict[str, list[dict[str, float]]] = {k: [] for k in variants}
            for rep in range(args.repeat):
                for name, (cmd, extra) in variants.items():
                    dest = work / "dest"
                    shutil.rmtree(dest, ignore_errors=True)
                    dest.mkdir()
                    r = run_measured(cmd(str(dest)), {**env, **extra}, cwd=work)
                    ok = r.exit_code == 0 and tree_stats(dest) == (tree.files, tree.bytes)
                    row = {
                        "wall_s": r.wall_s,
                        "cpu_s": r.user_s + r.sys_s,
                        "sys_s": r.sys_s,
                        "minflt": r.minflt,
                        "rss_mib": r.peak_rss_mib,
                        "ok": ok,
                    }
                    results[name].append(row)
                    print(
                        f"rep {rep} {name:18s} {r.wall_s:6.2f} s  {tree.bytes / r.wall_s / 1e6:6.0f} MB/s"
                        f"  cpu {row['cpu_s']:5.2f} s (sys {r.sys_s:4.2f})  minflt {r.minflt:8d}"
                        f"  rss {r.peak_rss_mib:5.0f} MiB  {'ok' if ok else 'FAILED ' + r.output_tail[-300:]}",
                        flush=True,
                    )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nmedians over {args.repeat} repeats, {tree.files} files, {tree.bytes / 1e6:.0f} MB:")
    summary = {}
    for name, rows in results.items():
        good = [r for r in rows if r["ok"]]
        if not good:
            print(f"{name}: every run failed")
            continue
        med = {
            k: statistics.median(float(r[k]) for r in good)
            for k in ("wall_s", "cpu_s", "sys_s", "minflt", "rss_mib")
        }
        med["mb_s"] = tree.bytes / med["wall_s"] / 1e6
        summary[name] = med
        print(
            f"{name:18s} {med['wall_s']:6.2f} s  {med['mb_s']:5.0f} MB/s  cpu {med['cpu_s']:5.2f} s"
            f"  minflt {med['minflt']:9.0f}  rss {med['rss_mib']:5.0f} MiB"
        )
    out = HERE / "results" / f"download_path-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"summary": summary, "runs": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
