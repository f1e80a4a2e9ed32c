"""Browse and select HCP subjects: subject listing, per-subject files, size estimates."""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .._exceptions import (
    AccessDeniedError,
    CredentialsError,
    InvalidCredentialsError,
    NoCredentialsError,
    ObjectNotFoundError,
)
from .._types import FolderInfo, ObjectInfo
from ..store import S3Settings, Store, available_profiles, open_store
from ._layout import (
    DEFAULT_BUCKET,
    DEFAULT_KINDS,
    DEFAULT_PROFILE,
    DEFAULT_RELEASE,
    KINDS,
    Kind,
    bids_target,
    check_kinds,
    check_release,
    normalize_subject,
)

__all__ = ["HCP", "HCPFile", "Selection", "close_ids"]

# Listings are small requests dominated by latency; this many in flight hides it.
_LIST_WORKERS = 16


@dataclass(frozen=True)
class HCPFile:
    """One HCP object selected for a subject.

    Attributes
    ----------
    subject
        Six-digit subject id.
    kind
        The kind it was selected for (``dwi``...).
    key
        Full key in the bucket.
    size
        Size in bytes, from the listing.
    etag
        The server's ETag; for single-part objects it is the MD5 of the bytes.
    target
        Path relative to the derivative dataset's root (a BIDS name, or ``sourcedata/<key>``).
    """

    subject: str
    kind: str
    key: str
    size: int
    etag: str | None
    target: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "kind": self.kind,
            "key": self.key,
            "size": self.size,
            "etag": self.etag,
            "target": self.target,
        }


@dataclass
class Selection:
    """The files chosen for some subjects, and what was skipped or missing.

    Attributes
    ----------
    release
        The release the keys come from.
    kinds
        The kinds asked for.
    files
        Selected files, grouped by subject in the order asked.
    skipped
        Subject → reason, for subjects left out entirely (no diffusion data).
    missing
        Subject → kinds or files asked for but absent from the bucket.
    """

    release: str
    kinds: tuple[str, ...]
    files: list[HCPFile] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)

    @property
    def subjects(self) -> list[str]:
        """Subjects with at least one selected file, in the order asked."""
        return list(dict.fromkeys(f.subject for f in self.files))

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    def size_by_subject(self) -> dict[str, int]:
        """Bytes per subject (the size estimate shown before a download)."""
        out: dict[str, int] = {}
        for f in self.files:
            out[f.subject] = out.get(f.subject, 0) + f.size
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "kinds": list(self.kinds),
            "subjects": self.subjects,
            "total_size": self.total_size,
            "size_by_subject": self.size_by_subject(),
            "skipped": self.skipped,
            "missing": self.missing,
            "files": [f.to_dict() for f in self.files],
        }


def _resolve_profile(profile: str | None, anon: bool) -> str | None:
    """Which AWS profile to use: the one named, else ``hcp``, else keys from the environment."""
    if anon:
        return None
    available = available_profiles()
    hint = (
        "run `aws configure --profile {p}` with the keys ConnectomeDB issued, or pass keys "
        "in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
    )
    if profile:
        if profile not in available:
            msg = f"AWS profile {profile!r} not found"
            raise CredentialsError(msg, hint=hint.format(p=profile))
        return profile
    if DEFAULT_PROFILE in available:
        return DEFAULT_PROFILE
    if os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        return None
    msg = f"no HCP credentials: AWS profile {DEFAULT_PROFILE!r} not found and no keys in the environment"
    raise NoCredentialsError(msg, hint=hint.format(p=DEFAULT_PROFILE))


def close_ids(subject: str, known: Iterable[str], n: int = 3) -> list[str]:
    """Ids a typo of ``subject`` may have meant: fewest differing digits, then nearest number.

    Plain string similarity ranks six-digit ids poorly (``100207`` is closer to ``110007``
    than to ``100206`` for it), so same-length ids differing in one or two digits come first;
    difflib covers the rest (a dropped or extra digit).

    Examples
    --------
    >>> close_ids("100207", ["100206", "110007", "100307", "996782"])
    ['100206', '100307', '110007']
    """
    ids = sorted(set(known))
    same_len = [k for k in ids if len(k) == len(subject)]
    ranked = sorted(
        (sum(a != b for a, b in zip(subject, k, strict=True)), abs(int(k) - int(subject)), k)
        for k in same_len
        if k.isdigit() and subject.isdigit()
    )
    near = [k for dist, _, k in ranked if dist <= 2]
    if len(near) < n:
        near += [
            k for k in difflib.get_close_matches(subject, ids, n=n, cutoff=0.6) if k not in near
        ]
    return near[:n]


class HCP:
    """The HCP open-access bucket: list subjects, select files, fetch them as BIDS.

    Parameters
    ----------
    release
        ``HCP_1200`` (default), ``HCP``, ``HCP_Retest`` or ``q1``.
    bucket
        Bucket name (``hcp-openaccess``).
    profile
        AWS profile holding the ConnectomeDB keys. ``None``: the ``hcp`` profile if it is
        configured, else ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` from the environment.
    anon
        Unsigned requests (for a public replica).
    endpoint_url
        S3 endpoint; else ``BRAINBUCKET_ENDPOINT_URL``; else the AWS config's.
    settings
        The three above as one :class:`~brainbucket.S3Settings` value, used instead of them;
        its profile is chosen the same way (``None``: ``hcp`` if configured, else the
        environment's keys).

    Examples
    --------
    >>> from brainbucket.hcp import HCP
    >>> hcp = HCP(release="HCP_1200", profile="hcp")  # doctest: +SKIP
    >>> hcp.subjects()[:2]  # doctest: +SKIP
    ['100206', '100307']
    """

    def __init__(
        self,
        release: str = DEFAULT_RELEASE,
        *,
        bucket: str = DEFAULT_BUCKET,
        profile: str | None = None,
        anon: bool = False,
        endpoint_url: str | None = None,
        settings: S3Settings | None = None,
    ) -> None:
        self.release = release
        self.prefix = check_release(release)
        self.bucket = bucket
        if settings is None:
            settings = S3Settings.from_options(
                profile=profile, anon=anon, endpoint_url=endpoint_url
            )
        # HCP's own rule for which profile holds the ConnectomeDB keys, applied to the value
        # the user's input made: everything else it says (endpoint, anon...) is kept.
        self.settings = dataclasses.replace(
            settings, profile=_resolve_profile(settings.profile, bool(settings.anon))
        )
        self.profile = self.settings.profile
        self.anon = bool(settings.anon)
        self.store: Store = open_store(f"s3://{bucket}", settings=self.settings)

    def __repr__(self) -> str:
        return f"HCP(release={self.release!r}, bucket={self.bucket!r}, profile={self.profile!r})"

    @contextmanager
    def _access(self) -> Iterator[None]:
        """Name the profile in credential errors: the usual cause is a missing or wrong one."""
        who = f"profile {self.profile!r}" if self.profile else "the environment's keys"
        try:
            yield
        except InvalidCredentialsError as exc:
            msg = f"{exc.message} — check {who}"
            raise InvalidCredentialsError(
                msg,
                hint=f"run `aws configure --profile {self.profile or DEFAULT_PROFILE}` with your ConnectomeDB keys",
            ) from exc
        except CredentialsError:
            raise
        except AccessDeniedError as exc:
            msg = f"{exc.message} for {who}"
            raise AccessDeniedError(
                msg,
                hint="accept the HCP open-access terms in ConnectomeDB and use the keys it issues; "
                "`brainbucket doctor` shows which credentials were used",
            ) from exc

    # -- browsing ---------------------------------------------------------------------------

    def subjects(self) -> list[str]:
        """Subject ids of the release, sorted, from one delimiter listing.

        Examples
        --------
        >>> HCP(profile="hcp").subjects()[:1]  # doctest: +SKIP
        ['100206']
        """
        with self._access():
            entries = list(self._ls(self.prefix))
        ids = [e.path.rstrip("/").rsplit("/", 1)[-1] for e in entries if isinstance(e, FolderInfo)]
        return sorted(i for i in ids if i.isdigit())

    def _ls(self, folder: str, *, recursive: bool = False) -> Iterator[ObjectInfo | FolderInfo]:
        try:
            yield from self.store.ls(folder, recursive=recursive)
        except ObjectNotFoundError:
            return  # an absent folder is an empty one

    def _list_kind(self, subject: str, kind: Kind) -> list[ObjectInfo]:
        folder = f"{self.prefix}{subject}/{kind.folder}"
        objs = [e for e in self._ls(folder, recursive=kind.recursive) if isinstance(e, ObjectInfo)]
        if kind.files:
            objs = [o for o in objs if o.path[len(folder) :] in kind.files]
        return objs

    def files(
        self, subject: str | int, kinds: Iterable[str] | str = DEFAULT_KINDS
    ) -> list[HCPFile]:
        """The files of one subject for ``kinds``, with sizes and BIDS targets.

        Raises
        ------
        ObjectNotFoundError
            If the subject is not in the release (the message lists close matches).

        Examples
        --------
        >>> [f.target for f in HCP(profile="hcp").files("100206", "dwi")][:1]  # doctest: +SKIP
        ['sub-100206/ses-01/dwi/sub-100206_ses-01_dwi.bval']
        """
        sel = self.select([subject], kinds, skip_without_diffusion=False)
        return sel.files

    def select(
        self,
        subjects: Iterable[str | int],
        kinds: Iterable[str] | str = DEFAULT_KINDS,
        *,
        skip_without_diffusion: bool = True,
    ) -> Selection:
        """Choose the files of ``subjects`` for ``kinds``; listings run in parallel.

        A subject that has none of the diffusion kinds asked for is skipped (and reported in
        :attr:`Selection.skipped`); other absent kinds or files are reported in
        :attr:`Selection.missing`.

        Raises
        ------
        UsageError
            A malformed subject id, or an unknown kind.
        ObjectNotFoundError
            A subject that is not in the release, with close matches in the message.

        Examples
        --------
        >>> sel = HCP(profile="hcp").select(["100206", "100307"])  # doctest: +SKIP
        >>> sel.total_size  # doctest: +SKIP
        3094834162
        """
        ids = list(dict.fromkeys(normalize_subject(s) for s in subjects))
        kind_names = check_kinds(tuple(kinds) if not isinstance(kinds, str) else kinds)
        tasks = [(s, KINDS[k]) for s in ids for k in kind_names]
        with self._access(), ThreadPoolExecutor(max_workers=_LIST_WORKERS) as pool:
            listed = list(pool.map(lambda t: self._list_kind(*t), tasks))
        by_subject: dict[str, dict[str, list[ObjectInfo]]] = {s: {} for s in ids}
        for (s, kind), objs in zip(tasks, listed, strict=True):
            by_subject[s][kind.name] = objs
        self._check_known([s for s in ids if not any(by_subject[s].values())])
        sel = Selection(self.release, kind_names)
        for s in ids:
            self._select_subject(sel, s, by_subject[s], skip_without_diffusion)
        return sel

    def _select_subject(
        self,
        sel: Selection,
        subject: str,
        listed: dict[str, list[ObjectInfo]],
        skip_without_diffusion: bool,
    ) -> None:
        present: dict[str, list[ObjectInfo]] = {}
        missing: list[str] = []
        for name, objs in listed.items():
            kind = KINDS[name]
            names = {o.path.rsplit("/", 1)[-1] for o in objs}
            if not objs or not set(kind.required) <= names:
                missing.append(name)
                continue
            missing += [f"{name}:{f}" for f in kind.files if f not in names]
            present[name] = objs
        asked_dwi = [k for k in listed if KINDS[k].diffusion]
        if skip_without_diffusion and asked_dwi and not any(k in present for k in asked_dwi):
            sel.skipped[subject] = f"no diffusion data ({', '.join(asked_dwi)})"
            return
        if missing:
            sel.missing[subject] = missing
        for name, objs in present.items():
            kind = KINDS[name]
            for o in sorted(objs, key=lambda o: o.path):
                target = bids_target(subject, kind, o.path, self.prefix)
                sel.files.append(HCPFile(subject, name, o.path, o.size, o.etag, target))

    def _check_known(self, candidates: list[str]) -> None:
        """Subjects with nothing at all may not exist: check against the release's listing."""
        if not candidates:
            return
        known = set(self.subjects())
        unknown = [s for s in candidates if s not in known]
        if not unknown:
            return
        first = unknown[0]
        close = close_ids(first, known)
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        msg = f"subject {first}{more} is not in {self.release}"
        hint = f"close matches: {', '.join(close)}; " if close else ""
        raise ObjectNotFoundError(
            msg, hint=hint + f"list subjects with `brainbucket hcp ls --release {self.release}`"
        )
