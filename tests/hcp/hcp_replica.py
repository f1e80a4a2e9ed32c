"""What the HCP replica holds (shared by the fixtures and the tests)."""

from __future__ import annotations

from dataclasses import dataclass

BUCKET = "hcp-openaccess"
DWI_SUBJECT = "100206"  # real DWI bodies
PLAIN_SUBJECT = "100307"  # 3T only
NO_DWI_SUBJECT = "117728"  # no T1w/Diffusion in HCP_1200
SUBJECT_7T = "100610"  # has T1w/Diffusion_7T
SUBJECTS = (DWI_SUBJECT, PLAIN_SUBJECT, "100408", NO_DWI_SUBJECT, SUBJECT_7T)

# Structural files pyAFQ also fetches; in the real bucket, absent from the corpus manifest.
ANAT = ("T1w/T1w_acpc_dc.nii.gz", "T1w/aparc+aseg.nii.gz", "T1w/T1w_acpc_dc_restore_1.25.nii.gz")
# Real T1w/ neighbours that no kind selects.
OTHER_T1W = ("T1w/T1w_acpc_dc_restore.nii.gz", "T1w/brainmask_fs.nii.gz", "T1w/{s}/mri/aseg.mgz")
MNI = (
    "MNINonLinear/T1w.nii.gz",
    "MNINonLinear/aparc+aseg.nii.gz",
    "MNINonLinear/Results/rfMRI_REST1_LR/Movement_Regressors.txt",
)


@dataclass
class Replica:
    """What the replica holds: key → body, and every subject id of HCP_1200."""

    bucket: str
    objects: dict[str, bytes]
    subject_ids: list[str]

    def keys(self, subject: str, folder: str = "") -> list[str]:
        prefix = f"HCP_1200/{subject}/{folder}"
        return sorted(k for k in self.objects if k.startswith(prefix))
