"""Real community BIDS examples, extracted once and uploaded once to the test S3 server."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from brainbucket import open_store
from brainbucket.server import LocalServer
from brainbucket.store import S3Store, Store

# The example datasets in tests/data/bids-examples-subset.tar.gz (see tests/data/README.md).
DATASETS = ("ds114", "synthetic", "ds000001-fmriprep", "dwi_deriv", "ds001", "atlas-Schaefer")

# ds001 (OpenNeuro ds000001) with its fMRIPrep output, ds000001-fmriprep, where fMRIPrep puts
# it: derivatives/fmriprep/, each subject's report sub-<label>.html at the pipeline's root.
WITH_FMRIPREP = "ds001-with-fmriprep"


def upload_tree(store: Store, src: Path, prefix: str = "") -> int:
    """Upload every file under ``src`` (dotfiles included) below ``prefix``; returns the count."""
    files = [p for p in sorted(src.rglob("*")) if p.is_file()]

    def put(p: Path) -> None:
        rel = p.relative_to(src).as_posix()
        store.upload(p, f"{prefix}/{rel}" if prefix else rel)

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(put, files))
    return len(files)


@pytest.fixture(scope="session")
def examples(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """The example datasets, extracted from the repository's subset into one folder, and
    ``WITH_FMRIPREP`` put together from two of them."""
    tarball = data_dir / "bids-examples-subset.tar.gz"
    dest = tmp_path_factory.mktemp("bids-examples")
    subprocess.run(
        ["tar", "-xzf", str(tarball), "-C", str(dest), *(f"./{d}" for d in DATASETS)],
        check=True,
    )
    shutil.copytree(dest / "ds001", dest / WITH_FMRIPREP)
    shutil.copytree(dest / "ds000001-fmriprep", dest / WITH_FMRIPREP / "derivatives" / "fmriprep")
    return dest


@pytest.fixture(scope="session")
def examples_bucket(s3_server: LocalServer, examples: Path) -> Iterator[str]:
    """A bucket holding each example dataset under its own prefix (uploaded once)."""
    name = f"bids-{uuid.uuid4().hex[:8]}"
    with pytest.MonkeyPatch.context() as mp:
        for k, v in s3_server.env().items():
            mp.setenv(k, v)
        store = open_store(f"s3://{name}")
        assert isinstance(store, S3Store)
        store.create_bucket()
        for d in (*DATASETS, WITH_FMRIPREP):
            upload_tree(open_store(f"s3://{name}/{d}"), examples / d)
    return name


@pytest.fixture(scope="session")
def pybids_layouts(examples: Path) -> dict[str, object]:
    """pybids' view of each dataset: the test-only oracle."""
    import bids

    layouts: dict[str, object] = {
        d: bids.BIDSLayout(examples / d, validate=False, derivatives=False) for d in DATASETS
    }
    layouts[WITH_FMRIPREP] = bids.BIDSLayout(
        examples / WITH_FMRIPREP, validate=False, derivatives=True
    )
    return layouts


@pytest.fixture
def upload():
    """``upload(store, folder, prefix="")``: put a local tree into a store."""
    return upload_tree
