"""Fetching HCP subjects from the replica into a BIDS derivatives tree."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from hcp_replica import DWI_SUBJECT, NO_DWI_SUBJECT, PLAIN_SUBJECT, SUBJECT_7T, Replica

from brainbucket import (
    BrainbucketError,
    Callbacks,
    IntegrityError,
    ObjectNotFoundError,
    UsageError,
    hcp,
    open_store,
)
from brainbucket.hcp import HCP, RECORD_NAME, HCPFile, execute_fetch, plan_fetch

KINDS = ("dwi", "dwi7t", "anat")


class _Bytes(Callbacks[HCPFile]):
    """Hands each byte count to one function."""

    def __init__(self, on_bytes: Callable[[int], None]) -> None:
        self.on_bytes = on_bytes

    def on_progress(self, f: HCPFile, nbytes: int) -> None:
        self.on_bytes(nbytes)


def _dwi(root: Path, sub: str, ses: str = "01") -> Path:
    return root / "derivatives/hcp" / f"sub-{sub}/ses-{ses}/dwi"


def _files(root: Path) -> dict[str, int]:
    """Every file (with its mtime) under root, temporary ones included."""
    return {
        p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()
    }


@pytest.fixture(scope="module")
def _fetched_once(
    s3_server, hcp_replica: Replica, aws_files: tuple[Path, Path], tmp_path_factory
) -> tuple[Path, hcp.FetchResult]:
    """One fetch per module; each test gets its own copy of the tree (see ``fetched``)."""
    root = tmp_path_factory.mktemp("fetched") / "hcp"
    with pytest.MonkeyPatch.context() as mp:
        for k in list(os.environ):
            if k.startswith("AWS_"):
                mp.delenv(k)
        mp.setenv("AWS_CONFIG_FILE", str(aws_files[0]))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws_files[1]))
        mp.setenv("BRAINBUCKET_ENDPOINT_URL", s3_server.endpoint_url)
        result = hcp.fetch(
            [DWI_SUBJECT, NO_DWI_SUBJECT, SUBJECT_7T], root, kinds=KINDS, profile="hcp"
        )
    return root, result


@pytest.fixture
def fetched(
    _fetched_once: tuple[Path, hcp.FetchResult], hcp_env: dict[str, str], tmp_path: Path
) -> tuple[Path, hcp.FetchResult]:
    """A fresh copy of the fetched tree (mtimes kept, as the record expects) and its result."""
    src, result = _fetched_once
    root = tmp_path / "hcp"
    shutil.copytree(src, root)  # copy2: data and nanosecond mtimes

    def moved(pairs: list[tuple[hcp.HCPFile, Path]]) -> list[tuple[hcp.HCPFile, Path]]:
        return [(f, root / p.relative_to(src)) for f, p in pairs]

    plan = dataclasses.replace(
        result.plan,
        root=root,
        derivative=root / result.plan.derivative.relative_to(src),
        downloads=moved(result.plan.downloads),
    )
    return root, dataclasses.replace(result, plan=plan, downloaded=moved(result.downloaded))


def test_fetch_builds_a_bids_derivatives_tree(
    fetched: tuple[Path, hcp.FetchResult], hcp_replica: Replica, bids_problems
) -> None:
    root, result = fetched
    sel = result.plan.selection
    assert sel.skipped == {NO_DWI_SUBJECT: "no diffusion data (dwi, dwi7t)"}
    assert not (root / f"derivatives/hcp/sub-{NO_DWI_SUBJECT}").exists()
    assert len(result.downloaded) == len(sel.files) > 0
    # Every downloaded file holds exactly the object's bytes.
    for f, path in result.downloaded:
        assert path.read_bytes() == hcp_replica.objects[f.key]
    deriv = root / "derivatives/hcp"
    assert bids_problems(deriv) == []
    assert bids_problems(root) == []
    desc = json.loads((deriv / "dataset_description.json").read_text())
    assert desc["DatasetType"] == "derivative"
    assert [g["Name"] for g in desc["GeneratedBy"]] == ["hcp", "brainbucket"]
    root_desc = json.loads((root / "dataset_description.json").read_text())
    assert root_desc["DatasetType"] == "raw"
    assert (_dwi(root, SUBJECT_7T, "7T") / f"sub-{SUBJECT_7T}_ses-7T_dwi.bval").exists()
    assert (_dwi(root, SUBJECT_7T) / f"sub-{SUBJECT_7T}_ses-01_dwi.bval").exists()
    anat = deriv / f"sub-{DWI_SUBJECT}/ses-01/anat"
    assert sorted(p.name for p in anat.iterdir()) == [
        f"sub-{DWI_SUBJECT}_ses-01_desc-aparcaseg_dseg.json",
        f"sub-{DWI_SUBJECT}_ses-01_desc-aparcaseg_dseg.nii.gz",
        f"sub-{DWI_SUBJECT}_ses-01_desc-preproc_T1w.json",
        f"sub-{DWI_SUBJECT}_ses-01_desc-preproc_T1w.nii.gz",
        f"sub-{DWI_SUBJECT}_ses-01_res-1pt25_desc-restore_T1w.json",
        f"sub-{DWI_SUBJECT}_ses-01_res-1pt25_desc-restore_T1w.nii.gz",
    ]
    assert not [p for p in root.rglob("*.bbpart")]


def test_sidecars_hold_the_metadata_bids_requires(fetched: tuple[Path, hcp.FetchResult]) -> None:
    """Derivative images need SkullStripped (masks and segmentations excepted), res- needs
    Resolution: the schema's own sidecar rules say so."""
    from bidsschematools import schema

    rules = schema.load_schema().rules.sidecars.derivatives.common_derivatives
    assert rules.ImageDerivatives.fields["SkullStripped"] == "required"
    assert "Resolution" in rules.ImageDerivativeResEntity.fields
    root, _ = fetched
    deriv = root / "derivatives/hcp"
    images = [p for p in deriv.glob("sub-*/ses-*/*/*.nii.gz")]
    assert len(images) > 5
    for img in images:
        meta = json.loads(img.with_name(img.name.removesuffix(".nii.gz") + ".json").read_text())
        suffix = img.name.removesuffix(".nii.gz").rsplit("_", 1)[-1]
        if suffix not in ("dseg", "mask"):
            assert meta["SkullStripped"] is False, img.name
        if "_res-" in img.name:
            assert meta["Resolution"], img.name
        if suffix == "mask":
            assert meta["Type"] == "Brain"


def test_fetched_dwi_loads_and_matches_its_gradients(fetched: tuple[Path, hcp.FetchResult]) -> None:
    root, _ = fetched
    d = _dwi(root, DWI_SUBJECT)
    img = nib.load(d / f"sub-{DWI_SUBJECT}_ses-01_dwi.nii.gz")
    bvals = np.loadtxt(d / f"sub-{DWI_SUBJECT}_ses-01_dwi.bval")
    bvecs = np.loadtxt(d / f"sub-{DWI_SUBJECT}_ses-01_dwi.bvec")
    assert img.ndim == 4
    assert img.shape[3] == bvals.shape[0] == bvecs.shape[1]
    assert bvecs.shape[0] == 3
    t1 = nib.load(
        root
        / f"derivatives/hcp/sub-{DWI_SUBJECT}/ses-01/anat/sub-{DWI_SUBJECT}_ses-01_desc-preproc_T1w.nii.gz"
    )
    assert t1.ndim == 3


def test_record_lists_key_path_size_and_checksums(fetched: tuple[Path, hcp.FetchResult]) -> None:
    root, result = fetched
    deriv = root / "derivatives/hcp"
    rec = json.loads((deriv / RECORD_NAME).read_text())
    assert rec["bucket"] == "hcp-openaccess"
    assert rec["release"] == "HCP_1200"
    assert set(rec["files"]) == {f.target for f in result.plan.selection.files}
    for target, entry in rec["files"].items():
        data = (deriv / target).read_bytes()
        assert entry["size"] == len(data)
        assert entry["md5"] == hashlib.md5(data).hexdigest() == entry["etag"]
        assert entry["sha256"] == "sha256:" + hashlib.sha256(data).hexdigest()
        assert entry["key"].startswith("HCP_1200/")
    assert hcp.verify(root) == []


def test_refetch_is_a_no_op(fetched: tuple[Path, hcp.FetchResult], hcp_env: dict[str, str]) -> None:
    root, first = fetched
    before = _files(root)
    again = hcp.fetch([DWI_SUBJECT, NO_DWI_SUBJECT, SUBJECT_7T], root, kinds=KINDS, profile="hcp")
    assert again.plan.downloads == []
    assert len(again.plan.up_to_date) == len(first.downloaded)
    assert again.downloaded == []
    assert _files(root) == before


def test_resume_after_interruption(
    fetched: tuple[Path, hcp.FetchResult], hcp_env: dict[str, str]
) -> None:
    """A lost record and a missing file: only the missing file travels again."""
    root, first = fetched
    deriv = root / "derivatives/hcp"
    (deriv / RECORD_NAME).unlink()
    lost = first.downloaded[0][1]
    lost.unlink()
    # A leftover temporary file from a crash is not taken for the real one.
    (lost.parent / f".{lost.name}.dead.bbpart").write_bytes(b"partial")
    plan = plan_fetch(HCP(profile="hcp"), [DWI_SUBJECT, SUBJECT_7T], root, kinds=KINDS)
    assert [p for _, p in plan.downloads] == [lost]
    assert len(plan.adopted) == len(first.downloaded) - 1
    result = execute_fetch(plan)
    assert [p for _, p in result.downloaded] == [lost]
    assert hcp.verify(root) == []


def test_changed_local_file_is_fetched_again(
    fetched: tuple[Path, hcp.FetchResult], hcp_env: dict[str, str], hcp_replica: Replica
) -> None:
    root, first = fetched
    f, path = next(
        (f, p) for f, p in first.downloaded if p.name == f"sub-{DWI_SUBJECT}_ses-01_dwi.bval"
    )
    original = path.read_bytes()
    path.write_bytes(b"x" * len(original))  # same size, other bytes
    problems = hcp.verify(root)
    assert problems == [
        (path.relative_to(root / "derivatives/hcp").as_posix(), "sha256 differs from the record")
    ]
    again = hcp.fetch([DWI_SUBJECT], root, kinds="dwi", profile="hcp")
    assert [p for _, p in again.downloaded] == [path]
    assert path.read_bytes() == original == hcp_replica.objects[f.key]
    assert hcp.verify(root) == []


def test_callbacks_report_bytes_and_files(hcp_env: dict[str, str], tmp_path: Path) -> None:
    seen: list[int] = []
    done: list[tuple[str, Path]] = []

    class Subscriber(Callbacks[HCPFile]):
        def on_progress(self, f: HCPFile, nbytes: int) -> None:
            seen.append(nbytes)

        def on_done(self, f: HCPFile, error: BrainbucketError | None) -> None:
            if error is None:
                done.append((f.key, tmp_path / "derivatives" / "hcp" / f.target))

    result = hcp.fetch([DWI_SUBJECT], tmp_path, kinds="anat", profile="hcp", callbacks=Subscriber())
    assert sum(seen) == result.bytes == sum(f.size for f, _ in result.downloaded) > 0
    assert sorted(done) == sorted((f.key, p) for f, p in result.downloaded)
    assert len(done) == 3


def test_dry_run_writes_nothing(hcp_env: dict[str, str], tmp_path: Path) -> None:
    result = hcp.fetch([DWI_SUBJECT], tmp_path / "out", kinds="dwi", dry_run=True)
    assert len(result.plan.downloads) == 5
    assert result.plan.download_size == result.plan.total_size > 0
    assert not (tmp_path / "out").exists()


def test_object_changed_after_listing_is_refused(
    s3_server,
    bucket: str,
    replica_bodies,
    tmp_path: Path,
    hcp_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bytes must match the listed ETag (MD5): no unverified byte lands under a real name."""
    ours = {
        k: v
        for k, v in replica_bodies.items()
        if k.startswith(f"HCP_1200/{DWI_SUBJECT}/T1w/Diffusion/")
    }
    admin = s3_server.env()
    with monkeypatch.context() as mp:
        for k, v in admin.items():
            mp.setenv(k, v)
        store = open_store(f"s3://{bucket}")
        for key, (body, _) in ours.items():
            store.write_bytes(key, body)
    client = HCP(bucket=bucket, profile="hcp")
    plan = plan_fetch(client, [DWI_SUBJECT], tmp_path / "out", kinds="dwi")
    bvals_key = f"HCP_1200/{DWI_SUBJECT}/T1w/Diffusion/bvals"
    plan.downloads = [(f, p) for f, p in plan.downloads if f.key == bvals_key]
    body = ours[bvals_key][0]
    with monkeypatch.context() as mp:
        for k, v in admin.items():
            mp.setenv(k, v)
        open_store(f"s3://{bucket}").write_bytes(bvals_key, bytes(reversed(body)))  # same size
    with pytest.raises(IntegrityError, match="MD5 does not match the server's ETag"):
        execute_fetch(plan)
    target = plan.downloads[0][1]
    assert not target.exists()
    assert not list(target.parent.glob("*.bbpart"))
    rec = json.loads((tmp_path / "out/derivatives/hcp" / RECORD_NAME).read_text())
    assert rec["files"] == {}


def test_another_release_into_the_same_tree_is_refused(
    fetched: tuple[Path, hcp.FetchResult], hcp_env: dict[str, str]
) -> None:
    root, _ = fetched
    with pytest.raises(UsageError, match="holds hcp-openaccess/HCP_1200"):
        hcp.fetch([DWI_SUBJECT], root, release="HCP_Retest", profile="hcp")


def test_another_release_has_its_own_prefix(
    hcp_env: dict[str, str], tmp_path: Path, hcp_replica: Replica
) -> None:
    assert hcp.subjects("HCP", profile="hcp") == [PLAIN_SUBJECT]
    result = hcp.fetch([PLAIN_SUBJECT], tmp_path, kinds="dwi", release="HCP", profile="hcp")
    assert sorted(f.key for f, _ in result.downloaded) == [
        f"HCP/{PLAIN_SUBJECT}/T1w/Diffusion/{n}" for n in ("bvals", "bvecs", "data.nii.gz")
    ]
    for f, p in result.downloaded:
        assert p.read_bytes() == hcp_replica.objects[f.key]
    rec = json.loads((tmp_path / "derivatives/hcp" / RECORD_NAME).read_text())
    assert rec["release"] == "HCP"
    desc = json.loads((tmp_path / "derivatives/hcp/dataset_description.json").read_text())
    assert desc["SourceDatasets"] == [{"URL": "s3://hcp-openaccess/HCP/"}]


def test_bad_pipeline_name(hcp_env: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="invalid pipeline name"):
        hcp.fetch([DWI_SUBJECT], tmp_path, pipeline="../up", profile="hcp")
    assert list(tmp_path.iterdir()) == []


def test_destination_that_is_a_file(hcp_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "hcp").write_text("not a folder")
    with pytest.raises(UsageError, match="exists and is not a folder"):
        hcp.fetch([DWI_SUBJECT], tmp_path / "hcp", profile="hcp")
    assert (tmp_path / "hcp").read_text() == "not a folder"


def test_verify_without_record(tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFoundError, match="no HCP fetch record"):
        hcp.verify(tmp_path)


def test_verify_reports_missing_files(fetched: tuple[Path, hcp.FetchResult]) -> None:
    root, first = fetched
    _, path = first.downloaded[-1]
    os.unlink(path)
    assert hcp.verify(root) == [(path.relative_to(root / "derivatives/hcp").as_posix(), "missing")]


def test_pybids_finds_one_diffusion_series_per_session(
    fetched: tuple[Path, hcp.FetchResult],
) -> None:
    """How pyAFQ reads the tree: through a pybids layout of the derivative."""
    from bids import BIDSLayout

    root, _ = fetched
    layout = BIDSLayout(root, derivatives=True, validate=False)
    deriv = layout.derivatives.get_pipeline("hcp")
    dwi = deriv.get(subject=SUBJECT_7T, session="01", suffix="dwi", extension=".nii.gz")
    assert [Path(f.path).name for f in dwi] == [f"sub-{SUBJECT_7T}_ses-01_dwi.nii.gz"]
    assert sorted(deriv.get_sessions(subject=SUBJECT_7T)) == ["01", "7T"]
    bval = deriv.get_bval(dwi[0].path)
    assert Path(bval).name == f"sub-{SUBJECT_7T}_ses-01_dwi.bval"
    seg = deriv.get(subject=DWI_SUBJECT, suffix="dseg", desc="aparcaseg", extension=".nii.gz")
    assert len(seg) == 1
    # Selected by pipeline name from the whole dataset, as pyAFQ does.
    scoped = layout.get(
        scope="hcp", subject=DWI_SUBJECT, session="01", suffix="dwi", extension=".nii.gz"
    )
    assert len(scoped) == 1


def test_interrupted_fetch_keeps_what_finished(hcp_env: dict[str, str], tmp_path: Path) -> None:
    """Ctrl-C between two files: what finished is kept, nothing partial, the re-run completes.

    Small files report their bytes once they are in place, so Ctrl-C raised from the third
    report comes after the third file landed but before it was recorded: the state a kill
    between a rename and its record leaves. The next plan verifies that file and adopts it.
    """
    client = HCP(profile="hcp")
    plan = plan_fetch(client, [DWI_SUBJECT], tmp_path, kinds="dwi")
    calls = {"files": 0}

    def on_bytes(n: int) -> None:
        calls["files"] += 1  # every replica file arrives in one chunk
        if calls["files"] == 3:
            raise KeyboardInterrupt  # what Ctrl-C raises

    with pytest.raises(KeyboardInterrupt):
        execute_fetch(plan, jobs=1, callbacks=_Bytes(on_bytes))
    root = tmp_path / "derivatives/hcp"
    rec = json.loads((root / RECORD_NAME).read_text())
    done = [p for _, p in plan.downloads[:2]]
    assert sorted(rec["files"]) == sorted(p.relative_to(root).as_posix() for p in done)
    assert all(p.exists() for p in done)
    # The third file, and any the download thread finished before Ctrl-C reached it.
    landed = [(f, p) for f, p in plan.downloads[2:] if p.exists()]
    assert landed[:1] == plan.downloads[2:3]
    assert not list(tmp_path.rglob("*.bbpart"))
    again = plan_fetch(client, [DWI_SUBJECT], tmp_path, kinds="dwi")
    assert [p for _, p in again.downloads] == [p for _, p in plan.downloads[2:] if not p.exists()]
    assert sorted(again.adopted) == sorted(f.target for f, _ in landed)
    execute_fetch(again)
    assert hcp.verify(tmp_path) == []


@pytest.mark.slow
def test_large_file_resumes_by_range_after_interruption(
    s3_server, bucket: str, tmp_path: Path, hcp_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 65 MiB data.nii.gz stopped after ~20 MiB continues from there, not from zero."""
    big = os.urandom(65 << 20)
    prefix = f"HCP_1200/{DWI_SUBJECT}/T1w/Diffusion/"
    with monkeypatch.context() as mp:
        for k, v in s3_server.env().items():
            mp.setenv(k, v)
        store = open_store(f"s3://{bucket}")
        store.write_bytes(prefix + "data.nii.gz", big)
        store.write_bytes(prefix + "bvals", b"0 1000\n")
        store.write_bytes(prefix + "bvecs", b"0 1\n0 0\n0 0\n")
    client = HCP(bucket=bucket, profile="hcp")
    got = {"bytes": 0}

    def stop_midway(n: int) -> None:
        got["bytes"] += n
        if got["bytes"] >= 20 << 20:
            raise KeyboardInterrupt

    plan = plan_fetch(client, [DWI_SUBJECT], tmp_path, kinds="dwi")
    plan.downloads = [(f, p) for f, p in plan.downloads if f.key.endswith("data.nii.gz")]
    with pytest.raises(KeyboardInterrupt):
        execute_fetch(plan, jobs=1, callbacks=_Bytes(stop_midway))
    target = plan.downloads[0][1]
    assert not target.exists()
    partial = list(target.parent.glob("*.bbpart"))
    assert len(partial) == 1
    kept = partial[0].stat().st_size
    assert 0 < kept < len(big)
    calls: list[int] = []
    again = plan_fetch(client, [DWI_SUBJECT], tmp_path, kinds="dwi")
    again.downloads = [(f, p) for f, p in again.downloads if f.key.endswith("data.nii.gz")]
    result = execute_fetch(again, callbacks=_Bytes(calls.append))
    # Resumed: the kept bytes are counted at once, then only the rest travels.
    assert calls[0] == kept
    assert sum(calls) == len(big)
    assert [p for _, p in result.downloaded] == [target]
    assert target.read_bytes() == big
    data_entry = json.loads((tmp_path / "derivatives/hcp" / RECORD_NAME).read_text())["files"]
    assert data_entry[f"sub-{DWI_SUBJECT}/ses-01/dwi/sub-{DWI_SUBJECT}_ses-01_dwi.nii.gz"][
        "sha256"
    ] == ("sha256:" + hashlib.sha256(big).hexdigest())
    assert not list(tmp_path.rglob("*.bbpart"))
