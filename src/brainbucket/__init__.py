"""brainbucket: share neuroimaging studies on S3-compatible object storage.

Examples
--------
>>> import brainbucket, tempfile
>>> store = brainbucket.open_store(tempfile.mkdtemp())
>>> store.write_bytes("dataset_description.json", b"{}").size
2
"""

import importlib as _importlib
import sys as _sys
import types as _pytypes
import typing as _typing

from ._exceptions import (
    AccessDeniedError,
    AssemblyNotFoundError,
    BrainbucketError,
    BucketNotFoundError,
    BucketOwnedByOthersError,
    ConflictError,
    CredentialsError,
    EndpointError,
    IntegrityError,
    InvalidCredentialsError,
    InvalidURLError,
    ManifestError,
    NoCredentialsError,
    NotFoundError,
    ObjectNotFoundError,
    OfflineError,
    PartialFailureError,
    ServeError,
    ServerError,
    UnsafeKeyError,
    UsageError,
    ValidationError,
)
from ._types import DiskUsage, Expected, FolderInfo, ObjectInfo, PutResult, VersionInfo
from ._url import StoreURL, parse_url

if _typing.TYPE_CHECKING:
    from . import access, assemblies, hcp
    from ._progress import Callbacks
    from ._version import __version__
    from .assemblies import AssemblyRecord, load_assembly, load_from_s3, upload_data_assembly
    from .bids import Study
    from .manifest import Manifest, read_manifest, write_manifest
    from .mirror import Mirror
    from .server import LocalServer
    from .store import Capabilities, LocalStore, S3Settings, S3Store, Store, open_store
    from .sync import Plan, SyncResult, VerifyReport, plan, sync, verify

# Features load on first use: a command, or a script, pays only for what it runs. Every
# feature subpackage stays reachable as an attribute, as when they were imported up front.
_SUBMODULES = ("access", "assemblies", "bids", "hcp", "manifest", "mirror", "server", "store")

_LAZY = {
    **{name: name for name in _SUBMODULES},
    # The version too: ``import brainbucket`` loads no more than the errors and value types.
    "__version__": "_version",
    "Callbacks": "_progress",
    "AssemblyRecord": "assemblies",
    "load_assembly": "assemblies",
    "load_from_s3": "assemblies",
    "upload_data_assembly": "assemblies",
    "Study": "bids",
    "Manifest": "manifest",
    "read_manifest": "manifest",
    "write_manifest": "manifest",
    "Mirror": "mirror",
    "LocalServer": "server",
    "Capabilities": "store",
    "LocalStore": "store",
    "S3Settings": "store",
    "S3Store": "store",
    "Store": "store",
    "open_store": "store",
    "Plan": "sync",
    "SyncResult": "sync",
    "VerifyReport": "sync",
    "plan": "sync",
    "sync": "sync",
    "verify": "sync",
}


class _Package(_pytypes.ModuleType):
    """This package's module type: ``brainbucket.sync`` stays the function.

    ``sync`` names both a subpackage and the function it exports. Importing a subpackage
    normally binds its name on the parent, which would replace the function with the module
    the first time anything imports ``brainbucket.sync``; the subpackage itself stays
    reachable through ``sys.modules``.
    """

    def __setattr__(self, name: str, value: _typing.Any) -> None:
        if name == "sync" and isinstance(value, _pytypes.ModuleType):
            return
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> _typing.Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    module = _importlib.import_module(f".{module_name}", __name__)
    value = module if name in _SUBMODULES else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "AccessDeniedError",
    "AssemblyNotFoundError",
    "AssemblyRecord",
    "BrainbucketError",
    "BucketNotFoundError",
    "BucketOwnedByOthersError",
    "Callbacks",
    "Capabilities",
    "ConflictError",
    "CredentialsError",
    "DiskUsage",
    "EndpointError",
    "Expected",
    "FolderInfo",
    "IntegrityError",
    "InvalidCredentialsError",
    "InvalidURLError",
    "LocalServer",
    "LocalStore",
    "Manifest",
    "ManifestError",
    "Mirror",
    "NoCredentialsError",
    "NotFoundError",
    "ObjectInfo",
    "ObjectNotFoundError",
    "OfflineError",
    "PartialFailureError",
    "Plan",
    "PutResult",
    "S3Settings",
    "S3Store",
    "ServeError",
    "ServerError",
    "Store",
    "StoreURL",
    "Study",
    "SyncResult",
    "UnsafeKeyError",
    "UsageError",
    "ValidationError",
    "VerifyReport",
    "VersionInfo",
    "__version__",
    "access",
    "assemblies",
    "hcp",
    "load_assembly",
    "load_from_s3",
    "open_store",
    "parse_url",
    "plan",
    "read_manifest",
    "sync",
    "upload_data_assembly",
    "verify",
    "write_manifest",
]
