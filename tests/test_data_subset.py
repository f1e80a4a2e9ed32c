"""``tests/data/``: small, described, and exactly what ``make_subset.py`` makes from the corpus."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def test_every_file_is_described(data_dir: Path) -> None:
    readme = (data_dir / "README.md").read_text()
    missing = [n for n in _files(data_dir) if n != "README.md" and f"`{n}`" not in readme]
    assert missing == [], "describe them in tests/data/README.md"


def test_the_material_stays_small(data_dir: Path) -> None:
    total = sum((data_dir / name).stat().st_size for name in _files(data_dir))
    assert total < 1_500_000


def _content(path: Path) -> bytes:
    """The bytes a test reads: gzip members compared uncompressed (zlib builds differ)."""
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


@pytest.mark.corpus
def test_data_is_what_make_subset_makes_from_the_corpus(
    data_dir: Path, full_corpus: Path, tmp_path: Path
) -> None:
    script = data_dir / "make_subset.py"
    subprocess.run(
        [sys.executable, str(script), str(full_corpus), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    made = _files(tmp_path)
    assert set(made) < set(_files(data_dir))
    for name in made:
        assert _content(tmp_path / name) == _content(data_dir / name), (
            f"{name} is stale: run tests/data/make_subset.py"
        )
