"""A small BIDS-style study built from real NIfTI images shipped with nibabel.

Used by the quickstart, tests and documentation examples. The images are real and come from
nibabel's test data, which every install of brainbucket already has: the anatomical image
as each subject's T1w, and the 4-D EPI series ``example4d`` (two volumes) as its diffusion
series, with a gradient table written here (a b=0 volume and one b=1000 direction). The
files are valid and load in any tool, but the "diffusion" series is not a diffusion
measurement. The subjects are copies, so the study stays small (~0.8 MB a subject).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

from ._exceptions import ObjectNotFoundError

__all__ = ["build_demo_study", "real_image_files"]

# One line per volume of ``example4d`` (two): a b=0 image, then one diffusion direction.
BVAL = "0 1000\n"
BVEC = "0 1\n0 0\n0 0\n"


def real_image_files() -> dict[str, Path]:
    """Paths of the real images inside nibabel (no network, no other package).

    Found without importing nibabel: its ``testing`` module, which names the same folder,
    imports pytest, which a plain install does not have.

    Raises
    ------
    ObjectNotFoundError
        nibabel, or its test images, are not installed (some system packages strip them).

    Examples
    --------
    >>> sorted(real_image_files())
    ['dwi', 't1w']
    """
    spec = importlib.util.find_spec("nibabel")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    files = {}
    if folders:
        data = Path(folders[0]) / "tests" / "data"
        files = {"t1w": data / "anatomical.nii", "dwi": data / "example4d.nii.gz"}
    if not files or not all(p.is_file() for p in files.values()):
        msg = "the demo study's images (nibabel's tests/data) are not installed"
        raise ObjectNotFoundError(msg, hint="install nibabel from PyPI: pip install nibabel")
    return files


def build_demo_study(
    dest: str | Path,
    *,
    subjects: int = 3,
    sessions: int = 1,
    pipeline: str = "dmriprep",
) -> Path:
    """Write a BIDS raw + derivatives study under ``dest``.

    Parameters
    ----------
    dest
        Folder to create (its name is used as the study name).
    subjects, sessions
        How many ``sub-XX`` and ``ses-YY`` folders.
    pipeline
        Name of the derivatives pipeline folder.

    Returns
    -------
    pathlib.Path
        ``dest``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = build_demo_study(pathlib.Path(tempfile.mkdtemp()) / "study", subjects=1)
    >>> sorted(p.name for p in root.iterdir())[:3]
    ['README', 'dataset_description.json', 'derivatives']
    """
    root = Path(dest)
    root.mkdir(parents=True, exist_ok=True)
    src = real_image_files()
    name = root.name
    (root / "dataset_description.json").write_text(
        json.dumps({"Name": name, "BIDSVersion": "1.9.0", "DatasetType": "raw"}, indent=2)
    )
    (root / "README").write_text(f"{name}: a demonstration study written by brainbucket.\n")
    rows = ["participant_id\tage\tsex"]
    for i in range(1, subjects + 1):
        rows.append(f"sub-{i:02d}\t{20 + 7 * i}\t{'F' if i % 2 else 'M'}")
    (root / "participants.tsv").write_text("\n".join(rows) + "\n")
    deriv = root / "derivatives" / pipeline
    deriv.mkdir(parents=True, exist_ok=True)
    (deriv / "dataset_description.json").write_text(
        json.dumps(
            {
                "Name": f"{name} {pipeline}",
                "BIDSVersion": "1.9.0",
                "DatasetType": "derivative",
                "GeneratedBy": [{"Name": pipeline}],
            },
            indent=2,
        )
    )
    for i in range(1, subjects + 1):
        sub = f"sub-{i:02d}"
        for j in range(1, sessions + 1):
            ses = f"ses-{j:02d}"
            stem = f"{sub}_{ses}"
            anat = root / sub / ses / "anat"
            dwi = root / sub / ses / "dwi"
            anat.mkdir(parents=True, exist_ok=True)
            dwi.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src["t1w"], anat / f"{stem}_T1w.nii")
            (anat / f"{stem}_T1w.json").write_text(json.dumps({"RepetitionTime": 2.3}))
            shutil.copyfile(src["dwi"], dwi / f"{stem}_dwi.nii.gz")
            (dwi / f"{stem}_dwi.bval").write_text(BVAL)
            (dwi / f"{stem}_dwi.bvec").write_text(BVEC)
            (dwi / f"{stem}_dwi.json").write_text(json.dumps({"PhaseEncodingDirection": "j-"}))
            ddwi = deriv / sub / ses / "dwi"
            ddwi.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src["dwi"], ddwi / f"{stem}_space-T1w_desc-preproc_dwi.nii.gz")
            (ddwi / f"{stem}_space-T1w_desc-preproc_dwi.bval").write_text(BVAL)
            (ddwi / f"{stem}_space-T1w_desc-preproc_dwi.bvec").write_text(BVEC)
    return root
