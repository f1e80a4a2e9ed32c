"""Public or private, explicitly: publish a prefix, check it, share one object, diagnose.

Examples
--------
>>> from brainbucket import access
>>> access.parse_duration("15m").total_seconds()
900.0
"""

from ._auth import PRIVATE_MESSAGE, has_credentials, open_auto
from ._doctor import Check, DoctorReport, doctor
from ._policy import AccessStatus, is_public, public_statements, publish, unpublish
from ._share import parse_duration, share

__all__ = [
    "PRIVATE_MESSAGE",
    "AccessStatus",
    "Check",
    "DoctorReport",
    "doctor",
    "has_credentials",
    "is_public",
    "open_auto",
    "parse_duration",
    "public_statements",
    "publish",
    "share",
    "unpublish",
]
