"""Hints in CLI syntax, ``mirror`` commands on a mirror that does not exist, and declined
confirmations, as a user meets them."""

from __future__ import annotations

import ast
import io
import re
import sys
from pathlib import Path

import pytest

import brainbucket
from brainbucket import open_store
from brainbucket._demo import build_demo_study
from brainbucket.cli import run
from cli_text import messages

SRC = Path(brainbucket.__file__).parent

# Python where a command-line user needs an option: offline=False, sample(), store='...'.
_PYTHON = re.compile(r"\b[a-z_]+=(True|False|None|['\"])|\b[a-z_]+\(\)")


def _hints() -> list[tuple[str, str]]:
    """Every hint written in the package: ``hint=`` arguments and ``default_hint``s."""
    found: list[tuple[str, str]] = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            values: list[ast.AST] = []
            if isinstance(node, ast.keyword) and node.arg == "hint":
                values.append(node.value)
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id in ("default_hint", "hint") for t in node.targets
            ):
                values.append(node.value)
            for value in values:
                for const in ast.walk(value):
                    if isinstance(const, ast.Constant) and isinstance(const.value, str):
                        found.append((f"{path.relative_to(SRC)}:{const.lineno}", const.value))
    return found


def test_hints_use_cli_syntax() -> None:
    hints = _hints()
    assert len(hints) > 50  # the walk finds them
    python = [(where, text) for where, text in hints if _PYTHON.search(text)]
    assert python == []


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return build_demo_study(tmp_path / "demo", subjects=2)


def test_offline_hints(demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = str(tmp_path / "cache")
    code, _, err = cli(
        capsys, "get", str(demo), "--subject", "01", "--offline", "--cache-dir", cache
    )
    assert code == 11
    assert err.splitlines()[1] == (
        "hint: run once without --offline or BRAINBUCKET_OFFLINE to record it"
    )
    assert cli(capsys, "get", str(demo), "--subject", "01", "--cache-dir", cache)[0] == 0
    code, _, err = cli(
        capsys, "get", str(demo), "--subject", "02", "--offline", "--cache-dir", cache
    )
    assert code == 11
    assert err.splitlines()[1] == (
        "hint: turn offline mode off to fetch what is missing: drop --offline, unset "
        "BRAINBUCKET_OFFLINE"
    )


def test_phenotype_without_participants_hint(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (demo / "participants.tsv").unlink()
    code, _, err = cli(capsys, "study", str(demo), "--where", "age > 1")
    assert code == 3
    assert err.splitlines() == [
        f"error: {demo} has no participants.tsv",
        "hint: selection by phenotype needs participants.tsv; choose subjects with --subject "
        "or --sample instead",
    ]


def test_assembly_store_hint(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "assembly", "list")
    assert code == 2
    assert err.splitlines() == [
        "error: no assembly store given",
        "hint: name it with --store s3://bucket/prefix, or set BRAINBUCKET_STORE",
    ]


# -- mirror commands on a mirror the cache does not hold -------------------------------------


@pytest.mark.parametrize(
    "args", [["verify"], ["status"], ["gc", "--max-size", "0"]], ids=lambda a: a[0]
)
def test_mirror_commands_refuse_an_unknown_mirror(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    cache = tmp_path / "cache"
    study = tmp_path / "never-fetched"
    study.mkdir()
    code, out, err = cli(capsys, "mirror", *args, str(study), "--cache-dir", str(cache))
    assert code == 3
    assert err.splitlines() == [
        f"error: no mirror of {study} in {cache}",
        "hint: `brainbucket mirror status` lists the mirrors in the cache; `brainbucket get` "
        "fills one",
    ]
    assert out == ""  # not "0 files checked"


def test_a_mirror_from_another_endpoint_is_named(
    s3_env: dict[str, str], bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    open_store(f"s3://{bucket}").write_bytes("sub-01/anat/sub-01_T1w.nii.gz", b"t1")
    cache = str(tmp_path / "cache")
    assert cli(capsys, "get", f"s3://{bucket}", "--subject", "01", "--cache-dir", cache)[0] == 0
    code, _, err = cli(
        capsys,
        "mirror",
        "verify",
        f"s3://{bucket}",
        "--cache-dir",
        cache,
        "--endpoint-url",
        "http://127.0.0.1:9",
    )
    assert code == 3
    endpoint = s3_env["BRAINBUCKET_ENDPOINT_URL"]
    assert err.splitlines()[1] == (
        f"hint: the cache holds one from {endpoint}: add --endpoint-url {endpoint}"
    )
    code, out, _ = cli(capsys, "mirror", "verify", f"s3://{bucket}", "--cache-dir", cache)
    assert code == 0
    assert out.strip() == "1 files checked, 0 damaged"


# -- confirmation prompts ----------------------------------------------------------------------


class _Terminal(io.StringIO):
    """Standard input as a terminal that types ``answer``."""

    def isatty(self) -> bool:
        return True


class _CtrlC(_Terminal):
    def readline(self, *args: object) -> str:
        raise KeyboardInterrupt


@pytest.fixture
def prefix(s3_env: dict[str, str], bucket: str) -> str:
    store = open_store(f"s3://{bucket}")
    for k in ("sub-01/a.txt", "sub-01/b.txt"):
        store.write_bytes(k, b"x")
    return f"s3://{bucket}/sub-01"


def test_declining_rm_exits_1_and_removes_nothing(
    prefix: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", _Terminal("n\n"))
    code, out, err = cli(capsys, "rm", "-r", prefix)
    assert code == 1
    assert out.startswith(f"Delete 2 objects under {prefix}? [y/N]")
    assert messages(err) == ["nothing removed"]
    assert [o.path for o in open_store(prefix).walk()] == ["a.txt", "b.txt"]


def test_an_empty_answer_is_no(
    prefix: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", _Terminal("\n"))
    assert cli(capsys, "rm", "-r", prefix)[0] == 1
    assert len(list(open_store(prefix).walk())) == 2


def test_ctrl_c_at_the_prompt_is_still_an_interruption(
    prefix: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", _CtrlC())
    assert cli(capsys, "rm", "-r", prefix)[0] == 130
    assert len(list(open_store(prefix).walk())) == 2


def test_yes_at_the_prompt_removes(
    prefix: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", _Terminal("y\n"))
    code, out, _ = cli(capsys, "rm", "-r", prefix)
    assert code == 0
    assert out.rstrip().endswith(f"? [y/N]: deleted 2 objects under {prefix}")
    assert list(open_store(prefix).walk()) == []
