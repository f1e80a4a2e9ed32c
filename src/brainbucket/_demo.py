"""A small BIDS-style study built from real NIfTI/DWI files shipped with nibabel and dipy.

Used by the quickstart, tests and documentation examples. The images are real (nibabel's
anatomical test image, dipy's ``small_101D`` diffusion series with its bvals and bvecs); the
subjects are copies of them, so the study is small (~1 MB a subject) but loads in any tool.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

__all__ = ["build_demo_study", "real_image_files"]


def real_image_files() -> dict[str, Path]:
    """Paths of real image files inside installed packages (no network)."""
    import dipy.data
    import nibabel.testing

    nib_data = Path(str(nibabel.testing.data_path))
    dipy_files = Path(dipy.data.__file__).parent / "files"
    return {
        "t1w": nib_data / "anatomical.nii",
        "dwi": dipy_files / "small_101D.nii.gz",
        "bval": dipy_files / "small_101D.bval",
        "bvec": dipy_files / "small_101D.bvec",
    }


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
            shutil.copyfile(src["bval"], dwi / f"{stem}_dwi.bval")
            shutil.copyfile(src["bvec"], dwi / f"{stem}_dwi.bvec")
            (dwi / f"{stem}_dwi.json").write_text(json.dumps({"PhaseEncodingDirection": "j-"}))
            ddwi = deriv / sub / ses / "dwi"
            ddwi.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src["dwi"], ddwi / f"{stem}_space-T1w_desc-preproc_dwi.nii.gz")
            shutil.copyfile(src["bval"], ddwi / f"{stem}_space-T1w_desc-preproc_dwi.bval")
            shutil.copyfile(src["bvec"], ddwi / f"{stem}_space-T1w_desc-preproc_dwi.bvec")
    return root
