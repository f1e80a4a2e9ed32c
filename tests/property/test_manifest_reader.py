"""Property-based tests: the manifest reader takes any bytes and either parses or refuses."""

from __future__ import annotations

import gzip
import json
import tempfile

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from brainbucket import ManifestError, open_store
from brainbucket.manifest import Entry, Manifest, read_manifest, write_manifest
from brainbucket.manifest._format import (
    FORMAT,
    POINTER_FORMAT,
    ShardRef,
    decode_pointer,
    decode_root,
    decode_shard,
    encode_pointer,
    encode_root,
    encode_shard,
)
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
            st.one_of(
                st.dictionaries(st.sampled_from(["name", "sha256", "count", "size"]), json_values),
                # every field present, so the field checks run, not only the missing-key one
                st.fixed_dictionaries(
                    {
                        "name": json_values,
                        "sha256": st.one_of(st.just("sha256:" + "0" * 64), json_values),
                        "count": st.one_of(st.integers(min_value=0), json_values),
                        "size": st.one_of(st.integers(min_value=0), json_values),
                    }
                ),
            ),
            max_size=3,
        ),
    },
)
entry_like = st.dictionaries(
    st.sampled_from(["path", "size", "sha256", "version_id", "etag"]), json_values, max_size=5
)


WHAT = "test"  # the source every decoder is told it reads, and must name when it refuses


def _check_pointer(root: object) -> None:
    assert type(root) is str
    assert root.startswith("sha256:")
    assert len(root) == len("sha256:") + 64


def _check_root(refs: object) -> None:
    assert type(refs) is dict
    for name, ref in refs.items():
        assert isinstance(ref, ShardRef)
        assert ref.name == name
        assert type(ref.name) is str
        assert type(ref.sha256) is str
        assert type(ref.count) is int
        assert type(ref.size) is int


def _check_shard(shard: object) -> None:
    assert type(shard) is dict
    for path, e in shard.items():
        assert isinstance(e, Entry)
        assert e.path == path
        assert Entry.from_dict(e.to_dict()) == e  # every field passes the entry's own checks


def _names_source(exc: ManifestError) -> bool:
    if exc.message.startswith(f"{WHAT}: "):
        return True
    # A malformed entry inside a shard is refused by ``Entry.from_dict``, which is not told
    # the shard it sits in: its message quotes the entry instead.
    return exc.message.startswith(("malformed manifest entry: ", "manifest entry is missing"))


DECODERS = (
    (decode_pointer, _check_pointer, encode_pointer),
    (decode_root, _check_root, lambda refs: encode_root(refs.values())),
    (decode_shard, _check_shard, lambda shard: encode_shard(shard.values())),
)


def _decoders(blob: bytes) -> set[str]:
    """Run every decoder on ``blob``: each returns a well-formed value, which re-encodes to a
    blob decoding to the same value, or refuses with a ManifestError naming its source.
    Returns the names of the decoders that refused."""
    refused = set()
    for decode, check, encode in DECODERS:
        error: ManifestError | None = None
        try:
            value = decode(blob, WHAT)
        except ManifestError as exc:
            error = exc
        if error is not None:
            assert _names_source(error), error.message
            assert "\n" not in error.message
            refused.add(decode.__name__)
            continue
        check(value)
        assert decode(encode(value), WHAT) == value  # type: ignore[operator]
    return refused


@SETTINGS
@given(blob=st.binary(max_size=300))
def test_any_bytes(blob: bytes) -> None:
    _decoders(blob)
    # Roots and shards are gzipped, so bytes that are not a gzip stream are refused. (No bytes
    # at all are a stream of no gzip members, so an empty shard: read_manifest's digest check
    # refuses that one.)
    if blob and not blob.startswith(b"\x1f\x8b"):
        assert {"decode_root", "decode_shard"} <= _decoders(blob)
    # A pointer is plain JSON: a gzip stream never is one.
    assert "decode_pointer" in _decoders(gzip.compress(blob))


sha256_digests = st.binary(min_size=32, max_size=32).map(lambda b: "sha256:" + b.hex())
pointer_like = st.fixed_dictionaries(
    {
        "format": st.one_of(st.just(POINTER_FORMAT), st.text(max_size=8)),
        "root": st.one_of(
            sha256_digests,
            st.tuples(sha256_digests, st.integers(0, 70)).map(lambda t: t[0][: t[1]]),
            st.text(max_size=72).map("sha256:".__add__),
            st.text(max_size=72),
            json_values,
        ),
    },
)


@SETTINGS
@given(doc=st.one_of(json_values, root_like, pointer_like))
# A count no integer can hold: int(inf) raises OverflowError, which is no ValueError.
@example(doc={"format": FORMAT, "shards": [{"name": "a", "sha256": "x", "count": 1e999}]})
@example(
    doc={"format": FORMAT, "shards": [{"name": "a", "sha256": "x", "count": 0, "size": -1e999}]}
)
def test_any_json_document(doc: object) -> None:
    raw = json.dumps(doc).encode()
    # JSON text is not a gzip stream: never a root or a shard.
    assert {"decode_root", "decode_shard"} <= _decoders(raw)
    assert "decode_pointer" in _decoders(gzip.compress(raw))


@SETTINGS
@given(root=sha256_digests)
def test_pointer_round_trips(root: str) -> None:
    assert decode_pointer(encode_pointer(root), WHAT) == root


shard_refs = st.lists(
    st.builds(
        ShardRef,
        name=st.text(max_size=20),
        sha256=sha256_digests,
        count=st.integers(min_value=0, max_value=2**40),
        size=st.integers(min_value=0, max_value=2**60),
    ),
    max_size=6,
    unique_by=lambda r: r.name,
)


@SETTINGS
@given(refs=shard_refs)
def test_root_round_trips(refs: list[ShardRef]) -> None:
    decoded = decode_root(encode_root(refs), WHAT)
    assert decoded == {r.name: r for r in refs}
    _check_root(decoded)


@SETTINGS
@given(lines=st.lists(st.one_of(entry_like, json_values), max_size=5))
def test_any_shard_lines(lines: list[object]) -> None:
    blob = gzip.compress("\n".join(json.dumps(x) for x in lines).encode())
    _decoders(blob)
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


@SETTINGS
@given(items=entries)
def test_shard_round_trips(items: list[Entry]) -> None:
    decoded = decode_shard(encode_shard(items), WHAT)
    assert decoded == {e.path: e for e in items}
    assert list(decoded) == sorted(decoded)  # written in path order, read in path order
    _check_shard(decoded)


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
