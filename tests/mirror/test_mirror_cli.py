"""brainbucket get and brainbucket mirror status|verify|gc."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from brainbucket.cli import run


def test_get_prints_local_paths_one_per_line(remote, cache: Path, capsys) -> None:
    args = [
        "get",
        remote.url,
        "--subject",
        "02",
        "--datatype",
        "dwi",
        "--pipeline",
        "raw",
        "--cache-dir",
        str(cache),
    ]
    assert run(args) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = sorted(k for k in remote.keys if k.startswith("sub-02/ses-01/dwi/"))
    assert [ln.split("/files/", 1)[1] for ln in lines] == expected
    for ln, key in zip(lines, expected, strict=True):
        assert Path(ln).read_bytes() == (remote.local / key).read_bytes()
    # the same, offline, from the cache; and by path
    assert run([*args, "--offline"]) == 0
    assert capsys.readouterr().out.splitlines() == lines
    assert run(["get", remote.url, "README", "--cache-dir", str(cache), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert Path(doc["paths"][0]).read_bytes() == (remote.local / "README").read_bytes()


def test_get_bad_input(remote, cache: Path, capsys) -> None:
    assert run(["get", remote.url, "--cache-dir", str(cache)]) == 2
    assert "needs file paths or at least one filter" in capsys.readouterr().err
    assert run(["get", remote.url, "--subject", "03", "--offline", "--cache-dir", str(cache)]) == 11
    err = capsys.readouterr().err
    assert "offline" in err
    assert "hint:" in err
    assert run(["get", remote.url, "sub-07/nothing.nii", "--cache-dir", str(cache)]) == 3
    assert run(["get", "s3://Bad..Name", "--subject", "01", "--cache-dir", str(cache)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_mirror_status_verify_gc(remote, cache: Path, capsys) -> None:
    assert (
        run(["get", remote.url, "--subject", "01", "--pipeline", "raw", "--cache-dir", str(cache)])
        == 0
    )
    paths = [Path(p) for p in capsys.readouterr().out.splitlines()]
    total = sum(p.stat().st_size for p in paths)
    assert run(["mirror", "status", "--cache-dir", str(cache), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["mirrors"]
    assert row["url"] == remote.url
    assert row["files"] == len(paths)
    assert row["size"] == total
    assert run(["mirror", "verify", remote.url, "--cache-dir", str(cache)]) == 0
    assert f"{len(paths)} files checked, 0 damaged" in capsys.readouterr().out
    # damage one file without changing its size or timestamps: verify catches it (exit 8)
    victim = max(paths, key=lambda p: p.stat().st_size)
    st = victim.stat()
    data = bytearray(victim.read_bytes())
    data[0] ^= 0xFF
    victim.write_bytes(bytes(data))
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert run(["mirror", "verify", remote.url, "--cache-dir", str(cache)]) == 8
    assert "damaged, removed" in capsys.readouterr().out
    assert not victim.exists()
    assert run(["mirror", "gc", "--max-size", "0", "--cache-dir", str(cache), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["removed"] == len(paths) - 1
    assert report["kept_size"] == 0
    assert not any(p.exists() for p in paths)


@pytest.mark.parametrize("size", ["lots", "-1G", "5X"])
def test_gc_bad_size(size: str, cache: Path, capsys) -> None:
    assert run(["mirror", "gc", "--max-size", size, "--cache-dir", str(cache)]) == 2
    assert "not a size" in capsys.readouterr().err


def test_get_with_an_unwritable_cache(remote, tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache should be")
    assert run(["get", remote.url, "README", "--cache-dir", str(blocker)]) == 4
    err = capsys.readouterr().err
    assert "cannot write to the mirror cache" in err
    assert "BRAINBUCKET_CACHE" in err
    assert "Traceback" not in err
