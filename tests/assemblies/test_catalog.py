"""The shared catalog: concurrent writers, damage, BrainIO CSV, identities."""

from __future__ import annotations

import csv
import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from brainbucket import (
    AccessDeniedError,
    ConflictError,
    ManifestError,
    load_assembly,
    open_store,
    upload_data_assembly,
)
from brainbucket.assemblies import (
    BRAINIO_COLUMNS,
    CATALOG_PATH,
    export_brainio_csv,
    import_brainio_csv,
    load_from_s3,
    read_catalog,
    update_catalog,
)


def test_concurrent_uploads_all_survive(bucket: str, cache: Path, assembly) -> None:
    url = f"s3://{bucket}/shared"
    n = 8
    start = threading.Barrier(n)

    def one(i: int):  # type: ignore[no-untyped-def]
        start.wait()
        # Half share one identifier (new versions of it), half each have their own.
        ident = "lab.together" if i % 2 else f"lab.alone{i}"
        return upload_data_assembly(assembly + i, ident, store=open_store(url))

    with ThreadPoolExecutor(n) as pool:
        records = list(pool.map(one, range(n)))
    catalog = read_catalog(open_store(url))
    assert sorted(catalog.identifiers()) == sorted({r.identifier for r in records})
    stored = {(r.identifier, r.sha1, r.version_id) for r in catalog}
    assert stored == {(r.identifier, r.sha1, r.version_id) for r in records}
    assert len(catalog.versions("lab.together")) == n // 2
    for i, r in enumerate(records):
        assert load_assembly(r.identifier, r.version_id, r.sha1, store=url).identical(assembly + i)


def test_conditional_writes_retry_after_a_lost_race(tmp_path: Path, bucket: str) -> None:
    """A writer whose ETag went stale re-reads and re-applies its change."""
    store = open_store(f"s3://{bucket}")
    calls: list[int] = []

    def change(catalog):  # type: ignore[no-untyped-def]
        calls.append(len(calls))
        if len(calls) == 1:
            # Someone else writes between our read and our conditional write.
            update_catalog(
                open_store(f"s3://{bucket}"), lambda c: c.entries.setdefault("x.other", [])
            )
        catalog.entries.setdefault("x.mine", [])
        return len(calls)

    assert update_catalog(store, change) == 2
    assert len(calls) == 2


def test_gives_up_after_bounded_attempts(bucket: str) -> None:
    store = open_store(f"s3://{bucket}")
    store.write_bytes(CATALOG_PATH, read_catalog(store).to_bytes())

    writes = iter(range(1, 100))

    def always_interfere(catalog):  # type: ignore[no-untyped-def]
        # Different bytes each time, so the ETag the caller read is always stale.
        store.write_bytes(CATALOG_PATH, catalog.to_bytes() + b" " * next(writes))

    with pytest.raises(ConflictError, match="gave up after 3 attempts"):
        update_catalog(store, always_interfere, attempts=3, sleep=lambda s: None)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b'{"format": "brainbucket.assembly-catalog", "format_ver', "not valid JSON"),
        (b"[1, 2, 3]", "not a brainbucket assembly catalog"),
        (
            b'{"format": "brainbucket.assembly-catalog", "format_version": 99, "assemblies": {}}',
            "not supported",
        ),
        (
            b'{"format": "brainbucket.assembly-catalog", "format_version": 1, "assemblies": {"a.b": [{"identifier": "a.b"}]}}',
            "malformed",
        ),
        (
            b'{"format": "brainbucket.assembly-catalog", "format_version": 1, "assemblies": {"a.b": [{"identifier": "a.b", "location": "x", "sha1": "nothex"}]}}',
            "bad sha1",
        ),
    ],
)
def test_malformed_catalog_is_a_manifest_error(
    tmp_path: Path, cache: Path, content: bytes, match: str, assembly
) -> None:
    store = open_store(tmp_path)
    store.write_bytes(CATALOG_PATH, content)
    with pytest.raises(ManifestError, match=match) as info:
        load_from_s3("a.b", store=store)
    assert info.value.exit_code == 8
    with pytest.raises(ManifestError):
        upload_data_assembly(assembly, "a.b", store=store)
    assert store.read_bytes(CATALOG_PATH) == content  # a damaged catalog is never overwritten


def test_readonly_identity_loads_but_cannot_upload(
    bucket: str, cache: Path, assembly, as_identity
) -> None:
    url = f"s3://{bucket}/ro"
    rec = upload_data_assembly(assembly, "lab.ro", store=url)
    before = open_store(url).read_bytes(CATALOG_PATH)
    as_identity("readonly")
    assert load_assembly("lab.ro", rec.version_id, rec.sha1, store=url).identical(assembly)
    with pytest.raises(AccessDeniedError, match="may not upload") as info:
        upload_data_assembly(assembly * 2, "lab.ro", store=url)
    assert info.value.exit_code == 4
    assert "doctor" in (info.value.hint or "")
    as_identity("admin")
    assert open_store(url).read_bytes(CATALOG_PATH) == before


def test_brainio_csv_round_trip(bucket: str, cache: Path, assembly, tmp_path: Path) -> None:
    url = f"s3://{bucket}/a"
    rec = upload_data_assembly(
        assembly,
        "lab.csv",
        store=url,
        class_name="NeuronRecordingAssembly",
        stimulus_set_identifier="lab.images",
    )
    text = export_brainio_csv(open_store(url), tmp_path / "lookup.csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == BRAINIO_COLUMNS
    assert rows == [
        {
            "identifier": "lab.csv",
            "lookup_type": "assembly",
            "class": "NeuronRecordingAssembly",
            "location_type": "S3",
            "location": rec.location,
            "sha1": rec.sha1,
            "stimulus_set_identifier": "lab.images",
        }
    ]
    # Move the catalog to another prefix of the same bucket: the data stays where it is.
    other = open_store(f"s3://{bucket}")
    added = import_brainio_csv(other, tmp_path / "lookup.csv")
    assert [(r.identifier, r.sha1, r.path) for r in added] == [
        ("lab.csv", rec.sha1, f"a/{rec.path}")
    ]
    assert import_brainio_csv(other, tmp_path / "lookup.csv") == []  # idempotent
    assert load_assembly("lab.csv", sha1=rec.sha1, store=other).identical(assembly)


def test_brainio_csv_with_foreign_locations(tmp_path: Path, bucket: str, cache: Path) -> None:
    src = tmp_path / "brainio.csv"
    src.write_text(
        ",".join(BRAINIO_COLUMNS) + "\n"
        f"dicarlo.Demo2015.public,assembly,NeuronRecordingAssembly,S3,"
        f"https://{bucket}.s3.amazonaws.com/assy_dicarlo_Demo2015_public.nc,{'a' * 40},dicarlo.demo\n"
        f"elsewhere.x,assembly,DataAssembly,S3,https://other.s3.amazonaws.com/x.nc,{'b' * 40},\n"
    )
    added = import_brainio_csv(open_store(f"s3://{bucket}"), src)
    assert [(r.identifier, r.path, r.kind) for r in added] == [
        ("dicarlo.Demo2015.public", "assy_dicarlo_Demo2015_public.nc", "netcdf"),
        ("elsewhere.x", None, "netcdf"),
    ]
    from brainbucket import UsageError

    with pytest.raises(UsageError, match="outside this store"):
        load_from_s3("elsewhere.x", store=f"s3://{bucket}")


def test_csv_without_brainio_columns_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "x.csv"
    src.write_text("name,value\na,1\n")
    with pytest.raises(ManifestError, match="missing columns"):
        import_brainio_csv(open_store(tmp_path / "s"), src)


@pytest.mark.slow  # three interpreters start and import the stack: ~5 s idle, far more on a busy machine
def test_concurrent_uploads_from_separate_processes(
    bucket: str, tmp_path: Path, assembly, s3_env: dict[str, str]
) -> None:
    """Two `brainbucket assembly upload` processes race on one catalog; both versions stay."""
    import os
    import subprocess
    import sys

    from brainbucket.assemblies._netcdf import write_netcdf

    store = f"s3://{bucket}/procs"
    files = [write_netcdf(assembly + i, tmp_path / f"v{i}.nc") for i in range(3)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[2] / "src"), env.get("PYTHONPATH", "")]
    )
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "brainbucket",
                "assembly",
                "upload",
                str(f),
                "lab.procs",
                "--store",
                store,
                "--json",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in files
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [o[1] for o in outs]
    uploaded = {json.loads(o[0])["version_id"] for o in outs}
    catalog = read_catalog(open_store(store))
    assert {r.version_id for r in catalog.versions("lab.procs")} == uploaded
    assert len(uploaded) == 3


def test_missing_bucket_is_named(s3_env: dict[str, str], cache: Path, assembly) -> None:
    from brainbucket import BucketNotFoundError

    with pytest.raises(BucketNotFoundError):
        upload_data_assembly(assembly, "lab.nobucket", store="s3://no-such-bucket-for-assy/x")
    with pytest.raises(BucketNotFoundError):
        load_from_s3("lab.nobucket", store="s3://no-such-bucket-for-assy/x")
