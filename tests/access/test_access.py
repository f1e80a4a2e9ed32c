"""Public vs private, against the real server's identities and its policy enforcement."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from brainbucket import (
    BucketNotFoundError,
    NoCredentialsError,
    ObjectNotFoundError,
    UsageError,
    load_assembly,
    open_store,
    upload_data_assembly,
)
from brainbucket.access import doctor, is_public, publish, share, unpublish
from brainbucket.assemblies import demo


def _policy(bucket: str) -> dict:
    client = open_store(f"s3://{bucket}").client  # type: ignore[attr-defined]
    try:
        return json.loads(client.get_bucket_policy(Bucket=bucket)["Policy"])
    except client.exceptions.ClientError:
        return {"Statement": []}


def test_anonymous_load_follows_publish_and_unpublish(
    bucket: str, cache: Path, assembly, as_identity, files_under
) -> None:
    url = f"s3://{bucket}/lab/assemblies"
    rec = upload_data_assembly(assembly, "lab.pub", store=url)

    as_identity(None)  # no credentials anywhere: requests go unsigned
    with pytest.raises(NoCredentialsError) as info:
        load_assembly("lab.pub", rec.version_id, rec.sha1, store=url)
    assert "private: credentials required — pass --profile or set AWS_PROFILE" in str(info.value)
    assert "\n" not in str(info.value)
    assert files_under(cache) == []

    as_identity("admin")
    assert publish(url).public
    as_identity(None)
    loaded = load_assembly("lab.pub", rec.version_id, rec.sha1, store=url, cache_dir=cache / "1")
    assert loaded.identical(assembly)

    as_identity("admin")
    assert not unpublish(url).public
    as_identity(None)
    with pytest.raises(NoCredentialsError, match="private: credentials required"):
        load_assembly("lab.pub", rec.version_id, rec.sha1, store=url, cache_dir=cache / "2")


def test_publish_covers_only_its_prefix(bucket: str, as_identity) -> None:
    store = open_store(f"s3://{bucket}")
    store.write_bytes("open/a.txt", b"a")
    store.write_bytes("closed/b.txt", b"b")
    status = publish(f"s3://{bucket}/open")
    assert (status.public, status.listable) == (True, True)
    assert len(status.statements) == 2
    assert not is_public(f"s3://{bucket}/closed").public
    as_identity(None)
    anon = open_store(f"s3://{bucket}/open", anon=True)
    assert [o.path for o in anon.walk()] == ["a.txt"]
    with pytest.raises(NoCredentialsError):
        open_store(f"s3://{bucket}/closed", anon=True).read_bytes("b.txt")
    with pytest.raises(NoCredentialsError):
        list(open_store(f"s3://{bucket}", anon=True).walk())


def test_publish_keeps_other_statements(bucket: str) -> None:
    client = open_store(f"s3://{bucket}").client  # type: ignore[attr-defined]
    foreign = {
        "Sid": "SomeoneElses",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/shared-by-hand/*",
    }
    client.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [foreign]})
    )
    publish(f"s3://{bucket}/one")
    publish(f"s3://{bucket}/one")  # twice: no duplicate statements
    publish(f"s3://{bucket}/two")
    sids = [s["Sid"] for s in _policy(bucket)["Statement"]]
    assert sids[0] == "SomeoneElses"
    assert len(sids) == 5
    assert len(set(sids)) == 5
    unpublish(f"s3://{bucket}/one")
    assert len(_policy(bucket)["Statement"]) == 3
    unpublish(f"s3://{bucket}/two")
    assert [s["Sid"] for s in _policy(bucket)["Statement"]] == ["SomeoneElses"]


def test_unpublish_of_the_last_prefix_removes_the_policy(bucket: str) -> None:
    publish(f"s3://{bucket}/x")
    unpublish(f"s3://{bucket}/x")
    client = open_store(f"s3://{bucket}").client  # type: ignore[attr-defined]
    with pytest.raises(client.exceptions.ClientError, match="NoSuchBucketPolicy"):
        client.get_bucket_policy(Bucket=bucket)
    assert not unpublish(f"s3://{bucket}/never-published").public


def test_publish_needs_rights_and_a_bucket(bucket: str, as_identity) -> None:
    from brainbucket import AccessDeniedError

    with pytest.raises(BucketNotFoundError):
        publish("s3://no-such-bucket-here/x")
    with pytest.raises(UsageError, match="only S3"):
        publish("/tmp/somewhere")
    as_identity("readonly")
    with pytest.raises(AccessDeniedError):
        publish(f"s3://{bucket}/x")


def test_presigned_url_works_until_it_expires(bucket: str) -> None:
    store = open_store(f"s3://{bucket}")
    store.write_bytes("sub-01/anat/sub-01_T1w.json", b'{"RepetitionTime": 2.3}')
    link = share(f"s3://{bucket}/sub-01/anat/sub-01_T1w.json", "2s")
    with urllib.request.urlopen(link, timeout=10) as r:
        assert r.read() == b'{"RepetitionTime": 2.3}'
    time.sleep(3.5)  # past the expiry (the server's clock has one-second resolution)
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(link, timeout=10)
    info.value.close()
    assert info.value.code == 403


def test_share_refuses_bad_requests(bucket: str) -> None:
    with pytest.raises(ObjectNotFoundError):
        share(f"s3://{bucket}/missing.txt")
    for bad in ("0s", "8d", "soon", "-1h"):
        with pytest.raises(UsageError, match=r"duration|between"):
            share(f"s3://{bucket}/x", bad)
    with pytest.raises(UsageError, match="one object"):
        share(f"s3://{bucket}/folder/")
    with pytest.raises(UsageError, match="only S3"):
        share("/tmp/x.txt")


def test_doctor_reports_who_and_what(bucket: str, s3_server, s3_env: dict[str, str]) -> None:
    report = doctor(f"s3://{bucket}/data")
    assert report.ok, report.failed
    assert report.endpoint == s3_server.endpoint_url
    assert report.credential_source == "env"
    assert report.access_key_id == s3_env["AWS_ACCESS_KEY_ID"]
    assert report.identity
    assert report.identity.endswith("admin")
    assert (report.bucket_exists, report.versioned, report.public) == (True, True, False)
    text = json.dumps(report.to_dict())
    assert s3_env["AWS_SECRET_ACCESS_KEY"] not in text


def test_doctor_names_the_failing_request(s3_env: dict[str, str], bucket: str, as_identity) -> None:
    report = doctor("s3://no-such-bucket-at-all/x")
    assert report.bucket_exists is False
    failed = {c.request: c.detail for c in report.failed}
    assert "BucketNotFoundError" in failed["s3:HeadBucket"]
    as_identity(None)
    report = doctor(f"s3://{bucket}")
    assert report.credential_source == "anonymous (unsigned)"
    assert report.access_key_id is None
    assert "private" in " ".join(c.detail for c in report.failed)
    assert report.public is False


def test_doctor_with_wrong_secret(bucket: str, monkeypatch: pytest.MonkeyPatch, s3_env) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-at-all")
    report = doctor(f"s3://{bucket}")
    assert not report.ok
    assert any("InvalidCredentialsError" in c.detail for c in report.failed)
    assert "not-the-secret-at-all" not in json.dumps(report.to_dict())


def test_demo_uploads_publishes_and_loads_anonymously(bucket: str, tmp_path: Path) -> None:
    result = demo(f"s3://{bucket}/demo", cache_dir=tmp_path / "c")
    assert result.equal
    assert result.loaded_anonymously
    assert result.access.public
    assert result.record.version_id
    assert result.loaded_path.is_file()
    assert str(tmp_path / "c") in str(result.loaded_path)
