"""sync, status, verify (issue: incremental verified sync)."""

from __future__ import annotations
