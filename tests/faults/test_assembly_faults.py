"""Data assemblies under faults: flaky network, changed objects, damaged catalogs, kills."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from brainbucket import IntegrityError, ManifestError, open_store
from brainbucket.assemblies import CATALOG_PATH, fetch_assembly, upload_data_assembly
from brainbucket.cli import run
from brainbucket.store import S3Store

from ._helpers import kill_at, temporaries
from .proxy import Fault, FaultProxy


@pytest.fixture
def payload(tmp_path: Path) -> Path:
    """A 3 MiB file standing in for an assembly (any file is a valid assembly)."""
    path = tmp_path / "rates.bin"
    path.write_bytes(os.urandom(3 * 1024 * 1024))
    return path


def _cache_files(cache: Path) -> dict[str, bytes]:
    return {
        p.relative_to(cache).as_posix(): p.read_bytes()
        for p in cache.rglob("*")
        if p.is_file() and p.name != "record.json"
    }


def test_upload_and_load_through_faults(
    proxy: FaultProxy, root_url: str, payload: Path, tmp_path: Path
) -> None:
    proxy.add(
        Fault("lose", method="PUT", path="catalog", first=1),
        Fault("status", method="PUT", first=2, status=503, code="SlowDown"),
        Fault("cut", method="GET", path="rates", first=2, after_bytes=500_000),
        Fault("drop", method="GET", path="catalog", first=1),
    )
    rec = upload_data_assembly(payload, "lab.rates", store=root_url, endpoint_url=proxy.url)
    cache = tmp_path / "cache"
    got = fetch_assembly(
        "lab.rates",
        rec.version_id,
        rec.sha1,
        store=root_url,
        endpoint_url=proxy.url,
        cache_dir=cache,
    )
    assert not got.from_cache
    assert got.path.read_bytes() == payload.read_bytes()
    assert {r.action for r in proxy.injected()} >= {"lose", "status", "cut", "drop"}
    assert temporaries(cache) == []


def test_changed_object_is_refused_and_not_cached(
    plain_bucket: str,
    s3_env: dict[str, str],
    payload: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"s3://{plain_bucket}/{uuid.uuid4().hex[:8]}"
    rec = upload_data_assembly(payload, "lab.rates", store=url)
    store = open_store(url)
    assert isinstance(store, S3Store)
    data = bytearray(store.read_bytes(rec.path))
    data[1000] ^= 0xFF
    store.client.put_object(Bucket=store.bucket, Key=store.key(rec.path), Body=bytes(data))
    cache = tmp_path / "cache"
    with pytest.raises(IntegrityError):
        fetch_assembly("lab.rates", sha1=rec.sha1, store=url, cache_dir=cache)
    assert not cache.exists() or _cache_files(cache) == {}
    code = run(["assembly", "load", "lab.rates", "--sha1", rec.sha1, "--store", url])
    err = capsys.readouterr().err
    assert code == IntegrityError.exit_code
    assert "Traceback" not in err


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_damaged_catalog_is_a_clear_error(
    damage: str, root_url: str, payload: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upload_data_assembly(payload, "lab.rates", store=root_url)
    store = open_store(root_url)
    blob = store.read_bytes(CATALOG_PATH)
    bad = {"truncated": blob[: len(blob) // 2], "garbage": b"\x00\xff{{", "empty": b""}[damage]
    store.write_bytes(CATALOG_PATH, bad)
    with pytest.raises(ManifestError):
        fetch_assembly("lab.rates", store=root_url, cache_dir=tmp_path / "cache")
    code = run(["assembly", "load", "lab.rates", "--store", root_url])
    err = capsys.readouterr().err
    assert code == ManifestError.exit_code, err
    assert err.strip().startswith("error:")
    # Uploading onto a damaged catalog stops too, rather than replacing it.
    with pytest.raises(ManifestError):
        upload_data_assembly(payload, "lab.other", store=root_url)


_LOAD = """
import os, sys
from brainbucket.assemblies import fetch_assembly
fetch_assembly("lab.rates", sha1=sys.argv[1], store=sys.argv[2], endpoint_url=sys.argv[3],
               cache_dir=sys.argv[4])
os._exit(0)
"""


def test_load_killed_midway_then_rerun(
    proxy: FaultProxy, root_url: str, payload: Path, tmp_path: Path
) -> None:
    rec = upload_data_assembly(payload, "lab.rates", store=root_url)
    cache = tmp_path / "cache"
    proxy.add(Fault("cut", method="GET", path="rates", after_bytes=1_000_000, seconds=120))
    child = subprocess.Popen(
        [sys.executable, "-c", _LOAD, rec.sha1, root_url, proxy.url, str(cache)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    kill_at(proxy, "cut", child, settle=1.5)
    # Killed with a megabyte written: nothing under a real name, no record of a version.
    assert temporaries(cache), "the kill should come while the download is being written"
    assert all(p.endswith(".bbpart") for p in _cache_files(cache))
    assert not list(cache.rglob("record.json"))
    proxy.clear()
    got = fetch_assembly("lab.rates", sha1=rec.sha1, store=root_url, cache_dir=cache)
    assert got.path.read_bytes() == payload.read_bytes()
    again = fetch_assembly("lab.rates", sha1=rec.sha1, store=root_url, cache_dir=cache)
    assert again.from_cache
