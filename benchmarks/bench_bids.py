"""BIDS indexing and cached mirror lookups on a 100,000-file study.

    PYTHONPATH=src python benchmarks/bench_bids.py [--files 100000] [--json]

1. Index 100,000 synthetic keys: parse every key's entities with the schema-compiled parser
   and build the query index (what ``Study`` does after its one listing or manifest read).
2. A cached ``Mirror.files(subject=...)`` lookup for one subject of a 100,000-file study kept
   in a local folder: the remote file list is read once, the subject's files are fetched
   once, then the same question is asked again and timed (one stat and one small record read
   per file, no transfer).

Medians of several runs; the machine's load shows in the spread, so both are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from brainbucket.bids import StudyIndex, vocabulary
from brainbucket.mirror import Mirror

DATATYPE_FILES = {
    "anat": ["T1w.nii.gz", "T1w.json", "T2w.nii.gz", "T2w.json"],
    "dwi": ["dwi.nii.gz", "dwi.json", "dwi.bval", "dwi.bvec"],
    "func": [f"task-rest_run-{r}_{s}" for r in (1, 2) for s in ("bold.nii.gz", "bold.json", "events.tsv")],
    "fmap": ["magnitude1.nii.gz", "phasediff.nii.gz", "phasediff.json"],
}
PER_SESSION = sum(len(v) for v in DATATYPE_FILES.values())  # 17
DERIV = ["space-T1w_desc-preproc_dwi.nii.gz", "space-T1w_desc-preproc_dwi.bval", "space-T1w_desc-preproc_dwi.bvec", "space-T1w_desc-brain_mask.nii.gz"]


def synthetic_keys(n: int) -> list[str]:
    """About ``n`` keys of a BIDS study: raw data in 2 sessions plus one derivatives pipeline."""
    keys = ["dataset_description.json", "participants.tsv", "README", "derivatives/dmriprep/dataset_description.json"]
    per_subject = 2 * (PER_SESSION + len(DERIV))
    subjects = max(1, (n - len(keys)) // per_subject)
    for i in range(1, subjects + 1):
        sub = f"sub-{i:05d}"
        for ses in ("ses-1", "ses-2"):
            for dt, names in DATATYPE_FILES.items():
                keys += [f"{sub}/{ses}/{dt}/{sub}_{ses}_{name}" for name in names]
            keys += [f"derivatives/dmriprep/{sub}/{ses}/dwi/{sub}_{ses}_{name}" for name in DERIV]
    i = 0
    while len(keys) < n:  # top up with extra runs of the first subject
        i += 1
        keys.append(f"sub-00001/ses-1/func/sub-00001_ses-1_task-extra_run-{i}_bold.nii.gz")
    return keys[:n]


def timed(fn, repeat: int, cpu: list[float] | None = None) -> list[float]:
    """Wall-clock seconds per run; CPU seconds of this process appended to ``cpu``."""
    out = []
    for _ in range(repeat):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
        if cpu is not None:
            cpu.append(time.process_time() - c0)
    return out


def bench_index(n: int, repeat: int) -> dict[str, float]:
    t0 = time.perf_counter()
    vocabulary()
    schema_s = time.perf_counter() - t0
    keys = synthetic_keys(n)
    remote = [(k, 1024, "0" * 32, None, None) for k in keys]
    cpu: list[float] = []
    times = timed(lambda: StudyIndex(remote), repeat, cpu)
    index = StudyIndex(remote)
    q = timed(lambda: index.query(subject="00042", datatype="dwi"), 20)
    return {
        "keys": len(keys),
        "schema_load_s": schema_s,
        "index_median_s": statistics.median(times),
        "index_min_s": min(times),
        "index_max_s": max(times),
        "index_cpu_median_s": statistics.median(cpu),
        "query_one_subject_median_ms": statistics.median(q) * 1000,
    }


def bench_mirror(n: int, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        remote = Path(tmp) / "study"
        keys = synthetic_keys(n)
        t0 = time.perf_counter()
        for k in keys:
            p = remote / k
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(b"x")
        make_s = time.perf_counter() - t0
        m = Mirror(remote, cache_dir=Path(tmp) / "cache")
        t0 = time.perf_counter()
        _ = m.study.index  # one listing of the whole study, saved in the cache
        list_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        first = m.files(subject="00042")
        fetch_s = time.perf_counter() - t0
        cpu: list[float] = []
        times = timed(lambda: m.files(subject="00042"), repeat, cpu)
        offline = Mirror(remote, cache_dir=Path(tmp) / "cache", offline=True)
        t0 = time.perf_counter()
        _ = offline.study.index
        offline_load_s = time.perf_counter() - t0
        off = timed(lambda: offline.files(subject="00042"), repeat)
        return {
            "study_files": len(keys),
            "subject_files": len(first),
            "make_study_s": make_s,
            "list_study_s": list_s,
            "first_fetch_s": fetch_s,
            "cached_files_median_ms": statistics.median(times) * 1000,
            "cached_files_max_ms": max(times) * 1000,
            "cached_files_cpu_median_ms": statistics.median(cpu) * 1000,
            "offline_listing_load_s": offline_load_s,
            "offline_cached_files_median_ms": statistics.median(off) * 1000,
        }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    results = {
        "cpu_count": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
        "index": bench_index(args.files, args.repeat),
        "mirror": bench_mirror(args.files, args.repeat * 4),
    }
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for section in ("index", "mirror"):
            print(f"[{section}]")
            for k, v in results[section].items():
                print(f"  {k:32} {v:.3f}" if isinstance(v, float) else f"  {k:32} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
