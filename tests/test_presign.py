"""Presigned URLs pinned to a version, checked by a real server (``store/_presign.py``)."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from brainbucket import open_store
from brainbucket.store import S3Store

KEYS = ["plain.txt", "with space/and+plus=eq.json", "unicodé/ß/ファイル.nii.gz", "a~b_c-d.e"]


@pytest.fixture
def versioned(bucket: str) -> S3Store:
    store = open_store(f"s3://{bucket}/ds")
    assert isinstance(store, S3Store)
    return store


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return bytes(answer.read())


@pytest.mark.parametrize("key", KEYS)
def test_pinned_url_reads_that_version_after_an_overwrite(versioned: S3Store, key: str) -> None:
    first = versioned.write_bytes(key, b"first")
    versioned.write_bytes(key, b"second")
    assert first.version_id
    pinned = versioned._presigner.sign(versioned.key(key), version_id=first.version_id)
    current = versioned._presigner.sign(versioned.key(key))
    assert _get(pinned) == b"first"
    assert _get(current) == b"second"


def test_a_changed_version_or_signature_is_refused(versioned: S3Store) -> None:
    first = versioned.write_bytes("f.txt", b"first")
    second = versioned.write_bytes("f.txt", b"second")
    assert first.version_id
    assert second.version_id
    url = versioned._presigner.sign(versioned.key("f.txt"), version_id=first.version_id)
    for tampered in (
        url.replace(first.version_id, second.version_id),
        url[:-4] + ("0000" if not url.endswith("0000") else "1111"),
    ):
        with pytest.raises(urllib.error.HTTPError) as err:
            _get(tampered)
        err.value.close()
        assert err.value.code == 403
