"""publish, unpublish, access, share, doctor."""

from __future__ import annotations
