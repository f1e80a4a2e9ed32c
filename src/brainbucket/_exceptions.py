"""brainbucket's one exception tree.

Every error the library raises on purpose is a :class:`BrainbucketError`. Each subclass also
inherits the matching built-in, so ``except FileNotFoundError`` keeps working for code that
does not know brainbucket::

    BrainbucketError(Exception)                              exit 1
    ├── UsageError(ValueError)                               exit 2
    │   ├── InvalidURLError                                  exit 2
    │   └── UnsafeKeyError                                   exit 9
    ├── NotFoundError(FileNotFoundError)                     exit 3
    │   ├── BucketNotFoundError                              exit 3
    │   ├── ObjectNotFoundError                              exit 3
    │   └── AssemblyNotFoundError                            exit 3
    ├── AccessDeniedError(PermissionError)                   exit 4
    │   └── CredentialsError                                 exit 5
    │       ├── NoCredentialsError                           exit 5
    │       └── InvalidCredentialsError                      exit 5
    ├── EndpointError(ConnectionError)                       exit 6
    ├── ConflictError                                        exit 7
    │   └── BucketOwnedByOthersError                         exit 7
    ├── IntegrityError(ValueError)                           exit 8
    │   └── ManifestError                                    exit 8
    ├── ServerError(OSError)                                 exit 10
    ├── OfflineError(ConnectionError)                        exit 11
    ├── PartialFailureError                                  exit 12
    ├── ServeError(RuntimeError)                             exit 13
    └── ValidationError(ValueError)                          exit 14

The exit code is the one the command-line tool ends with; the README documents them. Each
class carries a ``hint`` — the next thing a user should try — that the CLI prints after the
one-line message. Messages never contain secrets.
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "AssemblyNotFoundError",
    "BrainbucketError",
    "BucketNotFoundError",
    "BucketOwnedByOthersError",
    "ConflictError",
    "CredentialsError",
    "EndpointError",
    "IntegrityError",
    "InvalidCredentialsError",
    "InvalidURLError",
    "ManifestError",
    "NoCredentialsError",
    "NotFoundError",
    "ObjectNotFoundError",
    "OfflineError",
    "PartialFailureError",
    "ServeError",
    "ServerError",
    "UnsafeKeyError",
    "UsageError",
    "ValidationError",
]


class BrainbucketError(Exception):
    """Root of every error brainbucket raises on purpose.

    Parameters
    ----------
    message
        One line saying what is wrong.
    hint
        What to do next; overrides the class default.
    """

    exit_code: int = 1
    default_hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        return self.message


class UsageError(BrainbucketError, ValueError):
    """The request itself is malformed (bad arguments, bad option values)."""

    exit_code = 2
    default_hint = "see `brainbucket COMMAND --help` for what it takes"


class InvalidURLError(UsageError):
    """A store URL could not be understood."""

    default_hint = "use s3://bucket/prefix, file:///path or a local folder path"


class UnsafeKeyError(UsageError):
    """A remote key would land outside the local root, or holds forbidden characters."""

    exit_code = 9
    default_hint = "the key was refused and nothing was written; rename it on the server"


class NotFoundError(BrainbucketError, FileNotFoundError):
    """Something named does not exist."""

    exit_code = 3


class BucketNotFoundError(NotFoundError):
    """The bucket does not exist."""

    default_hint = "check the bucket name; `brainbucket ls s3://` lists yours"

    @classmethod
    def named(cls, url: str, *, writing: bool = False) -> BucketNotFoundError:
        """The error for a missing bucket, named as the bucket (not the key that was asked
        for), with the next step that fits: a read names a bucket that is probably mistyped,
        a write one that may just need creating.

        Examples
        --------
        >>> err = BucketNotFoundError.named("s3://study/.brainbucket/HEAD")
        >>> str(err), err.hint
        ('s3://study: no such bucket', 'check the bucket name; `brainbucket ls s3://` lists yours')
        >>> BucketNotFoundError.named("s3://study/sub-01/x.nii", writing=True).hint
        'create it with `brainbucket mb s3://study`'
        """
        bucket = "s3://" + url[5:].split("/", 1)[0] if url.startswith("s3://") else url
        hint = f"create it with `brainbucket mb {bucket}`" if writing else None
        return cls(f"{bucket}: no such bucket", hint=hint)


class ObjectNotFoundError(NotFoundError):
    """The object (key, version or local file) does not exist."""

    default_hint = "list what is there with `brainbucket ls URL`"


class AccessDeniedError(BrainbucketError, PermissionError):
    """The server refused the request for these credentials."""

    exit_code = 4
    default_hint = "run `brainbucket doctor URL` to see which credentials were used"


class CredentialsError(AccessDeniedError):
    """Credentials are missing, malformed or wrong."""

    exit_code = 5


class NoCredentialsError(CredentialsError):
    """No credentials were found, and the request needs them."""

    default_hint = (
        "private data needs credentials: pass --profile NAME or set AWS_PROFILE "
        "(or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY); use --anon for public data"
    )


class InvalidCredentialsError(CredentialsError):
    """The server does not accept these credentials (unknown key id or wrong secret)."""

    default_hint = "check the access key and secret (`aws configure --profile NAME`)"


class EndpointError(BrainbucketError, ConnectionError):
    """The S3 endpoint could not be reached."""

    exit_code = 6
    default_hint = (
        "check the network connection and the endpoint (--endpoint-url, "
        "BRAINBUCKET_ENDPOINT_URL, or the AWS configuration's endpoint_url)"
    )


class ConflictError(BrainbucketError):
    """Someone else changed the same thing first (a conditional write lost)."""

    exit_code = 7
    default_hint = "someone else updated it at the same time; re-run the command"


class BucketOwnedByOthersError(ConflictError):
    """The bucket name is taken by another account."""

    default_hint = "bucket names are global: choose another name"


class IntegrityError(BrainbucketError, ValueError):
    """Data did not match its recorded size or checksum."""

    exit_code = 8
    default_hint = "nothing unverified was kept; re-run to fetch it again, or check the source"


class ManifestError(IntegrityError):
    """A manifest, pointer or catalog object is truncated, malformed or inconsistent."""

    default_hint = "the dataset's metadata is damaged; re-run the upload sync to rewrite it"


class ServerError(BrainbucketError, OSError):
    """The server kept failing (5xx, throttling) after retries."""

    exit_code = 10
    # The connection broke or closed before an answer (not an answer saying "failed"):
    # what a restarting server does, ridden through like a refused connection.
    connection_lost: bool = False
    default_hint = "the server is failing or overloaded; try again later"


class OfflineError(BrainbucketError, ConnectionError):
    """Offline mode is on and the answer needs the network."""

    exit_code = 11
    default_hint = (
        "turn offline mode off to fetch what is missing: drop --offline, unset BRAINBUCKET_OFFLINE"
    )


class PartialFailureError(BrainbucketError):
    """Some items of a batch failed; the rest succeeded.

    Parameters
    ----------
    message
        Summary line.
    failures
        ``(item, error message)`` pairs.
    """

    exit_code = 12

    def __init__(
        self,
        message: str,
        *,
        failures: list[tuple[str, str]] | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.failures = list(failures or [])


class ServeError(BrainbucketError, RuntimeError):
    """The embedded S3 server could not be started or stopped."""

    exit_code = 13


class ValidationError(BrainbucketError, ValueError):
    """A dataset breaks naming or layout rules (e.g. BIDS) and the operation requires validity."""

    exit_code = 14
    default_hint = "see `brainbucket validate DIR` for each problem, or pass --force"


class AssemblyNotFoundError(NotFoundError):
    """No data assembly (or no such version of one) under that identifier in the catalog.

    Parameters
    ----------
    message
        One line naming what was asked for and listing what exists.
    known
        The identifiers, version ids or sha1s that do exist, for programs to use.
    """

    default_hint = "list what the catalog holds with `brainbucket assembly list --store URL`"

    def __init__(
        self, message: str, *, known: list[str] | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.known = list(known or [])


# Tracebacks and reprs name the public path every class is imported from
# (``brainbucket.UsageError``), not this private module.
for _name in __all__:
    globals()[_name].__module__ = "brainbucket"
del _name
