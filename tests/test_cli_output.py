"""What the command line prints, as a user meets it, for a person and for a script.

Tests run the commands in-process with standard output captured, which is not a terminal:
tables come out tab-separated, as in any pipe. The terminal layout is checked by saying
standard output is a terminal.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from brainbucket import open_store, sync
from brainbucket.assemblies._netcdf import write_netcdf
from brainbucket.cli import _render, run
from brainbucket.store import S3Settings, list_buckets


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def study(bucket: str) -> str:
    store = open_store(f"s3://{bucket}")
    store.write_bytes("dataset_description.json", b'{"Name": "x"}')
    store.write_bytes("sub-01/anat/sub-01_T1w.nii.gz", b"t1" * 100)
    store.write_bytes("sub-01/anat/sub-01_aparc+aseg.nii.gz", b"seg" * 10)
    store.write_bytes("sub-02/dwi/sub-02_dwi.nii.gz", b"dwi" * 50)
    store.write_bytes("sub-02/dwi/with space ü.json", b"{}")
    return bucket


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Standard output is a terminal, 120 columns wide."""
    monkeypatch.setattr(_render, "to_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "120")


# -- ls without a bucket: the account's buckets -------------------------------------------------


@pytest.mark.parametrize("args", [["ls"], ["ls", "s3://"]])
def test_ls_without_a_bucket_lists_the_buckets(
    capsys: pytest.CaptureFixture[str], bucket: str, args: list[str]
) -> None:
    code, out, err = cli(capsys, *args)
    assert code == 0, err
    first = list_buckets(S3Settings.from_options())[0]
    assert out.splitlines()[0] == f"{first.created:%Y-%m-%d %H:%M:%S} {first.name}"
    assert any(line.endswith(f" {bucket}") for line in out.splitlines())


def test_ls_buckets_json_and_without_credentials(
    capsys: pytest.CaptureFixture[str], bucket: str, as_identity
) -> None:
    code, out, _ = cli(capsys, "ls", "s3://", "--json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    mine = next(r for r in rows if r["name"] == bucket)
    assert mine["type"] == "bucket"
    assert datetime.fromisoformat(mine["created"]).tzinfo is not None
    as_identity(None)  # nobody: buckets belong to an account
    code, out, err = cli(capsys, "ls")
    assert code == 5
    assert out == ""
    assert err.splitlines()[0] == (
        "error: s3://: listing your buckets needs credentials, and none were found"
    )


# -- tree -------------------------------------------------------------------------------------


def test_tree_draws_branches_as_tree_does(capsys: pytest.CaptureFixture[str], study: str) -> None:
    code, out, err = cli(capsys, "tree", f"s3://{study}", "--depth", "3")
    assert code == 0, err
    assert out.splitlines() == [
        f"s3://{study}",
        "├── dataset_description.json (13 B)",
        "├── sub-01/",
        "│   └── anat/",
        "│       ├── sub-01_T1w.nii.gz (200 B)",
        "│       └── sub-01_aparc+aseg.nii.gz (30 B)",
        "└── sub-02/",
        "    └── dwi/",
        "        ├── sub-02_dwi.nii.gz (150 B)",
        "        └── with space ü.json (2 B)",
    ]


def test_tree_of_one_level_ends_with_its_last_entry(
    capsys: pytest.CaptureFixture[str], study: str
) -> None:
    code, out, _ = cli(capsys, "tree", f"s3://{study}", "--depth", "1")
    assert code == 0
    assert out.splitlines()[1:] == [
        "├── dataset_description.json (13 B)",
        "├── sub-01/",
        "└── sub-02/",
    ]


# -- tables: tab-separated in a pipe, aligned at a terminal -------------------------------------


def test_du_in_a_pipe_is_tab_separated_bytes(
    capsys: pytest.CaptureFixture[str], study: str
) -> None:
    code, out, err = cli(capsys, "du", f"s3://{study}")
    assert code == 0, err
    assert out.splitlines() == [
        "dataset_description.json\t1\t13",
        "sub-01/\t2\t230",
        "sub-02/\t2\t152",
        "total\t5\t395",
    ]


def test_a_pipe_gets_ids_whole_and_one_row_per_line(
    capsys: pytest.CaptureFixture[str], bucket: str
) -> None:
    long_name = "sub-" + "0123456789" * 15
    open_store(f"s3://{bucket}").write_bytes(f"{long_name}/a.txt", b"abc")
    code, out, _ = cli(capsys, "du", f"s3://{bucket}")
    assert code == 0
    assert out.splitlines() == [f"{long_name}/\t1\t3", "total\t1\t3"]
    # A tab or a line break inside a value is escaped: the row keeps its fields and its line.
    _render.print_table(["path", "size"], [("a\tb\nc", 1)])
    assert capsys.readouterr().out == "a\\tb\\nc\t1\n"


def test_du_at_a_terminal_is_aligned_with_a_header_and_folds_long_ids(
    capsys: pytest.CaptureFixture[str], bucket: str, terminal: None
) -> None:
    long_name = "sub-" + "0123456789" * 15  # wider than the terminal
    open_store(f"s3://{bucket}").write_bytes(f"{long_name}/a.txt", b"x" * 2048)
    code, out, _ = cli(capsys, "du", f"s3://{bucket}")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["path", "objects", "bytes", "size"]
    assert "…" not in out  # folded onto more lines, never cut short
    assert long_name in "".join(line.split()[0] for line in lines[1:-1] if line.strip())
    assert lines[-1].split() == ["total", "1", "2048", "2.0", "KiB"]


def test_status_in_a_pipe(capsys: pytest.CaptureFixture[str], bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub-01").mkdir(parents=True)
    (src / "README").write_bytes(b"readme")
    (src / "sub-01" / "notes.txt").write_bytes(b"12345")
    code, out, err = cli(capsys, "status", str(src), f"s3://{bucket}/study")
    assert code == 0, err
    assert out.splitlines() == [
        "upload\tREADME\t6\tnew",
        "upload\tsub-01/notes.txt\t5\tnew",
    ]
    assert err.splitlines()[0] == "2 to upload (11 B), 0 to delete, 0 unchanged (0 B)"


def test_mirror_status_in_a_pipe(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRAINBUCKET_CACHE", str(tmp_path / "state"))
    src = tmp_path / "study"
    (src / "sub-01").mkdir(parents=True)
    (src / "sub-01" / "notes.txt").write_bytes(b"12345")
    cache = tmp_path / "cache"
    code, out, err = cli(capsys, "get", str(src), "sub-01/notes.txt", "--cache-dir", str(cache))
    assert code == 0, err
    root = Path(out.strip()).parents[2]  # the mirror's folder, above files/sub-01/
    code, out, err = cli(capsys, "mirror", "status", "--cache-dir", str(cache))
    assert code == 0, err
    assert out.splitlines() == [f"{src}\t1\t5\t{root}"]
    assert err.splitlines() == ["1 mirror(s), 1 files, 5 B"]


def test_assembly_tables_in_a_pipe_show_whole_digests(
    capsys: pytest.CaptureFixture[str], bucket: str, cache: Path, assembly, tmp_path: Path
) -> None:
    store = f"s3://{bucket}/cat"
    nc = write_netcdf(assembly, tmp_path / "a.nc")
    assert run(["assembly", "upload", str(nc), "lab.pipe", "--store", store, "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    code, out, _ = cli(capsys, "assembly", "list", "--store", store)
    assert code == 0
    assert out.splitlines() == [
        f"lab.pipe\t1\t{rec['version_id']}\t{rec['sha1']}\t{rec['size']}\t{rec['time']}"
    ]
    code, out, _ = cli(capsys, "assembly", "versions", "lab.pipe", "--store", store)
    assert code == 0
    assert out.splitlines() == [
        f"{rec['version_id']}\t{rec['sha1']}\t{rec['size']}\t{rec['time']}\t{rec['uploader']}"
    ]
    code, out, _ = cli(capsys, "assembly", "show", "lab.pipe", "--store", store)
    assert code == 0
    assert out.splitlines()[:3] == [
        "identifier\tlab.pipe",
        f"version_id\t{rec['version_id']}",
        f"sha1\t{rec['sha1']}",
    ]


def test_assembly_list_at_a_terminal_shortens_the_digest(
    capsys: pytest.CaptureFixture[str],
    bucket: str,
    cache: Path,
    assembly,
    tmp_path: Path,
    terminal: None,
) -> None:
    store = f"s3://{bucket}/cat"
    nc = write_netcdf(assembly, tmp_path / "a.nc")
    assert run(["assembly", "upload", str(nc), "lab.tty", "--store", store, "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    code, out, _ = cli(capsys, "assembly", "list", "--store", store)
    assert code == 0
    assert out.splitlines()[0].split() == [
        "identifier",
        "versions",
        "newest",
        "version_id",
        "sha1",
        "size",
        "uploaded",
    ]
    assert rec["sha1"][:12] in out
    assert rec["sha1"] not in out


def test_access_and_doctor_in_a_pipe(
    capsys: pytest.CaptureFixture[str], bucket: str, s3_env: dict[str, str]
) -> None:
    url = f"s3://{bucket}/pub"
    code, out, _ = cli(capsys, "access", url)
    assert code == 0
    assert out.splitlines() == [f"{url}\tprivate\tno"]
    code, out, _ = cli(capsys, "doctor", f"s3://{bucket}")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"url\ts3://{bucket}"
    assert f"access key id\t{s3_env['AWS_ACCESS_KEY_ID']}" in lines
    first_gap = lines.index("")
    second_gap = lines.index("", first_gap + 1)
    checks = lines[first_gap + 1 : second_gap]
    assert checks
    assert all(line.split("\t")[0] == "ok" and line.count("\t") == 2 for line in checks)
    # Then what the server supports: a row per capability, tab-separated (no header in a pipe).
    rows = dict(line.split("\t")[:2] for line in lines[second_gap + 1 :])
    assert rows["conditional_writes"] == "yes"
    assert rows["versioning"] == "yes"


def test_study_summary_in_a_pipe_lists_every_subject(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    src = tmp_path / "study"
    for i in range(1, 16):  # more than a terminal shows
        p = src / f"sub-{i:02d}" / "anat" / f"sub-{i:02d}_T1w.nii.gz"
        p.parent.mkdir(parents=True)
        p.write_bytes(b"x")
    (src / "dataset_description.json").write_text('{"Name": "x", "BIDSVersion": "1.8.0"}')
    code, out, err = cli(capsys, "study", str(src))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"study\t{src}"
    assert f"subjects\t{', '.join(f'{i:02d}' for i in range(1, 16))}" in lines


# -- ls --json: what the manifest knows -----------------------------------------------------------


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_ls_json_fills_version_and_sha256_from_the_manifest(
    capsys: pytest.CaptureFixture[str], bucket: str, tmp_path: Path
) -> None:
    files = {"README": b"readme\n", "sub-01/anat/sub-01_T1w.nii.gz": os.urandom(3000)}
    src = tmp_path / "src"
    for name, data in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    url = f"s3://{bucket}/study"
    assert sync(src, url).ok
    store = open_store(url)
    versions = {p: store.info(p).version_id for p in files}
    store.write_bytes("extra.txt", b"not in the manifest")

    name = "sub-01/anat/sub-01_T1w.nii.gz"
    info = store.info(name)
    code, out, err = cli(capsys, "ls", "--json", f"{url}/sub-01/anat")
    assert code == 0, err
    assert json.loads(out.splitlines()[0]) == {
        "type": "object",
        "path": "sub-01_T1w.nii.gz",
        "size": 3000,
        "last_modified": info.last_modified.isoformat() if info.last_modified else None,
        "etag": info.etag,
        "version_id": versions[name],
        "sha256": _sha256(files[name]),
    }

    code, out, err = cli(capsys, "ls", "-r", "--json", url)
    assert code == 0, err
    rows = {r["path"]: r for r in map(json.loads, out.splitlines())}
    for name, data in files.items():
        assert (rows[name]["sha256"], rows[name]["version_id"]) == (_sha256(data), versions[name])
    assert rows["extra.txt"]["sha256"] is None
    assert not any(p.startswith(".brainbucket/") and rows[p]["sha256"] for p in rows)

    # An object named by its URL: the same answer.
    name = "sub-01/anat/sub-01_T1w.nii.gz"
    code, out, _ = cli(capsys, "ls", "--json", f"{url}/{name}")
    assert code == 0
    (row,) = map(json.loads, out.splitlines())
    assert (row["sha256"], row["version_id"]) == (_sha256(files[name]), versions[name])

    # Changed behind the manifest's back: the manifest no longer speaks for it.
    store.write_bytes("README", b"README\n")
    code, out, _ = cli(capsys, "ls", "--json", f"{url}/README")
    assert code == 0
    assert json.loads(out)["sha256"] is None


# -- share --json ---------------------------------------------------------------------------------


def test_share_json_gives_expiry_as_an_iso_8601_time_in_utc(
    capsys: pytest.CaptureFixture[str], bucket: str
) -> None:
    open_store(f"s3://{bucket}").write_bytes("notes/readme.txt", b"shared bytes")
    before = datetime.now(timezone.utc).replace(microsecond=0)
    code, out, err = cli(
        capsys, "share", f"s3://{bucket}/notes/readme.txt", "--expires", "10m", "--json"
    )
    after = datetime.now(timezone.utc)
    assert code == 0, err
    doc = json.loads(out)
    expires = datetime.fromisoformat(doc["expires"])
    assert expires.utcoffset() == timedelta(0)
    assert before + timedelta(minutes=10) <= expires <= after + timedelta(minutes=10)
    assert doc["expires_in"] == 600
    # Never later than the link itself says.
    query = parse_qs(urlsplit(doc["link"]).query)
    signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(
        tzinfo=timezone.utc
    )
    assert expires <= signed + timedelta(seconds=int(query["X-Amz-Expires"][0]))
