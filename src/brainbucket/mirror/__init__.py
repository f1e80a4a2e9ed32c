"""A lazy local mirror of a remote study, shared safely between processes.

Examples
--------
>>> from brainbucket.mirror import Mirror
>>> Mirror.__name__
'Mirror'
"""

from ._cache import GcReport, MirrorStatus
from ._mirror import Mirror
from ._parts import FileKey, VerifyReport, gc_all, mirror_all

__all__ = ["FileKey", "GcReport", "Mirror", "MirrorStatus", "VerifyReport", "gc_all", "mirror_all"]
