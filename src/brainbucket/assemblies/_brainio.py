"""Move catalogs between brainbucket and BrainIO's lookup CSV.

BrainIO's columns: ``identifier, lookup_type, class, location_type, location, sha1,
stimulus_set_identifier``. A ``version_id`` column, where present, is kept too.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from urllib.parse import urlparse

from .._exceptions import ManifestError, ObjectNotFoundError
from ..store import Store
from ._catalog import Catalog, read_catalog, update_catalog
from ._record import AssemblyRecord

__all__ = ["BRAINIO_COLUMNS", "export_brainio_csv", "import_brainio_csv"]

BRAINIO_COLUMNS = (
    "identifier",
    "lookup_type",
    "class",
    "location_type",
    "location",
    "sha1",
    "stimulus_set_identifier",
)


def export_brainio_csv(
    store: Store, dest: str | os.PathLike[str] | None = None, *, all_versions: bool = False
) -> str:
    """Write the catalog as BrainIO lookup CSV (newest version of each identifier by default).

    Returns the CSV text; also writes it to ``dest`` when given. With ``all_versions`` a
    ``version_id`` column is added and every version gets a row.

    Examples
    --------
    >>> import tempfile
    >>> from brainbucket import open_store
    >>> export_brainio_csv(open_store(tempfile.mkdtemp())).splitlines()[0]
    'identifier,lookup_type,class,location_type,location,sha1,stimulus_set_identifier'
    """
    catalog = read_catalog(store)
    columns = [*BRAINIO_COLUMNS, "version_id"] if all_versions else list(BRAINIO_COLUMNS)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for identifier in catalog.identifiers():
        records = catalog.entries[identifier] if all_versions else [catalog.entries[identifier][-1]]
        for r in records:
            row = {
                "identifier": r.identifier,
                "lookup_type": r.lookup_type,
                "class": r.class_name,
                "location_type": "S3" if r.location.startswith("s3://") else "local",
                "location": r.location,
                "sha1": r.sha1,
                "stimulus_set_identifier": r.stimulus_set_identifier or "",
            }
            if all_versions:
                row["version_id"] = r.version_id or ""
            writer.writerow(row)
    text = buf.getvalue()
    if dest is not None:
        Path(dest).write_text(text, encoding="utf-8")
    return text


def _path_in_store(store: Store, location: str) -> str | None:
    """The store path of a location, if it lies inside this store (s3:// or https form)."""
    if not store.url.is_s3:
        root = str(store.url).rstrip("/") + "/"
        return location[len(root) :] if location.startswith(root) else None
    url = urlparse(location)
    if url.scheme == "s3":
        bucket, key = url.netloc, url.path.lstrip("/")
    elif url.scheme in ("http", "https") and ".s3" in url.netloc:
        # https://BUCKET.s3.amazonaws.com/KEY, BrainIO's usual form
        bucket, key = url.netloc.split(".s3", 1)[0], url.path.lstrip("/")
    else:
        return None
    if bucket != store.url.bucket:
        return None
    prefix = store.url.prefix.strip("/")
    root = prefix + "/" if prefix else ""
    return key[len(root) :] if key.startswith(root) else None


def import_brainio_csv(store: Store, src: str | os.PathLike[str]) -> list[AssemblyRecord]:
    """Add every row of a BrainIO lookup CSV to the store's catalog; returns the records added.

    Rows already in the catalog (same identifier, sha1 and location) are skipped. Sizes and
    sha256 are unknown for imported rows, so loading them verifies the sha1 only.

    Raises
    ------
    ManifestError
        The CSV lacks BrainIO's columns or holds a malformed row.
    """
    try:
        text = Path(src).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        msg = f"no such file: {src}"
        raise ObjectNotFoundError(msg) from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = [
        c for c in ("identifier", "class", "location", "sha1") if c not in (reader.fieldnames or [])
    ]
    if missing:
        msg = f"{src}: not a BrainIO lookup CSV (missing columns: {', '.join(missing)})"
        raise ManifestError(msg, hint=f"expected columns: {', '.join(BRAINIO_COLUMNS)}")
    records: list[AssemblyRecord] = []
    for n, row in enumerate(reader, start=2):
        location = (row.get("location") or "").strip()
        records.append(
            AssemblyRecord.from_dict(
                {
                    "identifier": (row.get("identifier") or "").strip(),
                    "location": location,
                    "path": _path_in_store(store, location),
                    "sha1": (row.get("sha1") or "").strip(),
                    "sha256": None,
                    "size": None,
                    "version_id": (row.get("version_id") or "").strip() or None,
                    "class_name": (row.get("class") or "").strip() or "File",
                    "kind": "netcdf" if location.endswith(".nc") else "file",
                    "lookup_type": (row.get("lookup_type") or "").strip() or "assembly",
                    "stimulus_set_identifier": (row.get("stimulus_set_identifier") or "").strip()
                    or None,
                },
                what=f"{src}, line {n}",
            )
        )

    def change(catalog: Catalog) -> list[AssemblyRecord]:
        return [r for r in records if catalog.add(r) is r]

    return update_catalog(store, change)
