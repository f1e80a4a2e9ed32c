"""Hostile and odd keys: refused by name or handled exactly, never written outside the target.

The S3 test server itself refuses keys with ``.``/``..`` segments and NUL, and rewrites ``\\``
to ``/`` and ``//`` to ``/``; it stores control characters, very long names and keys that differ
only by case or unicode normalisation. Keys it will not store are exercised through the
key → path mapping and a local folder store, which holds any name the filesystem allows.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest

from brainbucket import Expected, ObjectInfo, UnsafeKeyError, open_store
from brainbucket._paths import check_key, local_path_for, normalized
from brainbucket.cli import run
from brainbucket.store import S3Store

# Keys that must be refused wherever they come from.
REFUSED = [
    "../etc/passwd",
    "sub-01/../../escape.txt",
    "sub-01/..",
    "..",
    ".",
    "./sub-01/x",
    "/etc/passwd",
    "//server/share/x",
    "sub-01//anat/x",
    "sub-01/anat/",
    "a\\b.txt",
    "..\\..\\windows\\system32",
    "C:\\evil.txt",
    "C:evil.txt",
    "nul\x00byte",
    "newline\nname.nii.gz",
    "carriage\rreturn",
    "tab\tname",
    "escape\x1b[2Jclear",
    "delete\x7f.txt",
    "bell\x07",
    "",
    "L" * 256,
    "sub-01/" + "é" * 128,  # 256 bytes in UTF-8
]

# Keys that are odd but fine, and must round-trip exactly.
ACCEPTED = [
    "sub-01/anat/sub-01_aparc+aseg.nii.gz",
    "with space/and+plus=equals&amp.txt",
    "ünïcödé/名前.nii.gz",
    "...",
    "..a/b..",
    ".hidden/.file",
    "-leading-dash",
    "L" * 255,
    "percent%2F%2e%2e",
    "emoji-🧠.json",
    "sub-01/" + "é" * 127,  # 254 bytes
]


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("key", REFUSED, ids=lambda k: repr(k)[:40])
def test_mapping_refuses(key: str, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    before = _tree(tmp_path)
    with pytest.raises(UnsafeKeyError) as info:
        local_path_for(dest, key)
    assert info.value.exit_code == 9
    assert "\n" not in str(info.value)  # one line, control characters escaped
    assert "\x1b" not in str(info.value)
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("key", ACCEPTED, ids=lambda k: repr(k)[:40])
def test_mapping_keeps_odd_keys_exactly(key: str, tmp_path: Path) -> None:
    target = local_path_for(tmp_path, key)
    assert target.relative_to(tmp_path).as_posix() == key
    assert check_key(key) == key


@pytest.mark.parametrize("key", ACCEPTED, ids=lambda k: repr(k)[:40])
def test_local_store_round_trips_odd_keys(key: str, tmp_path: Path) -> None:
    store = open_store(tmp_path / "store")
    store.write_bytes(key, key.encode())
    assert [o.path for o in store.walk()] == [key]
    assert store.read_bytes(key) == key.encode()


# Keys the mapping refuses but a store takes, because store paths are relative to the store's
# root and outer slashes are dropped by design: what each one is stored as.
OUTER_SLASHES_DROPPED = {
    "/etc/passwd": "etc/passwd",
    "//server/share/x": "server/share/x",
    "sub-01/anat/": "sub-01/anat",
}


def test_outer_slash_keys_are_refused_keys() -> None:
    # Every key listed above is one of REFUSED, and differs from its stored form only by
    # its outer slashes: none escapes the refusal check below by accident.
    assert set(OUTER_SLASHES_DROPPED) < set(REFUSED)
    for key, stored in OUTER_SLASHES_DROPPED.items():
        assert key.strip("/") == stored != key


@pytest.mark.parametrize("key", [k for k in REFUSED if k], ids=lambda k: repr(k)[:40])
def test_local_store_refuses_to_write_hostile_keys(key: str, tmp_path: Path) -> None:
    root = tmp_path / "store"
    root.mkdir()
    store = open_store(root)
    stored = OUTER_SLASHES_DROPPED.get(key)
    if stored is None:
        with pytest.raises(UnsafeKeyError) as info:
            store.write_bytes(key, b"payload")
        assert info.value.exit_code == 9
        assert "\n" not in str(info.value)
        assert _tree(tmp_path) == {"store"}  # nothing written, inside the root or out
        return
    store.write_bytes(key, b"payload")
    assert store.read_bytes(stored) == b"payload"
    assert store.read_bytes(key) == b"payload"
    assert [o.path for o in store.walk()] == [stored]
    parts = stored.split("/")
    created = {"/".join(["store", *parts[:n]]) for n in range(len(parts) + 1)}
    assert _tree(tmp_path) == created  # exactly the folders and the file, all inside root
    assert (root / stored).read_bytes() == b"payload"


def test_local_store_holding_hostile_names(tmp_path: Path) -> None:
    """A folder with names that are legal on Linux but hostile as keys: listed, never mapped."""
    src = tmp_path / "src"
    src.mkdir()
    hostile = ["a\\b.txt", "newline\nname", "escape\x1b[31m", "delete\x7f"]
    for name in [*hostile, "fine.txt"]:
        (src / name).write_bytes(name.encode())
    store = open_store(src)
    listed = {o.path for o in store.walk()}
    assert listed == {*hostile, "fine.txt"}
    dest = tmp_path / "dest"
    dest.mkdir()
    copied, refused = [], []
    for path in sorted(listed):
        try:
            target = local_path_for(dest, path)
        except UnsafeKeyError:
            refused.append(path)
            continue
        store.download(path, target)
        copied.append(path)
    assert copied == ["fine.txt"]
    assert sorted(refused) == sorted(hostile)
    assert _tree(dest) == {"fine.txt"}
    assert sorted(os.listdir(tmp_path)) == ["dest", "src"]


# -- what the S3 server accepts ------------------------------------------------------------------

SERVER_KEYS = {
    "ctl\x01.txt": b"control",
    "newline\nname.nii.gz": b"newline",
    "delete\x7f.txt": b"delete",
    "tab\tname": b"tab",
    "escape\x1b[2J": b"ansi",
    "sub-01/Case.txt": b"upper",
    "sub-01/case.txt": b"lower",
    unicodedata.normalize("NFC", "sub-01/café.txt"): b"nfc",
    unicodedata.normalize("NFD", "sub-01/café.txt"): b"nfd",
    "sub-01/" + "é" * 200: b"too long for a local name",
    "C:evil.txt": b"drive",
    "plain/ok file+1.txt": b"plain",
}


@pytest.fixture
def hostile_bucket(direct_store: S3Store) -> S3Store:
    """The test prefix holding every key the server accepts, written around brainbucket."""
    for key, body in SERVER_KEYS.items():
        direct_store.client.put_object(
            Bucket=direct_store.bucket, Key=direct_store.key(key), Body=body
        )
    return direct_store


def test_server_listing_survives_hostile_keys(hostile_bucket: S3Store) -> None:
    # One key the data path cannot represent must not hide every other object.
    listed = {o.path: o.size for o in hostile_bucket.walk()}
    assert listed == {k: len(v) for k, v in SERVER_KEYS.items()}
    top = {e.path for e in hostile_bucket.ls("")}
    assert {"sub-01/", "plain/", "C:evil.txt"} <= top


def test_server_keys_mapped_safely(hostile_bucket: S3Store, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    fetched, refused = {}, []
    for obj in hostile_bucket.walk():
        assert isinstance(obj, ObjectInfo)
        try:
            target = local_path_for(dest, obj.path)
        except UnsafeKeyError:
            refused.append(obj.path)
            continue
        hostile_bucket.download(obj.path, target, Expected(size=obj.size))
        fetched[obj.path] = target
    assert sorted(refused) == sorted(
        k
        for k in SERVER_KEYS
        if any(ord(c) < 32 or ord(c) == 127 for c in k)
        or len(k.split("/")[-1].encode()) > 255
        or k.startswith("C:")
    )
    # Case and normalisation variants stay distinct objects with their own bytes.
    for key, target in fetched.items():
        assert target.read_bytes() == SERVER_KEYS[key]
        assert target.is_relative_to(dest)
    assert _tree(tmp_path) == {"dest"} | {str(p.relative_to(tmp_path)) for p in dest.rglob("*")}
    variants = [k for k in fetched if normalized(k) == normalized("sub-01/case.txt")]
    assert len(variants) == 2  # noticed as a collision for case-insensitive filesystems
    nfc_nfd = [k for k in fetched if normalized(k) == normalized("sub-01/café.txt")]
    assert len(nfc_nfd) == 2


def test_reading_an_unrepresentable_key_is_refused(hostile_bucket: S3Store, tmp_path: Path) -> None:
    with pytest.raises(UnsafeKeyError) as info:
        hostile_bucket.read_bytes("delete\x7f.txt")
    assert "\x7f" not in str(info.value)
    assert "delete\\x7f.txt" in str(info.value)
    with pytest.raises(UnsafeKeyError):
        hostile_bucket.download("delete\x7f.txt", tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_cli_ls_of_hostile_bucket_does_not_crash(
    hostile_bucket: S3Store, root_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["ls", "-r", root_url, "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == len(SERVER_KEYS)  # one JSON line per object, escapes kept inside


def test_errors_about_hostile_keys_are_printable(hostile_bucket: S3Store) -> None:
    from brainbucket import ObjectNotFoundError

    with pytest.raises(ObjectNotFoundError) as info:
        hostile_bucket.info("missing\x1b[2J\n.txt")
    assert "\x1b" not in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("command", [["ls", "-r"], ["ls"], ["tree", "--depth", "3"], ["du"]])
def test_cli_text_output_escapes_control_characters(
    command: list[str],
    hostile_bucket: S3Store,
    root_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A key holding an escape sequence must not reach the terminal as one."""
    assert run([*command, root_url]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "\x7f" not in out
    if command == ["ls", "-r"]:
        assert "escape\\x1b[2J" in out
        assert "plain/ok file+1.txt" in out


def test_sync_down_of_hostile_bucket_refuses_by_name(
    hostile_bucket: S3Store, root_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "down"
    code = run(["sync", root_url, str(dest)])
    captured = capsys.readouterr()
    assert code == 12
    text = captured.out + captured.err
    assert "\x1b" not in text
    assert "\x7f" not in text
    assert "delete\\x7f.txt" in text
    assert (dest / "plain" / "ok file+1.txt").read_bytes() == b"plain"
    assert all(p.is_relative_to(dest) for p in tmp_path.rglob("*") if p != dest)


@pytest.mark.parametrize("key", ["a[/]b.txt", "x[bold red]y", "[/x]"])
def test_error_about_a_key_with_markup_is_printed_as_is(
    key: str, root_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["cat", f"{root_url}/{key}"]) == 3
    err = capsys.readouterr().err
    assert key in err
    assert err.startswith("error:")
