"""Filter values nobody knows: a usage error with the closest match, not an empty selection.

A datatype, suffix, extension or entity name is known when the official BIDS schema defines
it or the study's own files use it (derivatives carry suffixes and extensions of their
pipelines: ``tractography``, ``.trk``). Anything else is a typo as far as brainbucket can
tell, and selecting nothing for it would look like success.

Examples
--------
>>> closest("fnuc", ["anat", "dwi", "func"])
'func'
>>> closest("t1w", ["T1w", "T2w"])
'T1w'
>>> closest("xyz", ["anat", "dwi"]) is None
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .._exceptions import UsageError
from ._query import Query
from ._schema import Vocabulary

__all__ = ["check_terms", "closest"]

# How many of the study's own values a hint lists before "...".
_SHOWN = 12


def _distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) turning ``a`` into ``b``."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def closest(value: str, known: Iterable[str]) -> str | None:
    """The known value ``value`` most likely meant: same letters in another case, else the
    nearest by edits (at most a third of its length, and 2); ``None`` if nothing is near.

    Earlier values win ties, so callers list the study's own values first.
    """
    low = value.lower()
    best: tuple[int, str] | None = None
    limit = min(2, max(1, len(value) // 3))
    for k in known:
        d = 0 if k.lower() == low else _distance(low, k.lower())
        if d <= limit and (best is None or d < best[0]):
            best = (d, k)
    return None if best is None else best[1]


def _listed(values: Iterable[str], limit: int | None = None) -> str:
    items = sorted({v for v in values if v}, key=str.lower)
    if limit is not None and len(items) > limit:
        return ", ".join(items[:limit]) + ", ..."
    return ", ".join(items) or "none"


def _refuse(
    kind: str, value: str, in_study: list[str], schema: Iterable[str], known_hint: str
) -> UsageError:
    meant = closest(value, [*in_study, *sorted(schema)])
    msg = f"unknown BIDS {kind} {value!r}" + (f": did you mean {meant}?" if meant else "")
    return UsageError(msg, hint=known_hint)


def check_terms(query: Query, voc: Vocabulary, present: Callable[[str], list[str]]) -> None:
    """Refuse a datatype, suffix, extension or entity name that neither the schema nor the
    study knows.

    Parameters
    ----------
    query
        The filters.
    voc
        The schema's vocabulary.
    present
        The values the study's files carry for ``"datatype"``, ``"suffix"``, ``"extension"``,
        or ``"entity"`` (entity names); asked only for a value the schema does not know.

    Raises
    ------
    UsageError
        Naming the value, the closest known one and the valid ones.
    """
    version = f"BIDS {voc.bids_version}"
    for value in query.datatype or ():
        if value not in voc.datatypes:
            ours = present("datatype")
            if value not in ours:
                hint = f"datatypes in {version}: {_listed(voc.datatypes)}"
                err = _refuse("datatype", value, ours, voc.datatypes, hint)
                raise err
    for value in query.suffix or ():
        if value not in voc.suffixes:
            ours = present("suffix")
            if value not in ours:
                hint = (
                    f"suffixes in this study: {_listed(ours, _SHOWN)} ({version} defines "
                    f"{len(voc.suffixes)}, e.g. T1w, T2w, bold, dwi, epi, events)"
                )
                err = _refuse("suffix", value, ours, voc.suffixes, hint)
                raise err
    for value in query.extension or ():
        if value not in voc.extensions and value not in voc.folder_extensions:
            ours = present("extension")
            if value not in ours:
                hint = f"extensions in this study: {_listed(ours, _SHOWN)}"
                err = _refuse("extension", value, ours, voc.extensions, hint)
                raise err
    for key, _ in query.entities:
        if key not in voc.entity_long and key not in voc.entity_short:
            names = present("entity")
            if key not in names:
                ours = [n for n in names if n not in voc.entity_short]
                hint = f"entities in {version}: {_listed(voc.entity_long)} (or their long names)"
                err = _refuse("entity", key, ours, voc.entity_long, hint)
                raise err
