"""Selective download: which files a subject/session/datatype/phenotype choice moves."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .._exceptions import UsageError
from ._query import FILTERS, Query, Values
from ._schema import BIDSFile
from ._study import Study

__all__ = ["Selection", "selector"]


@dataclass(frozen=True)
class Selection:
    """The files a selection moves: the requested ones plus the dataset-level ones.

    Calling the selection with a path answers whether that path is selected, so it serves as
    the ``select=`` predicate of a sync.

    Attributes
    ----------
    files
        Every selected file (requested files first, then dataset-level files), sorted by path.
    subjects
        The subjects the selection resolved to (after ``where`` and ``sample``).
    criteria
        The filters as given, for display.
    """

    files: tuple[BIDSFile, ...]
    subjects: tuple[str, ...]
    criteria: dict[str, Any] = field(default_factory=dict)
    _paths: frozenset[str] = field(default=frozenset(), repr=False)

    def __call__(self, path: str) -> bool:
        return path in self._paths

    @property
    def paths(self) -> frozenset[str]:
        return self._paths

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def count(self) -> int:
        return len(self.files)

    def summary(self) -> str:
        """One line: how many files and bytes, for how many subjects.

        Examples
        --------
        >>> Selection((), ()).summary()
        '0 files, 0 bytes, 0 subjects'
        """
        return f"{self.count} files, {self.size} bytes, {len(self.subjects)} subjects"

    def to_dict(self) -> dict[str, Any]:
        return {
            "criteria": self.criteria,
            "subjects": list(self.subjects),
            "count": self.count,
            "size": self.size,
            "files": [f.path for f in self.files],
        }


def selector(
    study: Study,
    *,
    sample: int | None = None,
    seed: int = 0,
    where: str | None = None,
    **filters: Any,
) -> Selection:
    """Resolve a selective download into a :class:`Selection` (a path predicate with sizes).

    ``filters`` are those of :meth:`Study.files` (``subject``, ``session``, ``datatype``,
    ``suffix``, ``extension``, ``pipeline`` and other entities by name). Subjects are narrowed
    in this order: the ``subject`` list, then the ``where`` phenotype query on
    ``participants.tsv``, then a reproducible random ``sample`` of what is left. The other
    filters pick files within those subjects; a subject's own files at the root of the study or
    of a pipeline (``sub-03.html``) are that subject's. Dataset-level files
    (``dataset_description.json``, ``participants.tsv``, README, top-level sidecars, and the
    root files of each selected pipeline) are always included, so the result is a usable BIDS
    dataset.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from brainbucket._demo import build_demo_study
    >>> study = Study(build_demo_study(pathlib.Path(tempfile.mkdtemp()) / "s", subjects=3))
    >>> sel = selector(study, subject="02", datatype="anat", pipeline="raw")
    >>> sorted(sel.paths)[:2]
    ['README', 'dataset_description.json']
    >>> sel("sub-02/ses-01/anat/sub-02_ses-01_T1w.nii"), sel("sub-01/ses-01/anat/sub-01_ses-01_T1w.nii")
    (True, False)
    """
    query = Query.of(**filters)
    # The filters as given (for display): the named ones, then sample, seed and where, then
    # other entities.
    named = {k: v for k, v in filters.items() if k in FILTERS}
    given = {
        **named,
        "sample": sample,
        "seed": seed if sample is not None else None,
        "where": where,
        **filters,
    }
    criteria = {k: v for k, v in given.items() if v is not None}
    # A typo is refused before participants.tsv is read or subjects are drawn.
    study.index.check(query)
    subjects: list[str] | None = None
    if query.subject is not None:
        names = list(query.subject)
        known = set(study.subjects())
        missing = [s for s in names if s not in known]
        if missing:
            shown = ", ".join(f"sub-{s}" for s in missing[:5])
            msg = f"no such subject in {study.store.describe()}: {shown}"
            raise UsageError(
                msg,
                hint=f"the study has {len(known)} subjects; list them with `brainbucket study URL`",
            )
        subjects = sorted(set(names))
    if where is not None:
        chosen = study.select(where)
        subjects = chosen if subjects is None else [s for s in subjects if s in set(chosen)]
    if sample is not None:
        subjects = study.sample(sample, seed, among=subjects)
    if subjects is None:
        subjects = study.subjects()
        subject_filter: list[str] | None = None
    else:
        subject_filter = subjects
    if subject_filter is None:
        wanted = study.index.matching(query)
    elif subject_filter:
        wanted = study.index.matching(replace(query, subject=tuple(subject_filter)))
    else:
        wanted = []
    # A subject-less file (code/, sourcedata/, a template's tpl-*/) travels only when no
    # choice of subjects or sessions narrows the selection. A datatype alone does not: the
    # index already leaves out files without one, and a template's anat/ files are anat.
    narrowing = any(v is not None for v in (query.subject, query.session, where, sample))
    if narrowing:
        wanted = [f for f in wanted if f.subject is not None]
    pipelines = _pipelines_of(study, query.pipeline)
    dataset = [f for f in study.dataset_files() if f.pipeline is None or f.pipeline in pipelines]
    seen: set[str] = set()
    files: list[BIDSFile] = []
    for f in sorted(wanted, key=lambda f: f.path) + sorted(dataset, key=lambda f: f.path):
        if f.path not in seen:
            seen.add(f.path)
            files.append(f)
    return Selection(tuple(files), tuple(subjects), criteria, frozenset(seen))


def _pipelines_of(study: Study, pipeline: Values) -> set[str]:
    if pipeline is None:
        return set(study.pipelines())
    names = set(pipeline)
    unknown = names - set(study.pipelines()) - {"raw"}
    if unknown:
        msg = f"no such pipeline in {study.store.describe()}: {', '.join(sorted(unknown))}"
        raise UsageError(msg, hint=f"pipelines here: {', '.join(study.pipelines()) or 'none'}")
    return names
