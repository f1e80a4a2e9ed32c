"""Study snapshots: tags that name a manifest for good, so a paper can cite its data.

A tag is one small immutable object under the study's ``.brainbucket/tags/``, naming a
manifest root by its digest. It is created by a conditional write (of racing writers one
wins), never moved, and deleted only on purpose, leaving a record.

Examples
--------
>>> import tempfile
>>> from brainbucket import open_store
>>> from brainbucket.manifest import Entry, Manifest, write_manifest
>>> from brainbucket.snapshots import create_tag, list_tags
>>> store = open_store(tempfile.mkdtemp())
>>> _ = write_manifest(store, Manifest([Entry("a.txt", 1, "sha256:" + "0" * 64)]))
>>> _ = create_tag(store, "v1.0.0", message="data of the 2027 paper")
>>> [t.name for t in list_tags(store)]
['v1.0.0']
"""

from .._refs import TAG_RULE, check_tag_name, tag_name_problem
from ..manifest import Tag
from ._tags import create_tag, delete_tag, deleted_tags, list_tags, read_tag
from ._view import SnapshotView, open_snapshot

__all__ = [
    "TAG_RULE",
    "SnapshotView",
    "Tag",
    "check_tag_name",
    "create_tag",
    "delete_tag",
    "deleted_tags",
    "list_tags",
    "open_snapshot",
    "read_tag",
    "tag_name_problem",
]
