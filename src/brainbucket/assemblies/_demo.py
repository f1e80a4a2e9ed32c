"""The assembly part of the quickstart: upload, publish, load anonymously, compare."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._config import Config
from .._exceptions import UsageError
from .._url import parse_url
from ..access._policy import AccessStatus, is_public, publish
from ..store import S3Settings, open_store
from ._load import fetch_assembly
from ._netcdf import read_netcdf
from ._record import AssemblyRecord
from ._upload import upload_data_assembly

__all__ = ["DemoResult", "demo", "demo_assembly"]

DEMO_IDENTIFIER = "brainbucket.demo.public"


def demo_assembly(seed: int = 0) -> Any:
    """A small neural-recording assembly shaped like BrainIO's (presentation, neuroid, time bin).

    Examples
    --------
    >>> demo_assembly().dims
    ('presentation', 'neuroid', 'time_bin')
    """
    import numpy as np
    import xarray as xr

    rng = np.random.default_rng(seed)
    images, reps, neuroids = 8, 2, 6
    rates = rng.gamma(2.0, 5.0, size=(images * reps, neuroids, 2)).astype("float32")
    a = xr.DataArray(
        rates,
        dims=("presentation", "neuroid", "time_bin"),
        coords={
            "stimulus_id": ("presentation", [f"img{i:02d}" for i in range(images)] * reps),
            "repetition": ("presentation", np.repeat(np.arange(reps), images)),
            "neuroid_id": ("neuroid", [f"A-{i:03d}" for i in range(neuroids)]),
            "region": ("neuroid", ["IT"] * 4 + ["V4"] * 2),
            "time_bin_start": ("time_bin", [70, 170]),
            "time_bin_end": ("time_bin", [170, 270]),
        },
        name="rates",
        attrs={"units": "spikes/s", "stimulus_set_identifier": "brainbucket.demo.images"},
    )
    return a.set_index(presentation=["stimulus_id", "repetition"], neuroid=["neuroid_id", "region"])


@dataclass(frozen=True)
class DemoResult:
    """What :func:`demo` did."""

    record: AssemblyRecord
    access: AccessStatus
    loaded_path: Path
    loaded_anonymously: bool
    equal: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "record": self.record.to_dict(),
            "access": self.access.to_dict(),
            "loaded_path": str(self.loaded_path),
            "loaded_anonymously": self.loaded_anonymously,
            "equal": self.equal,
        }


def demo(
    url: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    endpoint_url: str | None = None,
    settings: S3Settings | None = None,
    config: Config | None = None,
) -> DemoResult:
    """Upload a demo assembly to ``url`` (an S3 prefix), publish it, and load it back with no
    credentials at all by ``(identifier, version_id, sha1)``.

    On a server without bucket policies nothing can be published: the assembly is loaded
    back with the same credentials, and ``loaded_anonymously`` is ``False``.

    The bucket must exist; the credentials in the environment (or ``settings``, an
    :class:`~brainbucket.S3Settings` used instead of ``endpoint_url``) must be able to write
    and set its policy. The load goes to a fresh cache (``cache_dir`` or a temporary folder),
    so it really crosses the network. ``config``: the ``BRAINBUCKET_*`` settings (default:
    read from the environment, once).

    Examples
    --------
    >>> r = demo("s3://demo-study/assemblies")  # doctest: +SKIP
    >>> r.loaded_anonymously, r.equal  # doctest: +SKIP
    (True, True)
    """
    if settings is None:
        settings = S3Settings.from_options(endpoint_url=endpoint_url)
    config = config or Config()
    assembly = demo_assembly()
    record = upload_data_assembly(
        assembly,
        DEMO_IDENTIFIER,
        str(url),
        class_name="NeuronRecordingAssembly",
        stimulus_set_identifier="brainbucket.demo.images",
        settings=settings,
        config=config,
    )
    try:
        status = publish(url, settings=settings)
        published = True
    except UsageError:
        # A server without bucket policies (the only UsageError publishing an S3 prefix
        # raises): the assembly stays private, and is loaded back as its owner.
        status, published = is_public(url, settings=settings), False
    # The same server, as a stranger where it was published: nothing signed.
    reader = dataclasses.replace(settings, anon=True) if published else settings
    anon_store = open_store(parse_url(url), settings=reader)
    cache = (
        Path(cache_dir)
        if cache_dir is not None
        else Path(tempfile.mkdtemp(prefix="brainbucket-demo-"))
    )
    got = fetch_assembly(
        DEMO_IDENTIFIER, record.version_id, record.sha1, anon_store, cache_dir=cache, config=config
    )
    loaded = read_netcdf(got.path, got.record.class_name)
    return DemoResult(record, status, got.path, published, bool(loaded.identical(assembly)))
