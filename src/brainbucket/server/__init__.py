"""The embedded S3 server (SeaweedFS on loopback) for the quickstart, tests and small labs."""

from ._seaweed import Identity, LocalServer, find_weed, free_port

__all__ = ["Identity", "LocalServer", "find_weed", "free_port"]
