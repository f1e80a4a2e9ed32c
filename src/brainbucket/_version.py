"""The package's version, in a leaf module: code anywhere in the package may import it
without importing the package's public API (``brainbucket/__init__``)."""

__version__ = "0.1.0"
