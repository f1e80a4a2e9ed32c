"""The sync, status and verify commands: output, JSON and exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from brainbucket import open_store, read_manifest
from brainbucket.cli import run
from cli_text import messages


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


FILES = {
    "README": b"readme",
    "sub-01/anat/sub-01_T1w.nii.gz": os.urandom(5000),
    "sub-02/anat/sub-02_T1w.nii.gz": os.urandom(6000),
    "sub-02/anat/sub-02_T1w.json": b"{}",
}


def test_sync_status_verify(
    bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _tree(tmp_path / "src", FILES)
    url = f"s3://{bucket}/study"
    assert run(["sync", str(src), url, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "upload       sub-01/anat/sub-01_T1w.nii.gz" in out
    assert "4 to upload" in out
    assert list(open_store(url).walk()) == []

    assert run(["sync", str(src), url]) == 0
    out = capsys.readouterr().out
    assert "uploaded 4 files" in out

    assert run(["sync", str(src), url, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["transferred"], doc["unchanged"], doc["failed"]) == (0, 4, [])

    (src / "README").write_bytes(b"README")
    assert run(["status", str(src), url, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["actions"] == [
        {"action": "upload", "path": "README", "size": 6, "reason": "content changed (same size)"}
    ]

    assert run(["verify", url]) == 0
    assert "ok: 4 files checked" in capsys.readouterr().out
    # Written over in place: the manifest's version is intact, and is what readers get.
    store = open_store(url)
    recorded = read_manifest(store)
    assert recorded is not None
    store.write_bytes("sub-02/anat/sub-02_T1w.json", b"[]")
    assert run(["verify", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["superseded"] == ["sub-02/anat/sub-02_T1w.json"]
    # With that version gone, the file is damaged.
    store.delete(
        "sub-02/anat/sub-02_T1w.json",
        version_id=recorded["sub-02/anat/sub-02_T1w.json"].version_id,
    )
    assert run(["verify", url, "--json"]) == 8
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["ok"] is False
    assert doc["mismatched"][0]["path"] == "sub-02/anat/sub-02_T1w.json"
    assert "differ from the manifest" in captured.err
    assert "Traceback" not in captured.err


def _lines(text: str) -> list[str]:
    return text.splitlines()


def test_verify_reports_untracked_objects_and_its_hints_work(
    bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Objects put beside a published study (`cp`, other tools) are untracked, not damage:
    exit 0, listed, with a hint whose commands make the report clean."""
    src = _tree(tmp_path / "src", FILES)
    url = f"s3://{bucket}/study"
    assert run(["sync", str(src), url, "--quiet"]) == 0
    assert run(["verify", url]) == 0
    captured = capsys.readouterr()
    assert _lines(captured.out) == ["ok: 4 files checked, 0 missing, 0 mismatched, 0 untracked"]
    assert messages(captured.err) == []

    notes = _tree(tmp_path / "elsewhere", {"notes.txt": b"lab notes"}) / "notes.txt"
    assert run(["cp", str(notes), f"{url}/notes.txt"]) == 0
    assert run(["cp", str(notes), f"{url}/scratch.txt"]) == 0
    capsys.readouterr()
    assert run(["verify", url]) == 0
    captured = capsys.readouterr()
    assert _lines(captured.out) == [
        "untracked   notes.txt",
        "untracked   scratch.txt",
        "ok: 4 files checked, 0 missing, 0 mismatched, 2 untracked",
    ]
    assert _lines(captured.err)[0] == (
        f"hint: to make them part of the dataset, `brainbucket sync DIR {url}` from a folder "
        f"that holds them; to remove one, `brainbucket rm {url}/PATH`"
    )
    assert run(["verify", url, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["ok"], doc["untracked"], doc["missing"]) == (True, ["notes.txt", "scratch.txt"], [])

    # The hint's two ways, as written.
    (src / "notes.txt").write_bytes(notes.read_bytes())
    assert run(["sync", str(src), url, "--quiet"]) == 0
    assert run(["rm", f"{url}/scratch.txt"]) == 0
    capsys.readouterr()
    assert run(["verify", url]) == 0
    captured = capsys.readouterr()
    assert _lines(captured.out) == ["ok: 5 files checked, 0 missing, 0 mismatched, 0 untracked"]
    assert messages(captured.err) == []


def test_verify_repair_hints_work(
    bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing object fails (exit 8), and the hint's command repairs it; so does the
    hint for a damaged downloaded copy. An upload sync alone would change nothing: it
    trusts the manifest."""
    src = _tree(tmp_path / "src", FILES)
    url = f"s3://{bucket}/study"
    assert run(["sync", str(src), url, "--quiet"]) == 0
    assert run(["rm", f"{url}/README"]) == 0
    capsys.readouterr()
    assert run(["verify", url]) == 8
    captured = capsys.readouterr()
    assert _lines(captured.out)[0] == "missing     README"
    assert messages(captured.err) == [
        f"error: {url}: 1 file(s) differ from the manifest",
        "hint: upload each file listed again from the study folder, "
        f"`brainbucket cp DIR/PATH {url}/PATH` (an upload sync trusts the manifest and does "
        "not re-send them)",
    ]
    assert run(["cp", str(src / "README"), f"{url}/README"]) == 0
    assert run(["verify", url]) == 0

    down = tmp_path / "down"
    assert run(["sync", url, str(down), "--quiet"]) == 0
    (down / "extra.txt").write_bytes(b"mine")
    capsys.readouterr()
    assert run(["verify", str(down)]) == 0
    captured = capsys.readouterr()
    assert _lines(captured.out)[0] == "untracked   extra.txt"
    assert _lines(captured.err)[0].startswith("hint: untracked files are not part of the dataset")
    assert "a download sync with --delete removes them" in captured.err
    assert run(["sync", url, str(down), "--delete", "--quiet"]) == 0
    assert not (down / "extra.txt").exists()
    victim = down / "sub-01/anat/sub-01_T1w.nii.gz"
    st = victim.stat()
    victim.write_bytes(os.urandom(st.st_size))  # same size, same modification time
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert run(["verify", str(down)]) == 8
    captured = capsys.readouterr()
    assert _lines(captured.out)[0] == (
        "mismatched  sub-01/anat/sub-01_T1w.nii.gz  sha256 differs from the manifest"
    )
    assert _lines(captured.err)[0] == f"error: {down}: 1 file(s) differ from the manifest"
    assert "delete the files listed as mismatched, then re-run the download sync" in captured.err
    victim.unlink()
    assert run(["sync", url, str(down), "--quiet"]) == 0
    capsys.readouterr()
    assert run(["verify", str(down)]) == 0
    assert _lines(capsys.readouterr().out)[-1].startswith("ok: 4 files checked, 0 missing")


def test_fsync_flag_flushes_each_download_and_leaves_the_environment(
    bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _tree(tmp_path / "src", FILES)
    url = f"s3://{bucket}/fsync"
    assert run(["sync", str(src), url, "--quiet"]) == 0
    monkeypatch.delenv("BRAINBUCKET_FSYNC", raising=False)
    flushed: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        flushed.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    assert run(["sync", url, str(tmp_path / "plain"), "--quiet"]) == 0
    assert flushed == []
    assert run(["sync", url, str(tmp_path / "flushed"), "--quiet", "--fsync"]) == 0
    assert len(flushed) == len(FILES)
    # A value handed down, not a setting of the process: later calls flush nothing.
    assert "BRAINBUCKET_FSYNC" not in os.environ
    assert run(["sync", url, str(tmp_path / "after"), "--quiet"]) == 0
    assert len(flushed) == len(FILES)


def test_filters_apply_in_order(
    bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _tree(tmp_path / "src", FILES)
    url = f"s3://{bucket}"
    assert (
        run(
            [
                "sync",
                str(src),
                url,
                "--quiet",
                "--exclude",
                "*",
                "--include",
                "sub-02/*",
                "--exclude=*.json",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == ""
    assert sorted(read_manifest(open_store(url))) == ["sub-02/anat/sub-02_T1w.nii.gz"]  # type: ignore[arg-type]


def test_download_and_delete_guard(
    bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _tree(tmp_path / "src", FILES)
    url = f"s3://{bucket}"
    assert run(["sync", str(src), url, "-q"]) == 0
    down = tmp_path / "down"
    assert run(["sync", url, str(down), "-j", "4"]) == 0
    assert "downloaded 4 files" in capsys.readouterr().out
    for name in ("README", "sub-01/anat/sub-01_T1w.nii.gz", "sub-02/anat/sub-02_T1w.json"):
        (src / name).unlink()
    assert run(["sync", str(src), url, "--delete"]) == 2
    err = capsys.readouterr().err
    assert "refusing to delete 3 of 4" in err
    assert "--force" in err
    assert run(["sync", str(src), url, "--delete", "--force", "-q"]) == 0
    assert run(["sync", url, str(down), "--delete", "--force", "-q"]) == 0
    assert [
        p.relative_to(down).as_posix()
        for p in down.rglob("*")
        if p.is_file() and ".brainbucket" not in p.parts
    ] == ["sub-02/anat/sub-02_T1w.nii.gz"]
    assert not (down / "sub-01").exists()  # emptied folders go too


def test_delete_dry_run_shows_what_would_go_and_a_real_run_refuses(
    bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The more-than-half guard: a dry run prints every deletion, exits 0 and says a real
    run would stop; the real run refuses (exit 2) and deletes nothing."""
    src = _tree(tmp_path / "src", FILES)
    url = f"s3://{bucket}/study"
    assert run(["sync", str(src), url, "-q"]) == 0
    for name in ("README", "sub-01/anat/sub-01_T1w.nii.gz", "sub-02/anat/sub-02_T1w.json"):
        (src / name).unlink()
    assert run(["sync", str(src), url, "--delete", "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        "delete       README  6 B  not in source",
        "delete       sub-01/anat/sub-01_T1w.nii.gz  4.9 KiB  not in source",
        "delete       sub-02/anat/sub-02_T1w.json  2 B  not in source",
        "0 to upload (0 B), 3 to delete, 1 unchanged (5.9 KiB)",
    ]
    assert messages(captured.err) == [
        "warning: a real run would stop: refusing to delete 3 of 4 files at the destination "
        "(more than half)",
        "hint: check the source and filters; pass --force if this is meant",
    ]
    assert run(["sync", str(src), url, "--delete", "--dry-run", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [a["action"] for a in doc["actions"]] == ["delete"] * 3
    assert doc["refusal"].startswith("refusing to delete 3 of 4 files")
    assert run(["sync", str(src), url, "--delete", "--dry-run", "--force"]) == 0
    assert messages(capsys.readouterr().err) == []
    assert _data_keys(url) == sorted(FILES)  # nothing was deleted

    assert run(["sync", str(src), url, "--delete"]) == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        "error: refusing to delete 3 of 4 files at the destination (more than half)"
    )
    assert _data_keys(url) == sorted(FILES)


def _data_keys(url: str) -> list[str]:
    return sorted(o.path for o in open_store(url).walk() if not o.path.startswith(".brainbucket/"))


def test_sync_onto_itself_is_refused(
    bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder onto itself, into itself, or from inside itself, and a bucket onto itself:
    a usage error (exit 2) before anything is created or moved."""
    src = _tree(tmp_path / "src", FILES)
    link = tmp_path / "link"
    link.symlink_to(src)
    url = f"s3://{bucket}/study"
    cases = [
        ([str(src), str(src)], f"error: source and destination are the same folder: {src}"),
        ([str(src), str(link)], f"error: source and destination are the same folder: {src}"),
        (
            [str(src), str(src / "copy")],
            f"error: the destination {src / 'copy'} is inside the source {src}",
        ),
        (
            [str(src / "sub-01"), str(src)],
            f"error: the source {src / 'sub-01'} is inside the destination {src}",
        ),
        ([url, url + "/"], f"error: source and destination are the same: {url}"),
    ]
    for argv, first in cases:
        assert run(["sync", *argv, "--delete"]) == 2, argv
        assert capsys.readouterr().err.splitlines()[0] == first
    assert not (src / "copy").exists()
    assert sorted(p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file()) == sorted(
        FILES
    )


def test_bad_inputs_exit_codes(
    bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["sync", str(tmp_path / "nope"), f"s3://{bucket}"]) == 3
    assert "no such folder" in capsys.readouterr().err
    src = _tree(tmp_path / "src", {"a.txt": b"a"})
    assert run(["sync", str(src), "s3://missing-bucket-q"]) == 3
    err = capsys.readouterr().err
    assert "no such bucket" in err
    assert "brainbucket mb s3://missing-bucket-q" in err
    (src / "loop").symlink_to(src)
    assert run(["sync", str(src), f"s3://{bucket}"]) == 12
    err = capsys.readouterr().err
    assert "symlink loop" in err
    assert "Traceback" not in err
    assert open_store(f"s3://{bucket}").read_bytes("a.txt") == b"a"  # the rest still synced
    assert run(["sync", str(src), f"s3://{bucket}/b", "--no-follow-symlinks", "-q"]) == 0
    assert run(["verify", str(tmp_path / "src")]) == 3


def test_unreadable_file_is_reported_rest_goes_on(bucket: str, tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    src = _tree(tmp_path / "src", {"ok/a.txt": b"fine", "secret/b.txt": b"locked"})
    (src / "secret" / "b.txt").chmod(0)
    cmd = [sys.executable, "-m", "brainbucket", "sync", str(src), f"s3://{bucket}"]
    if os.geteuid() == 0:
        # root reads anything; without these two capabilities it obeys file modes like anyone.
        setpriv = shutil.which("setpriv")
        assert setpriv, "running as root needs setpriv (util-linux) to drop DAC capabilities"
        caps = "-dac_override,-dac_read_search"
        cmd = [setpriv, f"--bounding-set={caps}", f"--inh-caps={caps}", *cmd]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 12, proc.stderr
    assert "secret/b.txt" in proc.stderr
    assert "Traceback" not in proc.stderr
    store = open_store(f"s3://{bucket}")
    assert store.read_bytes("ok/a.txt") == b"fine"
    assert not store.exists("secret/b.txt")
    assert sorted(read_manifest(store)) == ["ok/a.txt"]  # type: ignore[arg-type]
