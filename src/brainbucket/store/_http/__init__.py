"""The store's own HTTP readers for downloads, and the wire format they share.

- ``_direct``: one download start to finish on the calling thread, read into a reused buffer,
  with retries and range continuation (files of any size).
- ``_small``: many small downloads at once on one thread under a selector (plain HTTP only);
  anything unusual is handed to ``_direct``.
- ``_wire``: status lines, header lines, HTTP dates and content ranges, parsed alike for both.

Which one a download takes is decided in one place: :mod:`brainbucket.store._route`.
"""

from ._direct import Abort, Cancelled, DirectGet, proxied
from ._small import LIMIT, Fetch, SmallGets

__all__ = ["LIMIT", "Abort", "Cancelled", "DirectGet", "Fetch", "SmallGets", "proxied"]
