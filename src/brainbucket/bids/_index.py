"""An in-memory index of a study's files: parse every key once, answer queries from dicts."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from typing import Any

from .._exceptions import UsageError
from ._keyparser import KeyParser
from ._query import Query, Values
from ._schema import BIDSFile, Vocabulary, vocabulary
from ._terms import check_terms

__all__ = ["FileRow", "StudyIndex", "find_root"]

# (path, size, etag, version_id, sha256): what a listing or manifest says about one object,
# as a plain tuple: a study holds one per file, and the mirror saves them as its listing.
# (``_types.RemoteFile`` is the same facts as attributes, for the sync planner.)
FileRow = tuple[str, int, str | None, str | None, str | None]

# Where brainbucket keeps its own metadata next to the data; never part of the study.
INTERNAL_PREFIX = ".brainbucket/"


def _wanted(values: Values, name: str) -> frozenset[str] | None:
    """One filter's values as a set to test files against; ``None`` means any."""
    if values is None:
        return None
    if not values:
        msg = f"empty list given for the {name} filter"
        raise UsageError(msg, hint="leave the filter out to mean 'any'")
    return frozenset(values)


def find_root(paths: Iterable[str]) -> str:
    """The dataset root among ``paths``: ``""`` if ``dataset_description.json`` is at the top,
    else the single top-level folder that holds one (a bucket holding one study in a folder).

    Examples
    --------
    >>> find_root(["atlas-4S/dataset_description.json", "atlas-4S/README"])
    'atlas-4S/'
    >>> find_root(["dataset_description.json", "sub-01/anat/sub-01_T1w.nii.gz"])
    ''
    """
    tops: set[str] = set()
    candidates: set[str] = set()
    for p in paths:
        if p == "dataset_description.json":
            return ""
        head, sep, rest = p.partition("/")
        tops.add(head if sep else "")
        if rest == "dataset_description.json":
            candidates.add(head)
    if len(tops) == 1 and len(candidates) == 1:
        return next(iter(candidates)) + "/"
    return ""


class StudyIndex:
    """Every file of a study, parsed once; queries by subject are dictionary lookups.

    Parameters
    ----------
    remote
        ``(path, size, etag, version_id, sha256)`` per object, paths relative to the store.
    root
        Folder of the dataset inside the store (``""`` for the store root); it is stripped
        before parsing so folder names above the dataset never become entities.
    """

    def __init__(self, remote: Iterable[FileRow], *, root: str = "") -> None:
        voc = vocabulary()
        self.root = root
        self.vocabulary: Vocabulary = voc
        n = len(root)
        parse = KeyParser(voc).parse
        files: list[BIDSFile] = []
        by_path: dict[str, BIDSFile] = {}
        by_subject: dict[str, list[BIDSFile]] = {}
        dataset_level: list[BIDSFile] = []
        # Parsing creates a few hundred thousand small objects and no reference cycles; the
        # cyclic collector would otherwise run dozens of times for nothing (~25% of the time).
        gc_was_on = gc.isenabled()
        gc.disable()
        try:
            for r in remote:
                path = r[0]
                if path.startswith(INTERNAL_PREFIX):
                    continue
                if root and not path.startswith(root):
                    f = BIDSFile(path, *r[1:], problem="outside the dataset root")
                else:
                    f = parse(path[n:] if n else path, path, r[1:])
                files.append(f)
                by_path[path] = f
                if f.subject is not None:
                    group = by_subject.get(f.subject)
                    if group is None:
                        by_subject[f.subject] = [f]
                    else:
                        group.append(f)
                elif f.level == "dataset":
                    dataset_level.append(f)
        finally:
            if gc_was_on:
                gc.enable()
        self.files = files
        self.by_path = by_path
        self.by_subject = by_subject
        self.dataset_level = dataset_level

    def __len__(self) -> int:
        return len(self.files)

    def __iter__(self) -> Iterator[BIDSFile]:
        return iter(self.files)

    def values(self, attr: str) -> list[str]:
        """The values of one attribute across the files (``"entity"``: entity names)."""
        if attr == "entity":
            return sorted({k for f in self.files for k in f.entities})
        return sorted({v for f in self.files if (v := getattr(f, attr)) is not None})

    def check(self, query: Query) -> None:
        """Refuse a datatype, suffix, extension or entity that neither the BIDS schema nor
        this study knows (a :class:`UsageError` naming the closest match)."""
        check_terms(query, self.vocabulary, self.values)

    def query(self, **filters: Any) -> list[BIDSFile]:
        """Files matching every given filter (each filter: one value or a list of values).

        The filters are those of :meth:`Query.of`, other entities as ``entities={...}``.
        ``pipeline="raw"`` means raw data only; a pipeline name means only that derivatives
        folder; ``None`` means any.
        """
        return self.matching(Query.of(**filters))

    def matching(self, query: Query) -> list[BIDSFile]:
        """Files matching every filter of ``query``.

        Raises
        ------
        UsageError
            A filter was given an empty list (leave it out to mean any), or a value that
            neither the BIDS schema nor the study knows (see :meth:`check`).
        """
        self.check(query)
        subjects = _wanted(query.subject, "subject")
        if subjects is None:
            pool: Iterable[BIDSFile] = self.files
        else:
            pool = [f for s in sorted(subjects) for f in self.by_subject.get(s, ())]
        sessions = _wanted(query.session, "session")
        datatypes = _wanted(query.datatype, "datatype")
        suffixes = _wanted(query.suffix, "suffix")
        exts = _wanted(query.extension, "extension")
        pipelines = _wanted(query.pipeline, "pipeline")
        ent_filters = self._entity_filters(query.entities)
        out: list[BIDSFile] = []
        for f in pool:
            if sessions is not None and f.session not in sessions:
                continue
            if datatypes is not None and f.datatype not in datatypes:
                continue
            if suffixes is not None and f.suffix not in suffixes:
                continue
            if exts is not None and f.extension not in exts:
                continue
            if pipelines is not None and (f.pipeline or "raw") not in pipelines:
                continue
            if ent_filters and not all(match(f.entities.get(name)) for name, match in ent_filters):
                continue
            out.append(f)
        return out

    def _entity_filters(self, entities: Iterable[tuple[str, Values]]) -> list[tuple[str, Any]]:
        voc = self.vocabulary
        filters = []
        for key, values in entities:
            name = voc.long_name(key)
            wanted = _wanted(values, key)
            if wanted is None:
                continue
            if voc.entity_format.get(name) == "index":
                # run-1 and run-01 are the same run
                nums = {int(v) for v in wanted if v.isdigit()}
                filters.append(
                    (name, lambda v, nums=nums: v is not None and v.isdigit() and int(v) in nums)
                )
            else:
                filters.append((name, lambda v, wanted=wanted: v in wanted))
        return filters
