"""get and mirror status|verify|gc."""

from __future__ import annotations
