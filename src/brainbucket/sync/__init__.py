"""Incremental, verified sync: a pure planner and a pluggable executor."""

from ._actions import Action, Delete, DeleteLocal, Download, Upload
from ._execute import Callbacks, ExecuteResult, execute

__all__ = [
    "Action",
    "Callbacks",
    "Delete",
    "DeleteLocal",
    "Download",
    "ExecuteResult",
    "Upload",
    "execute",
]
