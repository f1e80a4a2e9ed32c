"""The whole index against pybids: subjects, sessions and datatypes of every one of the 101
BIDS example datasets (the full corpus's ``bids-examples.tar.gz``) as pybids reads them.

pybids reads each dataset with ``validate=False`` and ``derivatives=True``; brainbucket reads
the same folder. Like is compared with like; the deliberate differences:

- pybids indexes a ``derivatives/<pipeline>/`` only when it holds a
  ``dataset_description.json``; brainbucket keeps every pipeline folder, since a sync must move
  every file. Answers are compared over raw data and the pipelines pybids indexed, and
  ``Study.subjects()`` etc. as they are wherever pybids indexed every pipeline (the one place
  they differ: ``ieeg_motorMiller2007``'s undescribed ``derivatives/surfaces/``, which holds
  a ``sub-Talairach/``).
- pybids' configuration lists the datatypes it knows (``bids/layout/config/bids.json``); the
  BIDS schema brainbucket reads has more (``emg``, added in BIDS 1.11). Datatypes are
  compared over those pybids knows, and the others must be the schema's.
"""

from __future__ import annotations

import gzip
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from brainbucket import Study
from brainbucket.bids import vocabulary

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

# The repository's test material (tests/data/).
DATA = Path(__file__).resolve().parents[1] / "data"


def _dataset_names() -> list[str]:
    """The example datasets: top-level folders with a dataset_description.json, read from the
    file names kept in the repository (so the tests are listed where the corpus is absent)."""
    names = gzip.decompress((DATA / "bids-examples-keys.txt.gz").read_bytes()).decode()
    return sorted(
        n.partition("/")[0]
        for n in names.splitlines()
        if n.count("/") == 1 and n.endswith("/dataset_description.json")
    )


NAMES = _dataset_names()


def test_there_are_101_example_datasets() -> None:
    assert len(NAMES) == 101


# The corpus extracted once per session, by corpus folder.
_EXTRACTED: dict[Path, Path] = {}


@pytest.fixture
def corpus_examples(full_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every example dataset, extracted once."""
    if full_corpus not in _EXTRACTED:
        dest = tmp_path_factory.mktemp("bids-examples-all")
        tarball = full_corpus / "bids-examples.tar.gz"
        subprocess.run(["tar", "-xzf", str(tarball), "-C", str(dest)], check=True)
        _EXTRACTED[full_corpus] = dest
    return _EXTRACTED[full_corpus]


def _pybids_datatypes(layout: Any) -> frozenset[str]:
    """The datatypes pybids' configuration can find: the alternatives of its pattern."""
    pattern = layout.entities["datatype"].pattern
    found = re.search(r"\(([a-z|]+)\)", pattern)
    assert found is not None, pattern
    return frozenset(found.group(1).split("|"))


def _answers(files: Iterable[Any]) -> tuple[list[str], list[str], list[str]]:
    files = list(files)
    return (
        sorted({f.subject for f in files if f.subject is not None}),
        sorted({f.session for f in files if f.session is not None}),
        sorted({f.datatype for f in files if f.datatype is not None}),
    )


# pybids warns about sidecars it cannot attach and about datasets without described
# pipelines: its own concerns, not the comparison's.
@pytest.mark.filterwarnings("ignore::UserWarning:bids.*")
@pytest.mark.parametrize("name", NAMES)
def test_subjects_sessions_datatypes_match_pybids(name: str, corpus_examples: Path) -> None:
    import bids

    root = corpus_examples / name
    layout: Any = bids.BIDSLayout(root, validate=False, derivatives=True)
    theirs = (
        sorted(layout.get_subjects()),
        sorted(layout.get_sessions()),
        sorted(layout.get_datatypes()),
    )
    study = Study(root)
    indexed = sorted(Path(d.root).name for d in layout.derivatives.values())
    subjects, sessions, datatypes = _answers(study.files(pipeline=["raw", *indexed]))
    known = _pybids_datatypes(layout)
    assert (subjects, sessions, [d for d in datatypes if d in known]) == theirs
    assert set(datatypes) - known <= vocabulary().datatypes
    if set(study.pipelines()) <= set(indexed):
        assert (study.subjects(), study.sessions(), study.datatypes()) == (
            subjects,
            sessions,
            datatypes,
        )
