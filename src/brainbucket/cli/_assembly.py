"""assembly upload|load|list|show|versions."""

from __future__ import annotations
