"""Property tests: any catalog survives serialisation, and merging keeps every version."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from brainbucket.assemblies import AssemblyRecord, Catalog

identifiers = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_+-]{0,20}(\.[A-Za-z0-9_+-]{1,10}){0,3}\Z")
records = st.builds(
    AssemblyRecord,
    identifier=identifiers,
    location=st.text(min_size=1, max_size=40),
    path=st.none() | st.text(min_size=1, max_size=40),
    sha1=st.text("0123456789abcdef", min_size=40, max_size=40),
    sha256=st.none()
    | st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: f"sha256:{h}"),
    size=st.none() | st.integers(0, 2**50),
    version_id=st.none() | st.text(min_size=1, max_size=40),
    class_name=st.sampled_from(["DataArray", "Dataset", "NeuronRecordingAssembly", "File"]),
    kind=st.sampled_from(["netcdf", "file"]),
    uploader=st.none() | st.text(max_size=20),
    time=st.none()
    | st.datetimes(timezones=st.just(timezone.utc)).map(lambda d: d.replace(microsecond=0)),
    lookup_type=st.sampled_from(["assembly", "stimulus_set_csv"]),
    stimulus_set_identifier=st.none() | identifiers,
)


@settings(max_examples=30, deadline=None)
@given(st.lists(records, max_size=12))
def test_catalog_bytes_round_trip(recs: list[AssemblyRecord]) -> None:
    catalog = Catalog()
    added = [catalog.add(r) for r in recs]
    again = Catalog.from_bytes(catalog.to_bytes())
    assert again.entries == catalog.entries
    # add() never duplicates a version and always returns what the catalog holds.
    for r, got in zip(recs, added, strict=True):
        assert got in catalog.entries[r.identifier]
    for versions in catalog.entries.values():
        keys = [(v.sha1, v.version_id, v.path) for v in versions]
        assert len(keys) == len(set(keys))


@settings(max_examples=30, deadline=None)
@given(st.lists(records, min_size=1, max_size=8), st.lists(records, max_size=8))
def test_replaying_a_change_on_a_newer_catalog_keeps_both(
    mine: list[AssemblyRecord], theirs: list[AssemblyRecord]
) -> None:
    """What a writer that lost a race does: re-apply its additions on the newer catalog."""
    base = Catalog()
    for r in theirs:
        base.add(r)
    for r in mine:
        base.add(r)
    held = {(r.identifier, r.sha1, r.version_id, r.path) for r in base}
    assert {(r.identifier, r.sha1, r.version_id, r.path) for r in [*theirs, *mine]} == held


def test_datetime_survives() -> None:
    t = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    r = AssemblyRecord("a.b", "s3://x/y", "y", "a" * 40, None, 1, "v1", "File", time=t)
    assert AssemblyRecord.from_dict(r.to_dict()).time == t
