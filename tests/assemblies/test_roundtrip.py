"""Upload and load real xarray assemblies against the real S3 server."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from brainbucket import (
    AssemblyNotFoundError,
    IntegrityError,
    UsageError,
    load_assembly,
    load_from_s3,
    open_store,
    upload_data_assembly,
)
from brainbucket.assemblies import CATALOG_PATH, read_catalog
from brainbucket.assemblies._netcdf import write_netcdf


def test_xarray_round_trip_keeps_values_and_coords(bucket: str, cache: Path, assembly) -> None:
    url = f"s3://{bucket}/assy"
    rec = upload_data_assembly(assembly, "lab.Study2024.public", store=url)
    assert rec.class_name == "DataArray"
    assert rec.version_id  # buckets made by the fixture are versioned
    assert rec.location == f"s3://{bucket}/assy/{rec.path}"
    assert rec.sha256
    assert rec.sha256.startswith("sha256:")
    loaded = load_assembly("lab.Study2024.public", rec.version_id, rec.sha1, store=url)
    assert isinstance(loaded, xr.DataArray)
    np.testing.assert_array_equal(loaded.values, assembly.values)
    for name in ("stimulus_id", "repetition", "neuroid_id", "region", "time_bin_start"):
        np.testing.assert_array_equal(loaded[name].values, assembly[name].values)
    assert loaded.identical(assembly)  # names, attrs and MultiIndexes too


def test_the_recorded_digests_are_those_of_the_stored_bytes(
    bucket: str, cache: Path, assembly
) -> None:
    url = f"s3://{bucket}"
    rec = upload_data_assembly(assembly, "lab.digests", store=url)
    data = open_store(url).read_bytes(rec.path, version_id=rec.version_id)
    assert hashlib.sha1(data).hexdigest() == rec.sha1
    assert rec.sha256 == "sha256:" + hashlib.sha256(data).hexdigest()
    assert rec.size == len(data)


def test_dataset_round_trip(bucket: str, cache: Path) -> None:
    ds = xr.Dataset(
        {"rates": (("t", "n"), np.arange(6.0).reshape(3, 2)), "ok": ("t", [True, False, True])},
        coords={"t": [0, 10, 20], "n": ["a", "b"]},
    )
    rec = upload_data_assembly(ds, "lab.dataset", store=f"s3://{bucket}")
    assert rec.class_name == "Dataset"
    assert load_assembly("lab.dataset", store=f"s3://{bucket}").identical(ds)


def test_same_data_gives_identical_netcdf_bytes(tmp_path: Path, assembly) -> None:
    a = write_netcdf(assembly, tmp_path / "a.nc").read_bytes()
    b = write_netcdf(assembly.copy(deep=True), tmp_path / "b.nc").read_bytes()
    assert a == b
    changed = assembly.copy(deep=True)
    changed[0, 0, 0] += 1
    assert write_netcdf(changed, tmp_path / "c.nc").read_bytes() != a


def test_two_versions_load_by_version_id(bucket: str, cache: Path, assembly) -> None:
    url = f"s3://{bucket}/assy"
    v1 = upload_data_assembly(assembly, "lab.twice", store=url)
    second = assembly.copy(deep=True) * 2
    v2 = upload_data_assembly(second, "lab.twice", store=url)
    assert v1.version_id != v2.version_id
    assert v1.sha1 != v2.sha1
    assert v1.path == v2.path  # one key, two S3 versions
    assert load_assembly("lab.twice", v1.version_id, store=url).identical(assembly)
    assert load_assembly("lab.twice", v2.version_id, store=url).identical(second)
    assert load_assembly("lab.twice", store=url).identical(second)  # newest by default
    assert [r.version_id for r in read_catalog(open_store(url)).versions("lab.twice")] == [
        v1.version_id,
        v2.version_id,
    ]


def test_identical_bytes_do_not_make_a_new_version(bucket: str, cache: Path, assembly) -> None:
    url = f"s3://{bucket}"
    first = upload_data_assembly(assembly, "lab.same", store=url)
    again = upload_data_assembly(assembly.copy(deep=True), "lab.same", store=url)
    assert again == first
    assert len(open_store(url).versions(first.path)) == 1
    assert len(read_catalog(open_store(url)).versions("lab.same")) == 1


def test_wrong_sha1_is_an_integrity_error_and_nothing_is_cached(
    bucket: str, cache: Path, assembly, files_under
) -> None:
    url = f"s3://{bucket}"
    rec = upload_data_assembly(assembly, "lab.sha", store=url)
    with pytest.raises(IntegrityError, match="sha1"):
        load_from_s3("lab.sha", rec.version_id, "0" * 40, store=url)
    with pytest.raises(IntegrityError, match="no version"):
        load_from_s3("lab.sha", sha1="f" * 40, store=url)
    assert files_under(cache) == []


def test_bytes_that_do_not_match_the_catalog_are_not_kept(
    bucket: str, cache: Path, assembly, files_under
) -> None:
    """A catalog whose sha1 does not describe the stored bytes: the download is refused."""
    url = f"s3://{bucket}"
    store = open_store(url)
    rec = upload_data_assembly(assembly, "lab.lies", store=url)
    raw = store.read_bytes(CATALOG_PATH).replace(rec.sha1.encode(), b"1" * 40)
    store.write_bytes(CATALOG_PATH, raw)
    with pytest.raises(IntegrityError, match="sha1"):
        load_from_s3("lab.lies", rec.version_id, store=url)
    assert files_under(cache) == []  # no file under a real name, no temporary left either


def test_cached_version_loads_without_the_network(
    bucket: str, cache: Path, assembly, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"s3://{bucket}"
    rec = upload_data_assembly(assembly, "lab.cached", store=url)
    first = load_from_s3("lab.cached", rec.version_id, rec.sha1, store=url)
    # Point every client at a port where nothing listens: any request would fail.
    monkeypatch.setenv("BRAINBUCKET_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    again = load_from_s3("lab.cached", rec.version_id, rec.sha1, store=url)
    assert again == first
    assert load_from_s3("lab.cached", version_id=rec.version_id, store=url) == first
    assert load_from_s3("lab.cached", sha1=rec.sha1, store=url) == first
    assert load_assembly("lab.cached", rec.version_id, store=url).identical(assembly)


def test_unknown_identifier_and_version_list_what_exists(
    bucket: str, cache: Path, assembly
) -> None:
    url = f"s3://{bucket}"
    with pytest.raises(AssemblyNotFoundError, match="no assembly catalog"):
        load_from_s3("lab.nothing", store=url)
    rec = upload_data_assembly(assembly, "lab.exists", store=url)
    with pytest.raises(AssemblyNotFoundError, match=r"lab\.exists") as info:
        load_from_s3("lab.missing", store=url)
    assert info.value.known == ["lab.exists"]
    assert info.value.exit_code == 3
    with pytest.raises(AssemblyNotFoundError, match=str(rec.version_id)) as info:
        load_from_s3("lab.exists", version_id="no-such-version", store=url)
    assert info.value.known == [rec.version_id]
    assert isinstance(info.value, FileNotFoundError)


def test_unversioned_bucket_keeps_every_version_under_its_own_key(
    s3_env: dict[str, str], cache: Path, assembly
) -> None:
    import uuid

    name = f"unv-{uuid.uuid4().hex[:10]}"
    store = open_store(f"s3://{name}")
    store.create_bucket(versioning=False)  # type: ignore[attr-defined]
    url = f"s3://{name}/data"
    v1 = upload_data_assembly(assembly, "lab.unversioned", store=url)
    v2 = upload_data_assembly(assembly * 3, "lab.unversioned", store=url)
    assert v1.version_id is None
    assert v2.version_id is None
    assert v1.path != v2.path
    assert load_assembly("lab.unversioned", sha1=v1.sha1, store=url).identical(assembly)
    assert load_assembly("lab.unversioned", store=url).identical(assembly * 3)


def test_any_file_can_be_an_assembly(bucket: str, cache: Path, tmp_path: Path) -> None:
    src = tmp_path / "stimuli.csv"
    src.write_text("stimulus_id,label\nimg00,face\nimg01,car\n")
    url = f"s3://{bucket}/stimuli"
    rec = upload_data_assembly(src, "lab.stimuli", store=url, class_name="StimulusSet")
    assert (rec.class_name, rec.kind, rec.path) == (
        "StimulusSet",
        "file",
        "assemblies/lab.stimuli/lab.stimuli.csv",
    )
    path = load_from_s3("lab.stimuli", rec.version_id, rec.sha1, store=url)
    assert path.read_bytes() == src.read_bytes()
    with pytest.raises(UsageError, match="not netCDF"):
        load_assembly("lab.stimuli", store=url)


def test_local_folder_store(tmp_path: Path, cache: Path, assembly) -> None:
    where = tmp_path / "assemblies-store"
    rec = upload_data_assembly(assembly, "lab.local", store=where)
    assert rec.version_id is None
    assert load_assembly("lab.local", sha1=rec.sha1, store=where).identical(assembly)


@pytest.mark.parametrize("bad", ["", "a/b", "../x", "a..b", "-lead", "sp ace", "x" * 201])
def test_bad_identifiers_are_refused(tmp_path: Path, bad: str, assembly) -> None:
    with pytest.raises(UsageError, match="identifier"):
        upload_data_assembly(assembly, bad, store=tmp_path)
    with pytest.raises(UsageError, match="identifier"):
        load_from_s3(bad, store=tmp_path)


def test_bad_inputs(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="cannot upload a dict"):
        upload_data_assembly({"a": 1}, "lab.dict", store=tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        upload_data_assembly(tmp_path / "missing.nc", "lab.missing", store=tmp_path)
    monkeypatch.delenv("BRAINBUCKET_STORE", raising=False)
    with pytest.raises(UsageError, match="no assembly store") as info:
        load_from_s3("lab.x")
    assert "BRAINBUCKET_STORE" in (info.value.hint or "")


def test_store_defaults_to_brainbucket_store(
    bucket: str, cache: Path, assembly, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRAINBUCKET_STORE", f"s3://{bucket}/default")
    rec = upload_data_assembly(assembly, "lab.default")
    assert rec.location.startswith(f"s3://{bucket}/default/")
    assert load_assembly("lab.default", rec.version_id).identical(assembly)


def test_offline_mode_answers_from_the_cache_only(
    tmp_path: Path, cache: Path, assembly, monkeypatch: pytest.MonkeyPatch
) -> None:
    from brainbucket import OfflineError

    where = tmp_path / "s"
    rec = upload_data_assembly(assembly, "lab.offline", store=where)
    monkeypatch.setenv("BRAINBUCKET_OFFLINE", "1")
    with pytest.raises(OfflineError):
        load_from_s3("lab.offline", store=where)
    monkeypatch.delenv("BRAINBUCKET_OFFLINE")
    path = load_from_s3("lab.offline", store=where)
    monkeypatch.setenv("BRAINBUCKET_OFFLINE", "1")
    assert load_from_s3("lab.offline", store=where) == path
    assert load_from_s3("lab.offline", sha1=rec.sha1, store=where) == path


def test_verify_rehashes_a_damaged_cache_copy(tmp_path: Path, cache: Path, assembly) -> None:
    where = tmp_path / "s"
    rec = upload_data_assembly(assembly, "lab.damaged", store=where)
    path = load_from_s3("lab.damaged", sha1=rec.sha1, store=where)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))  # same size: only a re-hash notices
    again = load_from_s3("lab.damaged", sha1=rec.sha1, store=where, verify=True)
    assert hashlib.sha1(again.read_bytes()).hexdigest() == rec.sha1
