"""validate and BIDS queries."""

from __future__ import annotations
