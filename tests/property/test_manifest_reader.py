"""Property-based tests: the manifest reader takes any bytes and either parses or refuses."""

from __future__ import annotations

import gzip
import json
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brainbucket import ManifestError, open_store
from brainbucket.manifest import Entry, Manifest, read_manifest, write_manifest
from brainbucket.manifest._format import decode_pointer, decode_root, decode_shard
from brainbucket.store import Store

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
# Documents shaped like the real ones, with fields of any type: the interesting failures.
root_like = st.fixed_dictionaries(
    {
        "format": st.one_of(st.just("brainbucket-manifest/1"), st.text(max_size=8)),
        "shards": st.lists(
            st.dictionaries(st.sampled_from(["name", "sha256", "count", "size"]), json_values),
            max_size=3,
        ),
    },
)
entry_like = st.dictionaries(
    st.sampled_from(["path", "size", "sha256", "version_id", "etag"]), json_values, max_size=5
)


def _decoders(blob: bytes) -> None:
    for decode in (decode_pointer, decode_root, decode_shard):
        try:
            decode(blob, "test")
        except ManifestError:
            pass


@SETTINGS
@given(blob=st.binary(max_size=300))
def test_any_bytes(blob: bytes) -> None:
    _decoders(blob)
    _decoders(gzip.compress(blob))


@SETTINGS
@given(doc=st.one_of(json_values, root_like))
def test_any_json_document(doc: object) -> None:
    raw = json.dumps(doc).encode()
    _decoders(raw)
    _decoders(gzip.compress(raw))


@SETTINGS
@given(lines=st.lists(st.one_of(entry_like, json_values), max_size=5))
def test_any_shard_lines(lines: list[object]) -> None:
    blob = gzip.compress("\n".join(json.dumps(x) for x in lines).encode())
    try:
        shard = decode_shard(blob, "test")
    except ManifestError:
        return
    for path, e in shard.items():
        assert isinstance(e, Entry)
        assert e.path == path
        assert isinstance(e.size, int)
        assert e.size >= 0


@SETTINGS
@given(cut=st.integers(min_value=1, max_value=10_000))
def test_truncated_real_manifest_objects_are_refused(cut: int) -> None:
    m = Manifest([Entry(f"sub-{i:02d}/f.txt", i, "sha256:" + f"{i:064x}") for i in range(5)])
    _refs, shards, root_blob = m._serialise()
    pairs = [(decode_root, root_blob)] + [(decode_shard, b) for b in shards.values()]
    for decode, whole in pairs:
        part = whole[: max(1, cut % len(whole))]  # empty: caught by the digest check
        with pytest.raises(ManifestError):
            decode(part, "test")


path_segment = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\"),
    min_size=1,
    max_size=12,
).filter(lambda s: s not in (".", ".."))
entries = st.lists(
    st.builds(
        Entry,
        path=st.lists(path_segment, min_size=1, max_size=4).map("/".join),
        size=st.integers(min_value=0, max_value=2**40),
        sha256=st.binary(min_size=32, max_size=32).map(lambda b: "sha256:" + b.hex()),
        version_id=st.one_of(st.none(), st.text(min_size=1, max_size=20)),
        etag=st.one_of(st.none(), st.from_regex(r"\A[0-9a-f]{32}\Z")),
    ),
    max_size=30,
    unique_by=lambda e: e.path,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=entries, prefix=st.sampled_from(["", "a", "sub-01/"]))
def test_round_trip_through_a_store(items: list[Entry], prefix: str) -> None:
    with tempfile.TemporaryDirectory(prefix="bbmanifest-") as root:
        _round_trip(open_store(root), items, prefix)


def _round_trip(store: Store, items: list[Entry], prefix: str) -> None:
    write_manifest(store, Manifest(items), expected=None)
    back = read_manifest(store, cache=False)
    assert back is not None
    assert sorted(back.entries(), key=lambda e: e.path) == sorted(items, key=lambda e: e.path)
    sub = read_manifest(store, prefix=prefix, cache=False) if prefix else back
    assert sub is not None
    want = sorted(e.path for e in items if e.path.startswith(prefix))
    assert sorted(e.path for e in sub.entries()) == want
