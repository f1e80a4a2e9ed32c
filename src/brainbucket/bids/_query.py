"""One BIDS query: the filters a study's files are picked by, as one value.

The public calls (:meth:`Study.files`, :func:`selector`, :meth:`StudyIndex.query`) take the
filters as keyword arguments; each turns them into a :class:`Query` with :meth:`Query.of`,
the one place they are normalised, and everything below works on that value.

Examples
--------
>>> q = Query.of(subject="sub-01", extension="nii.gz", task="rest")
>>> q.subject, q.extension, q.entities
(('01',), ('.nii.gz',), (('task', ('rest',)),))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["FILTERS", "Query", "Values", "Want"]

# One filter as callers give it: one value, several, or None for "any".
Want = str | int | Sequence[str | int] | None

# One filter normalised: its values as strings, in the order given; None for "any".
Values = tuple[str, ...] | None

# The named filters, in the order Study.files takes them by position.
FILTERS = ("subject", "session", "datatype", "suffix", "extension", "pipeline")

# subject="sub-01" and subject="01" are the same subject.
_PREFIX = {"subject": "sub-", "session": "ses-"}


def _values(value: Want, name: str = "") -> Values:
    """One filter's values as strings, in the order given (``None``: any).

    An empty list stays empty here; the index refuses it when it is matched, so that a
    selection narrowed to no subjects at all is still a (dataset-level only) selection.
    """
    if value is None:
        return None
    items = (value,) if isinstance(value, (str, int)) else value
    out = tuple(str(v).removeprefix(_PREFIX.get(name, "")) for v in items)
    if name == "extension":
        out = tuple(e if e.startswith(".") or not e else "." + e for e in out)
    return out


@dataclass(frozen=True)
class Query:
    """Which files to pick: a file matches when it has one of the values of every filter.

    Build one with :meth:`Query.of`, which normalises what callers give. A datatype, suffix,
    extension or entity name that neither the BIDS schema nor the study knows is refused
    when the query is matched against a study (a :class:`~brainbucket.UsageError` naming the
    closest known value), so a typo never reads as an empty selection.

    Attributes
    ----------
    subject, session
        Labels, without ``sub-`` / ``ses-``.
    datatype, suffix
        Datatype folders (``anat``, ``dwi`` ...) and suffixes (``T1w``, ``bold`` ...).
    extension
        Extensions with their leading dot (``.nii.gz``).
    pipeline
        ``derivatives/<pipeline>`` folder names; ``raw`` for raw data only.
    entities
        ``(name, values)`` of any other entity, by long or short name (``task``, ``acq``,
        ``run``; run 1 and run 01 are the same run).
    """

    subject: Values = None
    session: Values = None
    datatype: Values = None
    suffix: Values = None
    extension: Values = None
    pipeline: Values = None
    entities: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def of(cls, *args: Want, entities: Mapping[str, Want] | None = None, **filters: Want) -> Query:
        """The query that the public calls' arguments describe.

        Parameters
        ----------
        *args
            The named filters by position, in the order of :data:`FILTERS`.
        entities
            Other entities as a mapping (``{"task": "rest"}``).
        **filters
            The named filters (``subject``, ``session``, ``datatype``, ``suffix``,
            ``extension``, ``pipeline``), and any other entity by name (``task="rest"``,
            ``run=1``). Each takes one value or a list; ``None`` means any.

        Raises
        ------
        TypeError
            More positional filters than there are, or one filter given twice.

        Examples
        --------
        >>> Query.of("01", datatype="dwi").subject, Query.of(run=[1, 2]).entities
        (('01',), (('run', ('1', '2')),))
        """
        if len(args) > len(FILTERS):
            msg = f"at most {len(FILTERS)} filters by position ({', '.join(FILTERS)})"
            raise TypeError(msg)
        given: dict[str, Want] = dict(zip(FILTERS, args, strict=False))
        for name in FILTERS:
            if name in filters:
                if name in given:
                    msg = f"filter {name!r} given twice, by position and by name"
                    raise TypeError(msg)
                given[name] = filters.pop(name)
        named: dict[str, Any] = {name: _values(given.get(name), name) for name in FILTERS}
        others = {**(entities or {}), **filters}
        return cls(
            **named,
            entities=tuple((k, v) for k, raw in others.items() if (v := _values(raw)) is not None),
        )
