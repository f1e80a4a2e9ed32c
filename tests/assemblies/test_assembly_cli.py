"""`brainbucket assembly ...` end to end: output, JSON and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brainbucket.assemblies._netcdf import write_netcdf
from brainbucket.cli import run


def _json(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    return json.loads(capsys.readouterr().out)


def test_upload_load_list_show_versions(
    bucket: str, cache: Path, assembly, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"s3://{bucket}/cat"
    nc = write_netcdf(assembly, tmp_path / "a.nc")
    assert run(["assembly", "upload", str(nc), "lab.cli", "--store", store, "--json"]) == 0
    v1 = _json(capsys)
    assert v1["kind"] == "netcdf"
    nc2 = write_netcdf(assembly * 2, tmp_path / "b.nc")
    assert run(["assembly", "upload", str(nc2), "lab.cli", "--store", store, "--json"]) == 0
    v2 = _json(capsys)

    assert (
        run(
            [
                "assembly",
                "load",
                "lab.cli",
                "--version-id",
                v1["version_id"],
                "--sha1",
                v1["sha1"],
                "--store",
                store,
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert Path(captured.out.strip()).read_bytes() == nc.read_bytes()  # stdout: the path only
    assert v1["version_id"] in captured.err
    assert run(["assembly", "load", "lab.cli", "--store", store, "--json"]) == 0
    got = _json(capsys)
    assert (got["version_id"], got["from_cache"]) == (v2["version_id"], False)

    assert run(["assembly", "list", "--store", store, "--json"]) == 0
    assert [(e["identifier"], e["versions"]) for e in _json(capsys)] == [("lab.cli", 2)]
    assert run(["assembly", "versions", "lab.cli", "--store", store, "--json"]) == 0
    assert [r["version_id"] for r in _json(capsys)] == [v2["version_id"], v1["version_id"]]
    assert run(["assembly", "show", "lab.cli", "--store", store]) == 0
    shown = capsys.readouterr().out
    assert v2["sha1"] in shown
    assert v2["version_id"] in shown
    assert run(["assembly", "list", "--store", store]) == 0
    assert "lab.cli" in capsys.readouterr().out


def test_load_json_path_is_the_local_file(
    bucket: str, cache: Path, assembly, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`load --json` gives the file it fetched as ``path`` (what `load` prints), and the
    object's key in the store as ``key``."""
    store = f"s3://{bucket}/json"
    nc = write_netcdf(assembly, tmp_path / "a.nc")
    assert run(["assembly", "upload", str(nc), "lab.json", "--store", store, "--json"]) == 0
    uploaded = _json(capsys)
    for from_cache in (False, True):  # downloaded, then answered from the cache
        assert run(["assembly", "load", "lab.json", "--store", store, "--json"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 1
        got = json.loads(lines[0])
        assert got["from_cache"] is from_cache
        assert Path(got["path"]).is_file()
        assert Path(got["path"]).is_relative_to(cache)
        assert Path(got["path"]).read_bytes() == nc.read_bytes()
        assert got["key"] == uploaded["path"]
        assert got["location"] == uploaded["location"]
    assert run(["assembly", "load", "lab.json", "--store", store]) == 0
    assert capsys.readouterr().out.splitlines()[0] == got["path"]


def test_export_and_import(bucket: str, cache: Path, assembly, tmp_path: Path, capsys) -> None:
    store = f"s3://{bucket}/a"
    nc = write_netcdf(assembly, tmp_path / "a.nc")
    assert (
        run(
            [
                "assembly",
                "upload",
                str(nc),
                "lab.exp",
                "--store",
                store,
                "--class",
                "NeuronRecordingAssembly",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert run(["assembly", "export", "-", "--store", store]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[1].startswith("lab.exp,assembly,NeuronRecordingAssembly,S3,")
    (tmp_path / "lookup.csv").write_text(text)
    assert (
        run(
            [
                "assembly",
                "import",
                str(tmp_path / "lookup.csv"),
                "--store",
                f"s3://{bucket}",
                "--json",
            ]
        )
        == 0
    )
    assert [r["identifier"] for r in _json(capsys)] == ["lab.exp"]


def test_errors_are_one_line_with_documented_codes(
    bucket: str, cache: Path, assembly, tmp_path: Path, capsys, as_identity, monkeypatch
) -> None:
    store = f"s3://{bucket}/err"
    nc = write_netcdf(assembly, tmp_path / "a.nc")
    assert run(["assembly", "upload", str(nc), "lab.err", "--store", store, "--json"]) == 0
    rec = _json(capsys)

    cases = [
        (["assembly", "load", "lab.nope", "--store", store], 3, "no assembly 'lab.nope'"),
        (
            ["assembly", "load", "lab.err", "--version-id", "zzz", "--store", store],
            3,
            "has no version 'zzz'",
        ),
        (
            [
                "assembly",
                "load",
                "lab.err",
                "--version-id",
                rec["version_id"],
                "--sha1",
                "0" * 40,
                "--store",
                store,
            ],
            8,
            "not the expected",
        ),
        (
            ["assembly", "upload", str(tmp_path / "missing.nc"), "lab.err", "--store", store],
            3,
            "no such file",
        ),
        (
            ["assembly", "upload", str(nc), "bad/id", "--store", store],
            2,
            "invalid assembly identifier",
        ),
        (["assembly", "versions", "lab.nope", "--store", store], 3, "lab.err"),
    ]
    for argv, code, text in cases:
        assert run(argv) == code, argv
        err = capsys.readouterr().err
        assert text in err, (argv, err)
        assert "Traceback" not in err

    monkeypatch.delenv("BRAINBUCKET_STORE", raising=False)
    assert run(["assembly", "list"]) == 2
    assert "BRAINBUCKET_STORE" in capsys.readouterr().err

    as_identity(None)
    assert run(["assembly", "load", "lab.err", "--store", store]) == 5
    err = capsys.readouterr().err
    assert "private: credentials required — pass --profile or set AWS_PROFILE" in err
    assert err.count("error:") == 1
    assert "Traceback" not in err

    as_identity("readonly")
    assert (
        run(
            [
                "assembly",
                "upload",
                str(write_netcdf(assembly * 5, tmp_path / "c.nc")),
                "lab.err",
                "--store",
                store,
            ]
        )
        == 4
    )
    assert "may not upload" in capsys.readouterr().err
