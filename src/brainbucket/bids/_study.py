"""``Study``: a BIDS (or BIDS-ish) dataset on a store, queried without downloading it."""

from __future__ import annotations

import io
import random
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._exceptions import ObjectNotFoundError, UsageError, ValidationError
from ..store import S3Settings, Store, open_store
from ._index import FileRow, StudyIndex, find_root
from ._listing import remote_files
from ._query import Query, Want
from ._schema import BIDSFile

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Study"]


class Study:
    """A BIDS study on S3 or in a local folder.

    The file list comes from the dataset's manifest when it has one (no listing), else from
    one streamed listing; it is read on first use and kept. Entities come from the key names
    (official BIDS schema). Files whose names are not valid BIDS are kept and reported by
    :meth:`bidsish`.

    Parameters
    ----------
    url
        ``s3://bucket/prefix`` or a local folder: the dataset root. A snapshot of it
        (``s3://bucket/prefix@v1.0.0``, ``@sha256:3f5c…``) is the study as tagged: its files
        from that manifest, each read at the version it records.
    profile, anon, endpoint_url
        As for :func:`brainbucket.open_store`.
    settings
        All three as one :class:`~brainbucket.S3Settings` value, used instead of them.
    store
        An already opened store to use instead of ``url``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from brainbucket._demo import build_demo_study
    >>> root = build_demo_study(pathlib.Path(tempfile.mkdtemp()) / "study", subjects=2)
    >>> study = Study(root)
    >>> study.subjects(), study.datatypes(), study.pipelines()
    (['01', '02'], ['anat', 'dwi'], ['dmriprep'])
    >>> [f.path for f in study.files(subject="01", datatype="dwi", extension=".bval")]
    ['derivatives/dmriprep/sub-01/ses-01/dwi/sub-01_ses-01_space-T1w_desc-preproc_dwi.bval', 'sub-01/ses-01/dwi/sub-01_ses-01_dwi.bval']
    >>> study.select(where="age > 30")
    ['02']
    """

    def __init__(
        self,
        url: Any = None,
        *,
        profile: str | None = None,
        anon: bool = False,
        endpoint_url: str | None = None,
        settings: S3Settings | None = None,
        store: Store | None = None,
        use_manifest: bool = True,
    ) -> None:
        if store is None:
            if url is None:
                msg = "Study needs a URL or a store"
                raise UsageError(msg)
            if settings is None:
                settings = S3Settings.from_options(
                    profile=profile, anon=anon, endpoint_url=endpoint_url
                )
            store = open_store(url, settings=settings)
        if store.url.ref and not use_manifest:
            # Only the manifest says what a snapshot held; a listing shows the study today.
            msg = f"{store.url}: a snapshot is read from its manifest (use_manifest=False)"
            raise UsageError(msg, hint="leave use_manifest at True, or drop the @reference")
        self.store = store
        self.use_manifest = use_manifest
        self._index: StudyIndex | None = None
        self._participants: pd.DataFrame | None = None
        self._source = "listing"

    @classmethod
    def from_files(cls, store: Store, remote: Iterable[FileRow], source: str) -> Study:
        """A study over an already known file list (e.g. a mirror's saved listing)."""
        study = cls(store=store)
        study._set_index(list(remote), source)
        return study

    def __repr__(self) -> str:
        return f"Study({self.store.describe()!r})"

    # -- the index ---------------------------------------------------------------------------

    def _set_index(self, remote: list[FileRow], source: str) -> None:
        self._index = StudyIndex(remote, root=find_root(r[0] for r in remote))
        self._source = source

    @property
    def source(self) -> str:
        """Where the file list came from: ``"manifest"`` or ``"listing"``."""
        _ = self.index
        return self._source

    @property
    def index(self) -> StudyIndex:
        """The parsed file list (read from the store on first use)."""
        if self._index is None:
            remote, source = remote_files(self.store, use_manifest=self.use_manifest)
            self._set_index(remote, source)
        assert self._index is not None
        return self._index

    def refresh(self) -> None:
        """Forget the file list and participants table; the next query reads them again."""
        self._index = None
        self._participants = None

    # -- queries -----------------------------------------------------------------------------

    def subjects(self) -> list[str]:
        """Subject labels (without ``sub-``), sorted."""
        return sorted(self.index.by_subject)

    def sessions(self, subject: Want = None) -> list[str]:
        """Session labels (without ``ses-``), of every subject or the given ones."""
        files = (
            self.index.matching(Query.of(subject=subject))
            if subject is not None
            else self.index.files
        )
        return sorted({f.session for f in files if f.session is not None})

    def datatypes(self) -> list[str]:
        """Datatype folders present (``anat``, ``dwi``, ...)."""
        return self.index.values("datatype")

    def pipelines(self) -> list[str]:
        """Names of the ``derivatives/<pipeline>/`` folders."""
        return self.index.values("pipeline")

    def templates(self) -> list[str]:
        """Labels (without ``tpl-``) of the BEP038 template folders (``tpl-MNI152NLin6Asym/``)
        at the root of the study or of a pipeline, as their files name them.

        A template's files belong to no subject: ``files(datatype="anat")`` includes them,
        ``files(subject=...)`` does not; ``files(template="MNI152NLin6Asym")`` picks one.
        """
        return sorted(
            {
                t
                for f in self.index.files
                if f.level == "template" and (t := f.entities.get("template"))
            }
        )

    def suffixes(self) -> list[str]:
        return self.index.values("suffix")

    def files(self, *args: Want, **filters: Any) -> list[BIDSFile]:
        """Files matching every given filter; each filter takes one value or a list.

        The filters are ``subject``, ``session``, ``datatype``, ``suffix``, ``extension`` and
        ``pipeline`` (also by position, in that order), and any other entity by long or short
        name (``task="rest"``, ``acq="multi"``, ``run=1``), as :meth:`Query.of` takes them.
        ``subject="01"`` and ``subject="sub-01"`` are the same; ``pipeline="raw"`` selects raw
        data only, ``pipeline="fmriprep"`` that derivatives folder only.

        Raises
        ------
        UsageError
            A datatype, suffix, extension or entity that neither the BIDS schema nor the
            study knows (``datatype="fnuc"``), naming the closest one (``func``).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from brainbucket._demo import build_demo_study
        >>> study = Study(build_demo_study(pathlib.Path(tempfile.mkdtemp()) / "s", subjects=2))
        >>> len(study.files(subject=["01", "02"], suffix="T1w"))
        4
        """
        return self.index.matching(Query.of(*args, **filters))

    def size(self, *args: Any, **filters: Any) -> int:
        """Total bytes of :meth:`files` with the same filters, before downloading anything."""
        return sum(f.size for f in self.files(*args, **filters))

    def dataset_files(self) -> list[BIDSFile]:
        """Files at the root of the study and of each pipeline folder (descriptions, README,
        participants.tsv, top-level sidecars): what makes a subset a usable dataset."""
        return list(self.index.dataset_level)

    def bidsish(self) -> list[BIDSFile]:
        """Files kept although their names are not plain BIDS, each with its ``problem``."""
        return [f for f in self.index.files if f.problem is not None]

    # -- participants ------------------------------------------------------------------------

    @property
    def participants(self) -> pd.DataFrame:
        """``participants.tsv`` as a pandas DataFrame, indexed by subject label (no ``sub-``).

        Raises
        ------
        ObjectNotFoundError
            The study has no participants.tsv.
        ValidationError
            The file has no ``participant_id`` column, or repeats a participant.
        """
        if self._participants is None:
            self._participants = self._read_participants()
        return self._participants

    def _read_participants(self) -> pd.DataFrame:
        import pandas as pd

        path = self.index.root + "participants.tsv"
        if path not in self.index.by_path:
            msg = f"{self.store.describe()} has no participants.tsv"
            raise ObjectNotFoundError(
                msg,
                hint="selection by phenotype needs participants.tsv; choose subjects with "
                "--subject or --sample instead",
            )
        data = self.read_bytes(path)
        try:
            df = pd.read_csv(
                io.BytesIO(data), sep="\t", dtype={"participant_id": str}, na_values=["n/a"]
            )
        except (ValueError, pd.errors.ParserError) as exc:
            msg = f"{self.store.describe(path)} is not a readable tab-separated table: {exc}"
            raise ValidationError(
                msg, hint="fix participants.tsv (tab-separated, one header row)"
            ) from exc
        if "participant_id" not in df.columns:
            msg = (
                f"{self.store.describe(path)} has no participant_id column "
                f"(columns: {', '.join(map(str, df.columns)) or 'none'})"
            )
            raise ValidationError(
                msg, hint="the first column of participants.tsv must be participant_id"
            )
        ids = df["participant_id"].astype(str).str.removeprefix("sub-")
        if ids.duplicated().any():
            dup = sorted(set(ids[ids.duplicated()]))
            msg = f"{self.store.describe(path)} lists participants more than once: {', '.join(dup[:5])}"
            raise ValidationError(msg, hint="keep one row per participant in participants.tsv")
        df = df.assign(subject=ids.to_numpy()).set_index("subject")
        return df

    def read_bytes(self, path: str) -> bytes:
        """The bytes of the file at ``path`` (relative to the store's root).

        Of a snapshot, the version its manifest names, checked against the recorded sha256:
        the live object may have been overwritten or deleted since.
        """
        if not self.store.url.ref:
            return self.store.read_bytes(path)
        from .._types import Expected

        f = self.index.by_path.get(path)
        if f is None:
            msg = f"{self.store.describe(path)}: no such file in snapshot {self.store.url.ref}"
            raise ObjectNotFoundError(msg)
        out = io.BytesIO()
        expected = Expected.of(size=f.size, sha256=f.sha256, version_id=f.version_id)
        self.store.read_to(path, out, expected)
        return out.getvalue()

    def select(self, where: str) -> list[str]:
        """Subjects whose ``participants.tsv`` row satisfies ``where`` and that have data.

        ``where`` is a pandas query over the columns (``"age > 30 and sex == 'F'"``); rows
        with ``n/a`` in a column the query needs do not match.

        Raises
        ------
        UsageError
            The expression is malformed or names a column the table does not have.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from brainbucket._demo import build_demo_study
        >>> study = Study(build_demo_study(pathlib.Path(tempfile.mkdtemp()) / "s", subjects=3))
        >>> study.select(where="sex == 'F'")
        ['01', '03']
        """
        df = self.participants
        try:
            hits = df.query(where, engine="python")
        except Exception as exc:  # pandas raises many kinds for a bad expression
            cols = ", ".join(str(c) for c in df.columns)
            msg = f"cannot evaluate --where {where!r}: {type(exc).__name__}: {exc}"
            raise UsageError(msg, hint=f"participants.tsv columns are: {cols}") from exc
        have = self.index.by_subject
        return sorted(s for s in hits.index if s in have)

    def sample(self, n: int, seed: int = 0, *, among: Iterable[str] | None = None) -> list[str]:
        """``n`` subjects drawn at random, reproducibly for a given ``seed``.

        Parameters
        ----------
        n
            How many; at most the number of subjects to choose from.
        seed
            The same seed draws the same subjects.
        among
            Subjects to choose from (default: every subject of the study).

        Raises
        ------
        UsageError
            ``n`` is negative or more than there are subjects to choose from.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from brainbucket._demo import build_demo_study
        >>> study = Study(build_demo_study(pathlib.Path(tempfile.mkdtemp()) / "s", subjects=4))
        >>> study.sample(2, seed=1) == study.sample(2, seed=1)
        True
        >>> study.sample(5)
        Traceback (most recent call last):
        brainbucket.UsageError: cannot sample 5 subjects from 4 (01, 02, 03, 04)
        """
        pool = sorted(among) if among is not None else self.subjects()
        if n < 0 or n > len(pool):
            shown = ", ".join(pool[:10]) + (", ..." if len(pool) > 10 else "")
            msg = f"cannot sample {n} subjects from {len(pool)}" + (f" ({shown})" if pool else "")
            raise UsageError(msg, hint=f"choose a number between 0 and {len(pool)}")
        return sorted(random.Random(seed).sample(pool, n))
