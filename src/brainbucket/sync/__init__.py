"""Incremental, verified sync: a pure planner and a pluggable executor.

``plan`` gathers both sides' state and plans (``plan_upload``/``plan_download`` are the pure
parts); ``execute`` runs actions — the sync's own or anyone's — on a bounded asyncio pool;
``sync`` does both and records the dataset's manifest.
"""

from .._progress import Callbacks
from ._actions import Action, Delete, DeleteLocal, Download, Upload
from ._execute import ExecuteResult, execute
from ._local import Filters, LocalFile
from ._plan import Plan, plan_download, plan_upload
from ._sync import SyncResult, plan, sync
from ._verify import VerifyReport, verify

__all__ = [
    "Action",
    "Callbacks",
    "Delete",
    "DeleteLocal",
    "Download",
    "ExecuteResult",
    "Filters",
    "LocalFile",
    "Plan",
    "SyncResult",
    "Upload",
    "VerifyReport",
    "execute",
    "plan",
    "plan_download",
    "plan_upload",
    "sync",
    "verify",
]
