"""A replica of the HCP open-access bucket on the test server, and AWS profiles to read it.

Keys, sizes and MD5s are real (from the corpus manifest's subset in ``tests/data``); bodies are
tiny, with the real size and MD5 kept as object metadata. Subject 100206's diffusion bodies are
real DWI data (dipy's small_101D) so fetched results load with nibabel; its T1w is a real NIfTI
(nibabel's).
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import os
import re
from pathlib import Path

import obstore
import pytest
from hcp_replica import (
    ANAT,
    BUCKET,
    DWI_SUBJECT,
    MNI,
    OTHER_T1W,
    PLAIN_SUBJECT,
    SUBJECTS,
    Replica,
)

from brainbucket import open_store
from brainbucket.server import LocalServer
from brainbucket.store import S3Store


def _tiny(key: str) -> bytes:
    return f"replica of s3://{BUCKET}/{key}\n".encode()


def replica_objects(
    manifest: Path, nifti: dict[str, Path]
) -> dict[str, tuple[bytes, dict[str, str]]]:
    """key → (body, metadata): every key of the replica's subjects, one key of every other.

    ``manifest`` is the corpus manifest or its subset in ``tests/data`` (which holds just those
    rows, see ``tests/data/make_subset.py``): both give the same replica.
    """
    out: dict[str, tuple[bytes, dict[str, str]]] = {}
    seen: set[str] = set()
    with open(manifest, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            subject = row["s3_key"].split("/")[1]
            if subject in SUBJECTS or subject not in seen:
                meta = {"hcp-size": row["size"], "hcp-md5": row["md5"]}
                out[row["s3_key"]] = (_tiny(row["s3_key"]), meta)
                seen.add(subject)
    for s in SUBJECTS:
        for rel in (*ANAT, *OTHER_T1W):
            key = f"HCP_1200/{s}/{rel.format(s=s)}"
            out[key] = (_tiny(key), {})
    for rel in MNI:
        key = f"HCP_1200/{DWI_SUBJECT}/{rel}"
        out[key] = (_tiny(key), {})
    # The older 900-subject release, under its own prefix, for one subject.
    for name in ("data.nii.gz", "bvals", "bvecs"):
        key = f"HCP/{PLAIN_SUBJECT}/T1w/Diffusion/{name}"
        out[key] = (_tiny(key), {})
    real = {
        "T1w/Diffusion/data.nii.gz": nifti["dwi"].read_bytes(),
        "T1w/Diffusion/bvals": nifti["bval"].read_bytes(),
        "T1w/Diffusion/bvecs": nifti["bvec"].read_bytes(),
        "T1w/T1w_acpc_dc.nii.gz": gzip.compress(nifti["t1w"].read_bytes(), mtime=0),
    }
    for rel, body in real.items():
        key = f"HCP_1200/{DWI_SUBJECT}/{rel}"
        out[key] = (body, out[key][1])
    return out


def populate(bucket: str, objects: dict[str, tuple[bytes, dict[str, str]]]) -> None:
    store = open_store(f"s3://{bucket}")
    assert isinstance(store, S3Store)
    store.create_bucket(versioning=False)
    sem = asyncio.Semaphore(64)

    async def put(key: str, body: bytes, meta: dict[str, str]) -> None:
        async with sem:
            await obstore.put_async(store.obs, key, body, attributes=meta or None)  # type: ignore[arg-type]

    async def main() -> None:
        await asyncio.gather(*(put(k, b, m) for k, (b, m) in objects.items()))

    asyncio.run(main())


def _nifti() -> dict[str, Path]:
    import dipy.data
    import nibabel.testing

    dipy_files = Path(dipy.data.__file__).parent / "files"
    return {
        "t1w": Path(nibabel.testing.data_path) / "anatomical.nii",
        "dwi": dipy_files / "small_101D.nii.gz",
        "bval": dipy_files / "small_101D.bval",
        "bvec": dipy_files / "small_101D.bvec",
    }


@pytest.fixture(scope="session")
def replica_bodies(data_dir: Path) -> dict[str, tuple[bytes, dict[str, str]]]:
    return replica_objects(data_dir / "hcp1200_sc_manifest-subset.tsv", _nifti())


@pytest.fixture(scope="session")
def hcp_replica(
    s3_server: LocalServer, replica_bodies: dict[str, tuple[bytes, dict[str, str]]]
) -> Replica:
    """The ``hcp-openaccess`` replica, written once per session as admin."""
    with pytest.MonkeyPatch.context() as mp:
        for k, v in s3_server.env().items():
            mp.setenv(k, v)
        populate(BUCKET, replica_bodies)
    ids = sorted({k.split("/")[1] for k in replica_bodies if k.startswith("HCP_1200/")})
    return Replica(BUCKET, {k: body for k, (body, _) in replica_bodies.items()}, ids)


@pytest.fixture(scope="session")
def aws_files(
    s3_server: LocalServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """AWS config and credentials files: profile ``hcp`` (read-only keys), ``wrong`` (bad keys)."""
    home = tmp_path_factory.mktemp("hcp-aws")
    ro = s3_server.identity("readonly")
    config = home / "config"
    config.write_text("[profile hcp]\nregion = us-east-1\n\n[profile wrong]\nregion = us-east-1\n")
    creds = home / "credentials"
    creds.write_text(
        f"[hcp]\naws_access_key_id = {ro.access_key}\naws_secret_access_key = {ro.secret_key}\n\n"
        "[wrong]\naws_access_key_id = AKIAWRONGWRONGWRONG0\n"
        "aws_secret_access_key = wrongwrongwrongwrongwrongwrongwrongwrong\n"
    )
    return config, creds


@pytest.fixture
def hcp_env(
    s3_server: LocalServer,
    hcp_replica: Replica,
    aws_files: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """Environment of an HCP user: profiles in AWS files, no keys in the environment."""
    for k in list(os.environ):
        if k.startswith("AWS_") or k == "BRAINBUCKET_ENDPOINT_URL":
            monkeypatch.delenv(k)
    env = {
        "AWS_CONFIG_FILE": str(aws_files[0]),
        "AWS_SHARED_CREDENTIALS_FILE": str(aws_files[1]),
        "AWS_EC2_METADATA_DISABLED": "true",
        "BRAINBUCKET_ENDPOINT_URL": s3_server.endpoint_url,
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


@pytest.fixture
def no_profile_env(
    hcp_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An HCP user who has not run `aws configure` yet."""
    (tmp_path / "empty").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "empty"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "empty"))


def _bids_problems(root: Path) -> list[str]:
    """Files under ``root`` (a BIDS dataset) that no rule of the official schema accepts.

    bidsschematools' validator only knows raw-data rules, so derivative rules are added here.
    """
    from bidsschematools import rules, schema

    s = schema.load_schema()
    regexes = []
    for group in (s.rules.files.common, s.rules.files.raw, s.rules.files.deriv):
        regexes += [
            re.compile(r"(?:.*/)?" + r["regex"])
            for r in rules.regexify_filename_rules(group, s, level=2)
        ]
    bad = []
    for path in sorted(root.rglob("*")):
        rel = "/" + path.relative_to(root).as_posix()
        if path.is_dir() or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if not any(r.match(rel) for r in regexes):
            bad.append(rel)
    return bad


@pytest.fixture(scope="session")
def bids_problems():
    """``bids_problems(root)`` → files no BIDS schema rule accepts (raw, common or derivative)."""
    return _bids_problems
