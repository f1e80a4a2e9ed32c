"""The ``brainbucket`` command-line tool (Typer). The only layer that prints."""

from ._app import app, main, run

__all__ = ["app", "main", "run"]
