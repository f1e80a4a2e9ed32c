"""brainbucket: share neuroimaging studies on S3-compatible object storage.

Examples
--------
>>> import brainbucket, tempfile
>>> store = brainbucket.open_store(tempfile.mkdtemp())
>>> store.write_bytes("dataset_description.json", b"{}").size
2
"""

from . import access, assemblies, hcp
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
from ._types import DiskUsage, FolderInfo, ObjectInfo, PutResult, VersionInfo
from ._url import StoreURL, parse_url
from .assemblies import AssemblyRecord, load_assembly, load_from_s3, upload_data_assembly
from .bids import Study
from .manifest import Manifest, read_manifest, write_manifest
from .mirror import Mirror
from .server import LocalServer
from .store import LocalStore, S3Store, Store, open_store
from .sync import Plan, SyncResult, VerifyReport, plan, sync, verify

__version__ = "0.1.0"

__all__ = [
    "AccessDeniedError",
    "AssemblyNotFoundError",
    "AssemblyRecord",
    "BrainbucketError",
    "BucketNotFoundError",
    "BucketOwnedByOthersError",
    "ConflictError",
    "CredentialsError",
    "DiskUsage",
    "EndpointError",
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
