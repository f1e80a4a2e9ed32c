"""Dataset manifests: every file's path, size, sha256, version id and ETag, stored as a tree.

A manifest lives beside the data in ``.brainbucket/``: gzipped JSON Lines shards (one per
top-level folder, one per derivatives subject, one for dataset-level files) and a root listing
them, each stored immutably under its own sha256, plus a small pointer (``.brainbucket/HEAD``)
that moves only by conditional write. The format is documented in ``docs/manifest.md``.

Examples
--------
>>> import tempfile
>>> from brainbucket import open_store
>>> from brainbucket.manifest import Entry, Manifest, read_manifest, write_manifest
>>> store = open_store(tempfile.mkdtemp())
>>> m = Manifest([Entry("sub-01/anat/T1w.nii.gz", 4, "sha256:" + "a" * 64)])
>>> _ = write_manifest(store, m)
>>> read_manifest(store)["sub-01/anat/T1w.nii.gz"].size
4
"""

from ._entry import Entry
from ._format import HEAD_PATH, META_DIR, shard_of
from ._io import find_manifest, read_manifest, read_pointer, write_manifest
from ._manifest import Manifest
from ._tag import Tag

__all__ = [
    "HEAD_PATH",
    "META_DIR",
    "Entry",
    "Manifest",
    "Tag",
    "find_manifest",
    "read_manifest",
    "read_pointer",
    "shard_of",
    "write_manifest",
]
