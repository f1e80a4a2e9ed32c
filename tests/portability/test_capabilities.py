"""What a store finds out about its server, how long it remembers it, and what it does where a
feature is missing: on SeaweedFS, ``rclone serve s3`` and moto (the ``server`` fixture)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from brainbucket import ConflictError, open_store
from brainbucket.cli import run
from brainbucket.store import _probe, _probe_cache, swap_bytes
from brainbucket.store._probe_cache import ProbeCache, forget_all
from cli_text import messages
from servers import S3Endpoint

CONFLICT = 7


@pytest.fixture(autouse=True)
def _fresh_memory() -> None:
    forget_all()


def test_answers_match_the_server(server: S3Endpoint, server_bucket: str) -> None:
    """Each probed answer is what the server really honours, and the probes leave nothing."""
    store = open_store(f"s3://{server_bucket}/study")
    caps = store.capabilities
    assert caps.conditional_writes is server.traits.conditional_writes
    assert caps.versioning is server.traits.versioning
    assert caps.policies is server.traits.policies
    assert caps.anonymous is (server.name != "rclone")  # rclone rejects unsigned requests
    assert caps.presign is True
    assert caps.multipart_etags is (server.name != "rclone")  # rclone HEADs give the plain MD5
    assert caps.how("conditional_writes") == "probed"
    if server.traits.versioning:
        left = store.client.list_object_versions(Bucket=server_bucket, Prefix="study/")
        assert not left.get("Versions")
        assert not left.get("DeleteMarkers")
    assert not store.client.list_objects_v2(Bucket=server_bucket).get("Contents")


def test_answers_are_remembered_per_endpoint(
    server: S3Endpoint,
    server_bucket: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second store (another command) reads the answer from disk without a probe, until the
    TTL runs out; another endpoint's answers are its own. (The test servers are on this
    machine, whose answers are normally kept per store: the rule is lifted here.)"""
    monkeypatch.setenv("BRAINBUCKET_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(_probe_cache, "_shared", lambda endpoint: True)
    probes: list[str] = []
    real = _probe._PROBES["conditional_writes"]

    def counted(store):  # type: ignore[no-untyped-def]
        probes.append(store.endpoint)
        return real(store)

    monkeypatch.setitem(_probe._PROBES, "conditional_writes", counted)
    url = f"s3://{server_bucket}/study"
    assert open_store(url).capabilities.conditional_writes is server.traits.conditional_writes
    assert len(probes) == 1
    saved = json.loads((tmp_path / "cache" / "servers.json").read_text())
    entry = saved["servers"][server.endpoint_url]["conditional_writes"]
    assert entry["supported"] is server.traits.conditional_writes

    forget_all()  # as a new process would start
    again = open_store(url).capabilities
    assert again.conditional_writes is server.traits.conditional_writes
    assert again.how("conditional_writes") == "remembered"
    assert len(probes) == 1, "a remembered answer was probed again"

    forget_all()
    monkeypatch.setenv("BRAINBUCKET_CAPABILITY_TTL", "0")  # expired at once: probe again
    assert open_store(url).capabilities.conditional_writes is server.traits.conditional_writes
    assert len(probes) == 2


def test_cache_ttl_and_endpoints(tmp_path: Path) -> None:
    """The cache on its own: answers expire after the TTL, each endpoint has its own, a
    server on this machine is not written to disk, and a damaged file is ignored."""
    now = [1000.0]
    path = tmp_path / "servers.json"

    def cache(endpoint: str, **kw: object) -> ProbeCache:
        return ProbeCache(endpoint, path=path, ttl=60, clock=lambda: now[0], **kw)  # type: ignore[arg-type]

    cache("https://s3.one.example").put("conditional_writes", False)
    cache("https://s3.two.example").put("conditional_writes", True)
    forget_all()
    assert cache("https://s3.one.example").lookup("conditional_writes") == (False, "remembered")
    assert cache("https://s3.two.example").get("conditional_writes") is True
    assert cache("https://s3.three.example").lookup("conditional_writes") is None
    now[0] += 61
    forget_all()
    assert cache("https://s3.one.example").lookup("conditional_writes") is None

    local = cache("http://127.0.0.1:9000")
    local.put("conditional_writes", True)
    assert local.get("conditional_writes") is True
    assert "http://127.0.0.1:9000" not in json.loads(path.read_text())["servers"]
    assert cache("http://127.0.0.1:9000").lookup("conditional_writes") is None

    path.write_text("{not json")
    forget_all()
    assert cache("https://s3.one.example").lookup("conditional_writes") is None
    cache("https://s3.one.example").put("policies", True)
    assert json.loads(path.read_text())["format"] == "brainbucket.server-capabilities"


def test_swap_catches_a_writer_between_check_and_confirm(
    server: S3Endpoint, server_bucket: str
) -> None:
    """A write based on an old state is refused on every server; where conditional writes
    are ignored, another writer landing during the settle interval fails ours loudly."""
    store = open_store(f"s3://{server_bucket}/swap")
    first = swap_bytes(store, "ptr", b"one", expected=None)
    with pytest.raises(ConflictError):
        swap_bytes(store, "ptr", b"two", expected=None)
    second = swap_bytes(store, "ptr", b"two", expected=first.etag)
    with pytest.raises(ConflictError):
        swap_bytes(store, "ptr", b"stale", expected=first.etag)
    if server.traits.conditional_writes:
        return

    def other_writer(_: float) -> None:
        store.write_bytes("ptr", b"theirs")

    with pytest.raises(ConflictError, match="ignores conditional writes"):
        swap_bytes(store, "ptr", b"mine", expected=second.etag, sleep=other_writer)
    assert store.read_bytes("ptr") == b"theirs"


def test_sync_warns_once_where_writers_are_unsafe(
    server: S3Endpoint,
    server_bucket: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One warning line on stderr where the server ignores conditional writes; none where it
    honours them, none with --quiet."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "README").write_bytes(b"x")
    url = f"s3://{server_bucket}/warn"
    code = run(["sync", str(src), url])
    _, err = capsys.readouterr()
    assert code == 0, err
    warnings = [line for line in messages(err) if line.startswith("warning:")]
    if server.traits.conditional_writes:
        assert warnings == []
    else:
        assert warnings == [
            f"warning: {url}: this server ignores conditional writes, so two writers at once "
            "are caught only after the fact (the loser exits 7); sync into a dataset from "
            "one place at a time"
        ]
    (src / "CHANGES").write_bytes(os.urandom(10))
    code = run(["sync", str(src), url, "--quiet"])
    _, err = capsys.readouterr()
    assert code == 0, err
    assert messages(err) == []


def test_doctor_shows_the_capability_table(
    server: S3Endpoint, server_bucket: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`doctor` lists each capability, yes/no/unknown and what brainbucket does where it is
    missing; a feature the server lacks is "n/a", not a failure."""
    code = run(["doctor", f"s3://{server_bucket}", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    caps = json.loads(out)["capabilities"]
    assert caps["conditional_writes"]["supported"] is server.traits.conditional_writes
    assert caps["policies"]["supported"] is server.traits.policies
    assert caps["ranged_reads"] == {
        "supported": True,
        "how": "static",
        "where_missing": "files are read whole",
    }
    assert "exit 7" in caps["conditional_writes"]["where_missing"]

    code = run(["doctor", f"s3://{server_bucket}"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    rows = [line.split("\t") for line in out.splitlines()]
    by_name = {r[0]: r[1:] for r in rows if len(r) == 3}
    if server.traits.conditional_writes:
        assert by_name["conditional_writes"] == ["yes", ""]
    else:
        assert by_name["conditional_writes"] == ["no", caps["conditional_writes"]["where_missing"]]
        assert ["n/a", "anonymous read probe"] == next(
            r[:2] for r in rows if r[1:2] == ["anonymous read probe"]
        )
