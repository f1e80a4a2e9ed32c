"""Regenerate ``tests/data/`` (the default suite's test material) from the full test corpus.

    python tests/data/make_subset.py [CORPUS] [--out DIR]

CORPUS is the folder holding ``bids-examples.tar.gz``, ``hcp1200_sc_manifest.tsv`` and
``hcp1200_subject_ids.txt``; it defaults to ``$BRAINBUCKET_CORPUS``, else ``../shared/corpus``
beside the repository. DIR defaults to this folder. The output is deterministic: the same
corpus gives the same files (``tests/test_data_subset.py`` checks them against the corpus).
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

sys.path.insert(0, str(REPO / "tests" / "hcp"))
from hcp_replica import SUBJECTS  # noqa: E402

# The example datasets the BIDS tests extract (``tests/bids/conftest.py`` ``DATASETS``).
BIDS_DATASETS = (
    "ds114",
    "synthetic",
    "ds000001-fmriprep",
    "dwi_deriv",
    "ds001",
    "atlas-Schaefer",
)

BIDS_SUBSET = "bids-examples-subset.tar.gz"
BIDS_KEYS = "bids-examples-keys.txt.gz"
HCP_MANIFEST = "hcp1200_sc_manifest-subset.tsv"
HCP_IDS = "hcp1200_subject_ids.txt"


def _gzip_writer(path: Path) -> gzip.GzipFile:
    """A gzip stream with no time in its header, so reruns give the same bytes."""
    return gzip.GzipFile(path, mode="wb", mtime=0)


def bids(corpus: Path, out: Path) -> None:
    """The chosen datasets' members, unchanged and in the corpus order; every file name."""
    names: list[str] = []
    with (
        tarfile.open(corpus / "bids-examples.tar.gz") as src,
        _gzip_writer(out / BIDS_SUBSET) as gz,
        tarfile.open(fileobj=gz, mode="w", format=src.format) as dst,
    ):
        for member in src:
            if member.isfile():
                names.append(member.name.removeprefix("./"))
            parts = member.name.split("/")
            if len(parts) > 1 and parts[1] in BIDS_DATASETS:
                dst.addfile(member, src.extractfile(member) if member.isfile() else None)
    with _gzip_writer(out / BIDS_KEYS) as gz:
        gz.write("".join(f"{n}\n" for n in sorted(names)).encode())


def hcp(corpus: Path, out: Path) -> None:
    """Every row of the replica's subjects, the first row of every other subject, unchanged."""
    seen: set[str] = set()
    with (
        (corpus / "hcp1200_sc_manifest.tsv").open(newline="") as src,
        (out / HCP_MANIFEST).open("w", newline="") as dst,
    ):
        dst.write(src.readline())  # the header
        for line in src:
            subject = line.split("\t", 1)[0].split("/")[1]
            if subject in SUBJECTS or subject not in seen:
                dst.write(line)
                seen.add(subject)
    shutil.copyfile(corpus / HCP_IDS, out / HCP_IDS)


def default_corpus() -> Path:
    env = os.environ.get("BRAINBUCKET_CORPUS")
    return Path(env) if env else REPO.parent / "shared" / "corpus"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=default_corpus())
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    if not (args.corpus / "bids-examples.tar.gz").is_file():
        parser.error(f"no full corpus at {args.corpus}: give its folder or set BRAINBUCKET_CORPUS")
    args.out.mkdir(parents=True, exist_ok=True)
    bids(args.corpus, args.out)
    hcp(args.corpus, args.out)
    for name in (BIDS_SUBSET, BIDS_KEYS, HCP_MANIFEST, HCP_IDS):
        print(f"{args.out / name}: {(args.out / name).stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
