"""The HCP open-access layout and its mapping onto BIDS names (pure: no I/O).

HCP keys look like ``HCP_1200/100206/T1w/Diffusion/data.nii.gz``. A *kind* names a group of
files per subject: a fixed set of files in one folder (``dwi``, ``dwi7t``, ``anat``), or a
whole folder (``mni``, ``unprocessed``). Files with a BIDS equivalent get a BIDS derivatives
name; the rest keep their HCP key under ``sourcedata/``, which BIDS validators skip.

Sessions: HCP_1200 3T data goes to ``ses-01``; 7T diffusion, acquired in a separate visit on
another scanner, gets its own session ``ses-7T`` so that tools reading ``ses-01`` see exactly
one diffusion series whether or not 7T data was fetched.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from .._exceptions import UsageError

__all__ = [
    "DEFAULT_BUCKET",
    "DEFAULT_KINDS",
    "DEFAULT_PROFILE",
    "DEFAULT_RELEASE",
    "KINDS",
    "RELEASES",
    "Kind",
    "bids_target",
    "check_kinds",
    "check_release",
    "normalize_subject",
    "sidecar",
]

DEFAULT_BUCKET = "hcp-openaccess"
DEFAULT_RELEASE = "HCP_1200"
DEFAULT_PROFILE = "hcp"
DEFAULT_KINDS = ("dwi", "anat")

#: Release name → key prefix in the bucket. ``q1`` is the first quarterly release's old prefix.
RELEASES: dict[str, str] = {
    "HCP_1200": "HCP_1200/",
    "HCP": "HCP/",
    "HCP_Retest": "HCP_Retest/",
    "q1": "q1/",
}

_SUBJECT_RE = re.compile(r"^[0-9]{6}$")


@dataclass(frozen=True)
class Kind:
    """A group of files per subject.

    Attributes
    ----------
    name
        What users type (``dwi``).
    folder
        Folder under the subject, ending in ``/``.
    files
        File name in ``folder`` → BIDS path template (``{sub}``, ``{ses}`` are filled in); an
        empty template keeps the file under ``sourcedata/``. Empty for whole-folder kinds.
    required
        Files without which the kind counts as absent for a subject.
    session
        BIDS session label of the mapped files.
    diffusion
        Whether this kind is diffusion data (subjects without any are skipped).
    description
        One line for ``--help`` and listings.
    """

    name: str
    folder: str
    files: dict[str, str] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    session: str = "01"
    diffusion: bool = False
    description: str = ""

    @property
    def recursive(self) -> bool:
        """Whole-folder kinds list everything below ``folder``."""
        return not self.files


_DWI = {
    "data.nii.gz": "sub-{sub}/ses-{ses}/dwi/sub-{sub}_ses-{ses}_dwi.nii.gz",
    "bvals": "sub-{sub}/ses-{ses}/dwi/sub-{sub}_ses-{ses}_dwi.bval",
    "bvecs": "sub-{sub}/ses-{ses}/dwi/sub-{sub}_ses-{ses}_dwi.bvec",
    "nodif_brain_mask.nii.gz": "sub-{sub}/ses-{ses}/dwi/sub-{sub}_ses-{ses}_desc-brain_mask.nii.gz",
    # Gradient non-linearity deviations have no BIDS suffix; a `_dwi` name would make tools
    # see a second diffusion series, so the file stays under sourcedata/.
    "grad_dev.nii.gz": "",
}
_DWI_REQUIRED = ("data.nii.gz", "bvals", "bvecs")

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "dwi",
            "T1w/Diffusion/",
            _DWI,
            _DWI_REQUIRED,
            diffusion=True,
            description="3T diffusion (preprocessed, T1w space): data, bvals, bvecs, mask, grad_dev",
        ),
        Kind(
            "dwi7t",
            "T1w/Diffusion_7T/",
            _DWI,
            _DWI_REQUIRED,
            session="7T",
            diffusion=True,
            description="7T diffusion (preprocessed, T1w space), as session 7T",
        ),
        Kind(
            "anat",
            "T1w/",
            {
                "T1w_acpc_dc_restore_1.25.nii.gz": (
                    "sub-{sub}/ses-{ses}/anat/sub-{sub}_ses-{ses}_res-1pt25_desc-restore_T1w.nii.gz"
                ),
                "T1w_acpc_dc.nii.gz": "sub-{sub}/ses-{ses}/anat/sub-{sub}_ses-{ses}_desc-preproc_T1w.nii.gz",
                "aparc+aseg.nii.gz": "sub-{sub}/ses-{ses}/anat/sub-{sub}_ses-{ses}_desc-aparcaseg_dseg.nii.gz",
            },
            description="T1w (ACPC, distortion corrected; 1.25 mm restored) and aparc+aseg",
        ),
        Kind("mni", "MNINonLinear/", description="everything under MNINonLinear/ (large)"),
        Kind(
            "unprocessed", "unprocessed/", description="everything under unprocessed/ (raw scans)"
        ),
    )
}


# Sidecar metadata the BIDS schema requires (SkullStripped for derivative images, Resolution
# with `res-`) or recommends (Type for masks, Description), by HCP file name.
_SIDECARS: dict[str, dict[str, object]] = {
    "data.nii.gz": {
        "SkullStripped": False,
        "Description": "HCP minimal preprocessing: diffusion data in T1w (ACPC) space",
    },
    "nodif_brain_mask.nii.gz": {
        "Type": "Brain",
        "Description": "HCP brain mask of the diffusion data",
    },
    "T1w_acpc_dc.nii.gz": {
        "SkullStripped": False,
        "Description": "HCP minimal preprocessing: T1w, ACPC aligned, readout distortion corrected",
    },
    "T1w_acpc_dc_restore_1.25.nii.gz": {
        "SkullStripped": False,
        "Resolution": "1.25 mm isotropic (the 3T diffusion grid)",
        "Description": "HCP minimal preprocessing: bias-field corrected T1w on the diffusion grid",
    },
    "aparc+aseg.nii.gz": {
        "Description": "FreeSurfer aparc+aseg segmentation; labels follow FreeSurferColorLUT",
    },
}


def sidecar(target: str, key: str) -> tuple[str, dict[str, object]] | None:
    """The JSON sidecar a mapped image gets: its path and metadata, or ``None``.

    Examples
    --------
    >>> sidecar("sub-1/ses-01/anat/sub-1_ses-01_desc-preproc_T1w.nii.gz", "HCP_1200/1/T1w/T1w_acpc_dc.nii.gz")[0]
    'sub-1/ses-01/anat/sub-1_ses-01_desc-preproc_T1w.json'
    """
    meta = _SIDECARS.get(key.rsplit("/", 1)[-1])
    if meta is None or target.startswith("sourcedata/") or not target.endswith(".nii.gz"):
        return None
    return target.removesuffix(".nii.gz") + ".json", dict(meta)


def check_release(release: str) -> str:
    """Return the key prefix of ``release``, or raise with the close matches.

    Examples
    --------
    >>> check_release("HCP_1200")
    'HCP_1200/'
    """
    try:
        return RELEASES[release]
    except KeyError:
        close = difflib.get_close_matches(release, list(RELEASES), n=3, cutoff=0.4)
        msg = f"unknown HCP release {release!r}"
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise UsageError(msg, hint=hint + f"releases: {', '.join(RELEASES)}") from None


def check_kinds(kinds: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Validate kind names (a comma-separated string or a sequence); returns them, deduplicated.

    Examples
    --------
    >>> check_kinds("dwi, anat")
    ('dwi', 'anat')
    """
    if isinstance(kinds, str):
        kinds = [k for k in (p.strip() for p in kinds.split(",")) if k]
    out: list[str] = []
    for k in kinds:
        if k not in KINDS:
            close = difflib.get_close_matches(k, list(KINDS), n=3, cutoff=0.4)
            msg = f"unknown HCP kind {k!r}"
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise UsageError(msg, hint=hint + f"kinds: {', '.join(KINDS)}")
        if k not in out:
            out.append(k)
    if not out:
        msg = "no kinds given"
        raise UsageError(msg, hint=f"kinds: {', '.join(KINDS)}")
    return tuple(out)


def normalize_subject(subject: str | int) -> str:
    """``"sub-100206"``, ``"100206"`` or ``100206`` → ``"100206"``; anything else is refused.

    Examples
    --------
    >>> normalize_subject("sub-100206")
    '100206'
    """
    text = str(subject).strip()
    text = text.removeprefix("sub-")
    if not _SUBJECT_RE.match(text):
        msg = f"not an HCP subject id: {str(subject)!r}"
        raise UsageError(msg, hint="HCP subject ids are six digits, e.g. 100206")
    return text


def bids_target(subject: str, kind: Kind, key: str, release_prefix: str) -> str:
    """Where ``key`` goes, relative to the derivative dataset's root.

    Parameters
    ----------
    subject
        Six-digit subject id.
    kind
        The kind the key was selected for.
    key
        The full HCP key (``HCP_1200/100206/T1w/Diffusion/bvals``).
    release_prefix
        ``HCP_1200/`` etc.

    Examples
    --------
    >>> bids_target("100206", KINDS["dwi"], "HCP_1200/100206/T1w/Diffusion/bvals", "HCP_1200/")
    'sub-100206/ses-01/dwi/sub-100206_ses-01_dwi.bval'
    >>> bids_target("100206", KINDS["mni"], "HCP_1200/100206/MNINonLinear/T1w.nii.gz", "HCP_1200/")
    'sourcedata/HCP_1200/100206/MNINonLinear/T1w.nii.gz'
    """
    base = f"{release_prefix}{subject}/{kind.folder}"
    name = key[len(base) :] if key.startswith(base) else ""
    template = kind.files.get(name, "")
    if template:
        return template.format(sub=subject, ses=kind.session)
    return f"sourcedata/{key}"
