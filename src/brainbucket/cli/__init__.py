"""The ``brainbucket`` command-line tool (Typer). The only layer that prints."""

from ._app import app
from ._main import main, run

__all__ = ["app", "main", "run"]
