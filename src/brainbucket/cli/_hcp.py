"""hcp ls|fetch."""

from __future__ import annotations
