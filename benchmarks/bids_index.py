"""BIDS indexing and cached mirror lookups on a 100,000-file study.

Usage::

    python benchmarks/bids_index.py [--files 100000] [--repeat 5]

Measures, in this process:

1. building the study index from 100,000 keys (parse every key's entities with the BIDS
   schema, build the by-subject tables): the first build, which also compiles the schema, and
   the median of later builds;
2. ``index.query(subject=...)`` for one subject;
3. ``Mirror.files(subject=...)`` for one subject of a 100,000-file study whose files are
   already in the cache (the second and later calls of a process), and the first call of a
   fresh offline ``Mirror`` (which reads the saved listing and builds the index first).

The study for (3) is a local folder of tiny files (generated once under
``benchmarks/.cache``): the mirror's cached path is the same whatever the remote store is,
and a local source keeps the set-up short.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

# One session of one subject: raw BIDS plus two derivatives pipelines, 50 files.
_RAW = [
    "anat/{s}_T1w.nii.gz", "anat/{s}_T1w.json", "anat/{s}_T2w.nii.gz", "anat/{s}_T2w.json",
    "dwi/{s}_dwi.nii.gz", "dwi/{s}_dwi.bval", "dwi/{s}_dwi.bvec", "dwi/{s}_dwi.json",
    "fmap/{s}_dir-AP_epi.nii.gz", "fmap/{s}_dir-AP_epi.json",
    "fmap/{s}_dir-PA_epi.nii.gz", "fmap/{s}_dir-PA_epi.json",
    *(f"func/{{s}}_task-rest_run-{r}_bold.nii.gz" for r in (1, 2, 3, 4)),
    *(f"func/{{s}}_task-rest_run-{r}_bold.json" for r in (1, 2, 3, 4)),
    *(f"func/{{s}}_task-nback_run-{r}_events.tsv" for r in (1, 2)),
    *(f"func/{{s}}_task-nback_run-{r}_bold.nii.gz" for r in (1, 2)),
]  # fmt: skip
_DERIV = [
    "anat/{s}_desc-preproc_T1w.nii.gz", "anat/{s}_desc-brain_mask.nii.gz",
    "anat/{s}_label-GM_probseg.nii.gz", "anat/{s}_label-WM_probseg.nii.gz",
    "anat/{s}_space-MNI152NLin2009cAsym_desc-preproc_T1w.nii.gz",
    "dwi/{s}_space-T1w_desc-preproc_dwi.nii.gz", "dwi/{s}_space-T1w_desc-preproc_dwi.bval",
    "dwi/{s}_space-T1w_desc-preproc_dwi.bvec", "dwi/{s}_space-T1w_desc-brain_mask.nii.gz",
    "dwi/{s}_space-T1w_model-DTI_param-FA_dwimap.nii.gz",
    "dwi/{s}_space-T1w_model-DTI_param-MD_dwimap.nii.gz",
    *(f"func/{{s}}_task-rest_run-{r}_space-MNI152NLin2009cAsym_desc-preproc_bold.nii.gz" for r in (1, 2, 3, 4)),
]  # fmt: skip


def study_keys(n: int) -> list[str]:
    """About ``n`` keys of a realistic study (whole subjects, 2 sessions each)."""
    keys = ["dataset_description.json", "participants.tsv", "README"]
    per_subject = 2 * (len(_RAW) + len(_DERIV) * 2)
    for i in range(1, max(1, round(n / per_subject)) + 1):
        sub = f"sub-{i:04d}"
        for t in (1, 2):
            ses = f"ses-{t:02d}"
            stem = f"{sub}_{ses}"
            keys += [f"{sub}/{ses}/" + p.format(s=stem) for p in _RAW]
            for pipe in ("fmriprep", "dmriprep"):
                keys += [f"derivatives/{pipe}/{sub}/{ses}/" + p.format(s=stem) for p in _DERIV]
    return keys


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def ensure_folder(cache: Path, keys: list[str]) -> Path:
    root = cache / "trees" / f"bids-index-{len(keys)}"
    done = cache / "trees" / f"bids-index-{len(keys)}.json"
    if done.exists():
        return root
    subjects = sorted({k.split("/")[0] for k in keys if k.startswith("sub-")})
    participants = "participant_id\tage\n" + "".join(
        f"{s}\t{20 + i % 50}\n" for i, s in enumerate(subjects)
    )
    for k in keys:
        p = root / k
        p.parent.mkdir(parents=True, exist_ok=True)
        if k == "dataset_description.json":
            p.write_text('{"Name": "bench", "BIDSVersion": "1.9.0"}')
        elif k == "participants.tsv":
            p.write_text(participants)
        else:
            p.write_bytes(k.encode())
    done.write_text(json.dumps({"files": len(keys)}))
    return root


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--files", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--cache", type=Path, default=HERE / ".cache")
    args = p.parse_args()

    from brainbucket.bids import StudyIndex
    from brainbucket.mirror import Mirror

    keys = study_keys(args.files)
    remote = [(k, len(k), None, None, None) for k in keys]
    subjects = sorted({k.split("/")[0][4:] for k in keys if k.startswith("sub-")})
    print(f"{len(keys):,} keys, {len(subjects):,} subjects", flush=True)
    out: dict[str, object] = {"keys": len(keys), "subjects": len(subjects)}

    t0 = time.perf_counter()
    index = StudyIndex(remote)
    first = time.perf_counter() - t0
    builds = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        index = StudyIndex(remote)
        builds.append(time.perf_counter() - t0)
    assert len(index) == len(keys)
    out["index_first_s"] = first
    out["index_median_s"] = statistics.median(builds)
    print(f"index of {len(keys):,} keys: first {first:.3f} s (includes compiling the schema), "
          f"then median {statistics.median(builds):.3f} s over {args.repeat}")  # fmt: skip

    queries = []
    for sub in subjects[:: max(1, len(subjects) // 50)]:
        t0 = time.perf_counter()
        found = index.query(subject=sub)
        queries.append(time.perf_counter() - t0)
        assert found
        assert all(f.subject == sub for f in found)
    out["query_subject_median_s"] = statistics.median(queries)
    print(f"index.query(subject=...): median {ms(statistics.median(queries))} over {len(queries)}")

    folder = ensure_folder(args.cache, keys)
    with tempfile.TemporaryDirectory(dir=args.cache) as cache_dir:
        mirror = Mirror(folder, cache_dir=cache_dir)
        picked = subjects[:: max(1, len(subjects) // 10)]
        t0 = time.perf_counter()
        for sub in picked:
            mirror.files(subject=sub)  # fetch into the cache; lists the study first
        fill = time.perf_counter() - t0
        print(
            f"mirror: listed {len(keys):,} files and fetched {len(picked)} subjects in {fill:.1f} s"
        )
        lookups = []
        for _ in range(args.repeat):
            for sub in picked:
                t0 = time.perf_counter()
                paths = mirror.files(subject=sub)
                lookups.append(time.perf_counter() - t0)
                assert paths
                assert all(p.is_file() for p in paths)
        n_files = len(paths)
        out["mirror_cached_files_median_s"] = statistics.median(lookups)
        out["mirror_cached_files_count"] = n_files
        print(f"mirror.files(subject=...) cached, {n_files} files: "
              f"median {ms(statistics.median(lookups))}, max {ms(max(lookups))} over {len(lookups)}")  # fmt: skip
        cold = []
        for sub in picked[: args.repeat]:
            fresh = Mirror(folder, cache_dir=cache_dir, offline=True)
            t0 = time.perf_counter()
            fresh.files(subject=sub)
            cold.append(time.perf_counter() - t0)
        out["mirror_first_call_offline_median_s"] = statistics.median(cold)
        print(f"first mirror.files(subject=...) of a fresh offline Mirror (loads the saved "
              f"listing, builds the index): median {statistics.median(cold):.3f} s")  # fmt: skip
    res = HERE / "results"
    res.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (res / f"bids_index-{stamp}.json").write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
