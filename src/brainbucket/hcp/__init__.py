"""Human Connectome Project open-access data: browse, select and fetch subjects as BIDS.

The functions here open the bucket for one call; use :class:`HCP` to reuse one connection.

Examples
--------
>>> from brainbucket import hcp
>>> hcp.subjects(profile="hcp")[:2]  # doctest: +SKIP
['100206', '100307']
>>> result = hcp.fetch(["100206"], "./hcp", kinds=("dwi", "anat"))  # doctest: +SKIP
>>> sorted(p.name for _, p in result.downloaded)[:1]  # doctest: +SKIP
['sub-100206_ses-01_desc-aparcaseg_dseg.nii.gz']
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ._layout import (
    DEFAULT_BUCKET,
    DEFAULT_KINDS,
    DEFAULT_PROFILE,
    DEFAULT_RELEASE,
    KINDS,
    RELEASES,
    Kind,
    bids_target,
)

if TYPE_CHECKING:
    from .._config import Config
    from .._progress import Callbacks
    from ..store import S3Settings
    from ._fetch import FetchPlan, FetchResult, execute_fetch, plan_fetch
    from ._record import RECORD_NAME, verify
    from ._select import HCP, HCPFile, Selection

# The layout (releases, kinds, defaults) loads with the package; the rest, which needs the
# store and the sync engine, on first use: `brainbucket --help` shows the kinds and releases
# without paying for them.
_LAZY = {
    "FetchPlan": "_fetch",
    "FetchResult": "_fetch",
    "execute_fetch": "_fetch",
    "plan_fetch": "_fetch",
    "RECORD_NAME": "_record",
    "verify": "_record",
    "HCP": "_select",
    "HCPFile": "_select",
    "Selection": "_select",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(f".{module_name}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "DEFAULT_BUCKET",
    "DEFAULT_KINDS",
    "DEFAULT_PROFILE",
    "DEFAULT_RELEASE",
    "HCP",
    "KINDS",
    "RECORD_NAME",
    "RELEASES",
    "FetchPlan",
    "FetchResult",
    "HCPFile",
    "Kind",
    "Selection",
    "bids_target",
    "execute_fetch",
    "fetch",
    "files",
    "plan_fetch",
    "select",
    "subjects",
    "verify",
]


def subjects(
    release: str = DEFAULT_RELEASE,
    *,
    bucket: str = DEFAULT_BUCKET,
    profile: str | None = None,
    anon: bool = False,
    endpoint_url: str | None = None,
    settings: S3Settings | None = None,
) -> list[str]:
    """Subject ids of ``release``, from one delimiter listing.

    Examples
    --------
    >>> from brainbucket import hcp
    >>> len(hcp.subjects("HCP_1200", profile="hcp"))  # doctest: +SKIP
    1113
    """
    from ._select import HCP

    return HCP(
        release, bucket=bucket, settings=_settings(profile, anon, endpoint_url, settings)
    ).subjects()


def files(
    subject: str | int,
    kinds: Iterable[str] | str = DEFAULT_KINDS,
    *,
    release: str = DEFAULT_RELEASE,
    bucket: str = DEFAULT_BUCKET,
    profile: str | None = None,
    anon: bool = False,
    endpoint_url: str | None = None,
    settings: S3Settings | None = None,
) -> list[HCPFile]:
    """One subject's files for ``kinds``, with sizes, ETags and BIDS targets.

    Examples
    --------
    >>> from brainbucket import hcp
    >>> sum(f.size for f in hcp.files("100206", "dwi", profile="hcp"))  # doctest: +SKIP
    1543672072
    """
    from ._select import HCP

    client = HCP(release, bucket=bucket, settings=_settings(profile, anon, endpoint_url, settings))
    return client.files(subject, kinds)


def select(
    subjects: Iterable[str | int],
    kinds: Iterable[str] | str = DEFAULT_KINDS,
    *,
    release: str = DEFAULT_RELEASE,
    bucket: str = DEFAULT_BUCKET,
    profile: str | None = None,
    anon: bool = False,
    endpoint_url: str | None = None,
    settings: S3Settings | None = None,
) -> Selection:
    """The files of several subjects, with a size estimate per subject and in total.

    Examples
    --------
    >>> from brainbucket import hcp
    >>> hcp.select(["100206", "100307"], profile="hcp").size_by_subject()  # doctest: +SKIP
    {'100206': 1577853042, '100307': 1516981120}
    """
    from ._select import HCP

    client = HCP(release, bucket=bucket, settings=_settings(profile, anon, endpoint_url, settings))
    return client.select(subjects, kinds)


def fetch(
    subjects: Iterable[str | int],
    dest: str | os.PathLike[str],
    kinds: Iterable[str] | str = DEFAULT_KINDS,
    pipeline: str = "hcp",
    *,
    release: str = DEFAULT_RELEASE,
    bucket: str = DEFAULT_BUCKET,
    profile: str | None = None,
    anon: bool = False,
    endpoint_url: str | None = None,
    settings: S3Settings | None = None,
    jobs: int | None = None,
    dry_run: bool = False,
    callbacks: Callbacks[HCPFile] | None = None,
    config: Config | None = None,
) -> FetchResult:
    """Download subjects into ``dest/derivatives/<pipeline>`` as BIDS, verified and resumable.

    Subjects without the diffusion data asked for are skipped and reported in
    ``result.plan.selection.skipped``. Files already present and verified are not fetched
    again. With ``dry_run``, nothing is written and ``result.plan`` says what would happen.

    Parameters
    ----------
    subjects
        Six-digit ids (``"100206"`` or ``"sub-100206"``).
    dest
        The BIDS dataset root to create or update.
    kinds
        ``dwi``, ``dwi7t``, ``anat``, ``mni``, ``unprocessed`` (see :data:`KINDS`).
    pipeline
        Name of the derivative folder.
    release, bucket
        Where the data is (see :class:`HCP`).
    profile, anon, endpoint_url, settings
        How to reach it, as for :class:`HCP` (default profile ``hcp``).
    jobs
        Transfers in flight.
    callbacks
        Progress subscriber (:class:`~brainbucket.Callbacks`), told about each
        :class:`HCPFile` downloaded (see :func:`execute_fetch`).
    config
        The ``BRAINBUCKET_*`` settings (see :func:`execute_fetch`); default: read from the
        environment, once.

    Examples
    --------
    >>> from brainbucket import hcp
    >>> r = hcp.fetch(["100206"], "./hcp", kinds="dwi", profile="hcp")  # doctest: +SKIP
    >>> r.derivative.name  # doctest: +SKIP
    'hcp'
    """
    from ._fetch import FetchResult, execute_fetch, plan_fetch
    from ._select import HCP

    client = HCP(release, bucket=bucket, settings=_settings(profile, anon, endpoint_url, settings))
    plan = plan_fetch(client, subjects, dest, kinds=kinds, pipeline=pipeline)
    if dry_run:
        return FetchResult(plan)
    return execute_fetch(plan, jobs=jobs, callbacks=callbacks, config=config)


def _settings(
    profile: str | None, anon: bool, endpoint_url: str | None, settings: S3Settings | None
) -> S3Settings:
    """One settings value for a call: ``settings`` when given, else the keyword arguments'.

    :class:`HCP` then picks the profile by its own rule (``hcp`` by default).
    """
    if settings is not None:
        return settings
    from ..store import S3Settings

    return S3Settings.from_options(profile=profile, anon=anon, endpoint_url=endpoint_url)
