"""Property-based tests: the URL parser and the key → local path mapping."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from brainbucket import InvalidURLError, StoreURL, UnsafeKeyError, parse_url
from brainbucket._paths import check_key, local_path_for

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text biased towards the characters that make keys dangerous.
_tricky = st.sampled_from(
    ["/", ".", "..", "\\", "\x00", "\n", "\x1b", "\x7f", ":", "~", " ", "é", "e\u0301", "%2e", "C:"]
)
tricky_text = st.lists(st.one_of(_tricky, st.text(max_size=4)), max_size=12).map("".join)

safe_segment = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",), blacklist_characters="/\\\x7f", min_codepoint=32
    ),
    min_size=1,
    max_size=30,
).filter(lambda s: s not in (".", "..") and len(s.encode()) <= 255)
safe_key = (
    st.lists(safe_segment, min_size=1, max_size=6)
    .map("/".join)
    .filter(lambda k: not (len(k) > 1 and k[1] == ":" and k[0].isalpha()))  # "C:..." is refused
)

# Only paths are computed under it, nothing is written: it need not exist.
ROOT = (Path(tempfile.gettempdir()) / "brainbucket-paths").resolve()


@SETTINGS
@given(key=st.one_of(tricky_text, st.text()))
@example(key="../x")
@example(key="a/../../x")
@example(key="/abs")
@example(key="a\\..\\b")
@example(key="C:x")
def test_mapping_refuses_or_stays_inside(key: str) -> None:
    try:
        target = local_path_for(ROOT, key)
    except UnsafeKeyError as exc:
        message = str(exc)
        target = None
    if target is None:
        assert "\n" not in message
        return
    # Accepted: inside the root, and exactly the key — no normalisation, no surprises.
    assert target.is_relative_to(ROOT)
    assert target != ROOT
    assert target.relative_to(ROOT).as_posix() == key
    assert not any(ord(c) < 32 or ord(c) == 127 for c in key)
    assert "\\" not in key
    assert all(part not in ("", ".", "..") for part in key.split("/"))


@SETTINGS
@given(key=safe_key)
def test_safe_keys_are_kept_exactly(key: str) -> None:
    assert check_key(key) == key
    assert local_path_for(ROOT, key) == ROOT.joinpath(*key.split("/"))


@SETTINGS
@given(key=safe_key, bad=st.sampled_from(["..", ".", ""]), pos=st.integers(0, 6))
def test_any_dot_segment_anywhere_is_refused(key: str, bad: str, pos: int) -> None:
    parts = key.split("/")
    parts.insert(min(pos, len(parts)), bad)
    try:
        local_path_for(ROOT, "/".join(parts))
    except UnsafeKeyError:
        return
    raise AssertionError("a dot or empty segment was accepted")


@SETTINGS
@given(url=st.one_of(tricky_text, st.text(), st.builds(lambda t: "s3://" + t, tricky_text)))
def test_parse_url_never_fails_unexpectedly(url: str) -> None:
    try:
        parsed = parse_url(url)
    except InvalidURLError:
        return  # the one documented failure (exit code 2)
    assert isinstance(parsed, StoreURL)
    assert parsed.scheme in ("s3", "file")
    if parsed.is_s3:
        assert parsed.bucket
        assert not parsed.prefix.startswith("/")
        assert "//" not in parsed.prefix
    else:
        assert os.path.isabs(parsed.prefix)


# S3's naming rules: 3-63 lowercase letters, digits, dots and hyphens, beginning and ending
# with a letter or digit, no "..", not an IP address, no reserved prefix or suffix.
_RESERVED = (
    ("xn--", "sthree-", "amzn-s3-demo-"),
    ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"),
)


def _s3_accepts(name: str) -> bool:
    return bool(
        re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", name)
        and ".." not in name
        and not re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", name)
        and not name.startswith(_RESERVED[0])
        and not name.endswith(_RESERVED[1])
    )


bucket_name = st.from_regex(r"\A[a-z0-9][a-z0-9-]{1,39}[a-z0-9]\Z").filter(_s3_accepts)


@SETTINGS
@given(bucket=bucket_name, key=st.one_of(st.just(""), safe_key))
def test_s3_urls_round_trip(bucket: str, key: str) -> None:
    url = f"s3://{bucket}/{key}" if key else f"s3://{bucket}"
    parsed = parse_url(url)
    assert (parsed.bucket, parsed.prefix) == (bucket, key)
    assert parse_url(str(parsed)) == parsed
    joined = parsed.join("sub-01", "anat")
    assert joined.prefix == "/".join(p for p in (key, "sub-01", "anat") if p)


@SETTINGS
@given(bucket=st.text(max_size=70))
def test_bad_bucket_names_are_refused(bucket: str) -> None:
    ok = _s3_accepts(bucket)
    try:
        parsed = parse_url(f"s3://{bucket}/x")
    except InvalidURLError:
        assert not ok or "/" in bucket
        return
    assert parsed.bucket == bucket.split("/")[0]
