"""Translate botocore and obstore errors into brainbucket's tree, at the store boundary.

botocore is consulted only when it is already imported: an exception cannot be one of its
classes otherwise, and importing it just to find out costs a quarter of a second.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from .._exceptions import (
    AccessDeniedError,
    BrainbucketError,
    BucketNotFoundError,
    BucketOwnedByOthersError,
    ConflictError,
    CredentialsError,
    EndpointError,
    IntegrityError,
    InvalidCredentialsError,
    InvalidURLError,
    NoCredentialsError,
    ObjectNotFoundError,
    ServerError,
    UnsafeKeyError,
    UsageError,
)
from .._paths import printable
from .._url import BUCKET_RULE

__all__ = [
    "broke_off",
    "error_code",
    "from_code",
    "is_unsigned_refusal",
    "no_answer",
    "not_supported",
    "printable",
    "redact_url",
    "stalled",
    "translate",
    "unreachable",
]

_CODE_RE = re.compile(r"<Code>([^<]+)</Code>")
_STATUS_RE = re.compile(r"status code: (\d{3})|\b(\d{3}) (?:Not Found|Forbidden|Precondition)")

# A failure to connect at all, in obstore's words: its error kind (``kind: Connect``), or the
# messages of the connection layer beneath it.
_CONNECT_RE = re.compile(
    r"kind: Connect\b|ConnectError\(|connection refused|dns error|tcp connect|connect error"
    r"|client error \(Connect\)",
    re.IGNORECASE,
)
# Its words for a request that timed out (not "retry_timeout", which every message carries).
_TIMEOUT_RE = re.compile(r"kind: Timeout\b|timed out", re.IGNORECASE)
_URL_RE = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
_BUGS = (NameError, AttributeError, TypeError, AssertionError, ImportError, RecursionError)
_BAD_CREDS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"}
# Answers worth another try (as ServerError once the tries run out).
_RETRYABLE_CODES = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"}
# How servers refuse an unsigned request outright, as a malformed one (400) rather than a
# forbidden one (403): ``rclone serve s3`` answers ``UnsupportedAlgorithm`` to anything
# without a signature. To a client without credentials they all mean "private".
_UNSIGNED_REFUSALS = {
    "UnsupportedAlgorithm",
    "AuthorizationHeaderMalformed",
    "AuthorizationQueryParametersError",
    "MissingSecurityHeader",
    "MissingAuthenticationToken",
    "InvalidSecurity",
}


def is_unsigned_refusal(code: str, status: int) -> bool:
    """Whether an answer to an unsigned request means "not without credentials".

    Examples
    --------
    >>> is_unsigned_refusal("AccessDenied", 403), is_unsigned_refusal("UnsupportedAlgorithm", 400)
    (True, True)
    >>> is_unsigned_refusal("InternalError", 500)
    False
    """
    return (
        status in (401, 403)
        or code in _UNSIGNED_REFUSALS
        or code in _BAD_CREDS
        or code in ("AccessDenied", "AllAccessDisabled")
    )


def not_supported(what: str, feature: str, *, hint: str | None = None) -> UsageError:
    """The one error for a request the server does not implement (never worth a retry).

    Examples
    --------
    >>> str(not_supported("s3://lab", "bucket policies"))
    's3://lab: this server does not support bucket policies'
    """
    return UsageError(
        f"{what}: this server does not support {feature}",
        hint=hint or "`brainbucket doctor URL` shows what the server answers to each request",
    )


def error_code(document: str) -> str:
    """The S3 error code in an error answer's XML document, or ``""``.

    Examples
    --------
    >>> error_code("<Error><Code>NoSuchKey</Code></Error>")
    'NoSuchKey'
    """
    m = _CODE_RE.search(document)
    return m.group(1) if m else ""


def from_code(code: str, status: int, what: str, anon: bool) -> BrainbucketError:
    if code == "NoSuchBucket":
        return BucketNotFoundError.named(what)
    if code == "InvalidBucketName":
        # Names are checked before any request (``parse_url``); a server may be stricter.
        return InvalidURLError(f"{what}: the server refuses this bucket name", hint=BUCKET_RULE)
    if code in ("NoSuchKey", "NotFound", "NoSuchVersion", "404") or (status == 404 and not code):
        return ObjectNotFoundError(f"{what}: no such key")
    if status == 404:
        return ObjectNotFoundError(f"{what}: not found ({code})")
    if code == "NotImplemented" or status == 501:
        # The server lacks the feature: no retry changes that (the control plane's retry
        # mode makes none on a 501, and this is not a ServerError's "try again later").
        return not_supported(what, "this request (NotImplemented)")
    if anon and (is_unsigned_refusal(code, status) or code == "403"):
        return NoCredentialsError(
            f"{what}: private — credentials required",
            hint="pass --profile NAME or set AWS_PROFILE (it was read anonymously)",
        )
    if code in _BAD_CREDS:
        return InvalidCredentialsError(f"{what}: the server rejected the credentials ({code})")
    if code in ("AccessDenied", "AllAccessDisabled", "403") or status == 403:
        return AccessDeniedError(f"{what}: access denied")
    if code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (409, 412):
        if code == "BucketAlreadyExists":
            return BucketOwnedByOthersError(f"{what}: the bucket name is taken")
        return ConflictError(f"{what}: changed by someone else meanwhile ({code or status})")
    if code == "InvalidRange" or status == 416:
        # The data path resumes a broken-off read with a range request; past the end means the
        # object was replaced by a shorter one meanwhile.
        return ConflictError(
            f"{what}: the byte range lies past the object's end: the object changed while it "
            "was being read"
        )
    if code in ("BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"):
        return IntegrityError(f"{what}: the server received different bytes than were sent")
    if code in _RETRYABLE_CODES or status >= 500 or status == 429:
        return ServerError(f"{what}: server error ({code or status}) after retries")
    return BrainbucketError(f"{what}: request failed ({code or status})")


def translate(exc: BaseException, what: str, *, anon: bool = False) -> BrainbucketError:
    """Map a third-party exception to the most specific brainbucket error.

    Parameters
    ----------
    exc
        The botocore/obstore (or OS) exception.
    what
        The URL being worked on, for the message (never contains secrets).
    anon
        Whether the request was unsigned: a 403 then means "private, credentials required".
    """
    if isinstance(exc, BrainbucketError):
        return exc
    what = printable(what)
    botocore_exceptions = sys.modules.get("botocore.exceptions")
    # Another thread may be importing it right now (a control-plane call beside transfers):
    # a module still initializing has not raised anything yet, and lacks its classes.
    spec = getattr(botocore_exceptions, "__spec__", None)
    if botocore_exceptions is not None and not getattr(spec, "_initializing", False):
        err = _translate_botocore(exc, botocore_exceptions, what, anon)
        if err is not None:
            return err
    if isinstance(exc, _BUGS):
        # Not an answer from the store but a defect of ours: let it surface as one (the CLI
        # reports an internal error, exit 70) instead of as a failed file among others.
        raise exc
    return _translate_obstore(exc, what, anon)


def _translate_botocore(
    exc: BaseException, botocore_exceptions: Any, what: str, anon: bool
) -> BrainbucketError | None:
    if isinstance(exc, botocore_exceptions.ClientError):
        response: dict[str, Any] = getattr(exc, "response", {})
        err = response.get("Error", {})
        code = str(err.get("Code", ""))
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return from_code(code, status, what, anon)
    if isinstance(
        exc, botocore_exceptions.NoCredentialsError | botocore_exceptions.PartialCredentialsError
    ):
        return NoCredentialsError(f"{what}: no AWS credentials found")
    if isinstance(exc, botocore_exceptions.ProfileNotFound):
        return CredentialsError(f"{what}: {exc}")
    if isinstance(
        exc, botocore_exceptions.EndpointConnectionError | botocore_exceptions.ConnectTimeoutError
    ):
        return unreachable(what)
    if isinstance(exc, botocore_exceptions.ConnectionClosedError):
        return no_answer(what)
    if isinstance(exc, botocore_exceptions.ReadTimeoutError):
        return ServerError(f"{what}: the server stopped answering (read timeout)")
    return None


def _translate_obstore(exc: BaseException, what: str, anon: bool) -> BrainbucketError:
    name = type(exc).__name__
    text = str(exc)
    code = error_code(text)
    sm = _STATUS_RE.search(text)
    status = int(sm.group(1) or sm.group(2)) if sm else 0
    if name == "InvalidPathError" or (
        isinstance(exc, ValueError) and "could not parse path" in text.lower()
    ):
        # The data path cannot represent this key (control character, empty or '..' segment).
        return UnsafeKeyError(f"{what}: the key holds characters or segments brainbucket refuses")
    if name == "NotFoundError" or isinstance(exc, FileNotFoundError):
        return from_code(code or "NoSuchKey", 404, what, anon)
    if name in ("AlreadyExistsError", "PreconditionError"):
        return ConflictError(f"{what}: changed by someone else meanwhile")
    if name in ("PermissionDeniedError", "UnauthenticatedError"):
        return from_code(code or "AccessDenied", 403, what, anon)
    if code or status:
        return from_code(code, status, what, anon)
    lowered = text.lower()
    if any(s in lowered for s in ("body error", "incompletebody", "unexpectedeof")):
        return broke_off(what)
    if _CONNECT_RE.search(text):
        return unreachable(what)
    if _TIMEOUT_RE.search(text):
        return stalled(what)
    if "error sending request" in lowered:
        # Connected, but the connection was closed or reset before an answer came, on
        # every try: the server is there, so this is the network's or the server's fault
        # for this request, not a wrong endpoint (and no reason to stop other transfers).
        return no_answer(what)
    # The request's URL is left out: it may carry a secret (user:password@, a signed query).
    first = _URL_RE.sub("<url>", text.splitlines()[0])[:200] if text else name
    return BrainbucketError(f"{what}: {name}: {first}")


# The network failures that outlast the retries, worded alike for every data path.


def broke_off(what: str) -> ServerError:
    """The answer started and then broke off, on every try: nothing partial was kept."""
    err = ServerError(
        f"{what}: the connection broke off in the middle of a transfer, after retries",
        hint="the network or the server keeps dropping connections; re-run later "
        "(verified files are kept, nothing partial is)",
    )
    err.connection_lost = True
    return err


def unreachable(what: str, endpoint: str | None = None, reason: str = "") -> EndpointError:
    """No connection at all, on every try (refused, no such host, connecting timed out).

    ``endpoint`` is named as :func:`redact_url` shows it (no secret in it).
    """
    where = f" {redact_url(endpoint).rstrip('/')}" if endpoint else ""
    because = f" ({reason})" if reason else ""
    return EndpointError(f"{what}: cannot reach the endpoint{where}{because}")


def redact_url(url: str) -> str:
    """``url`` without what may hold a secret: ``user:password@``, the query and fragment.

    Examples
    --------
    >>> redact_url("http://AKID:s3cret@127.0.0.1:8333/base?X-Amz-Signature=abc#x")
    'http://127.0.0.1:8333/base'
    >>> redact_url("https://s3.example.org")
    'https://s3.example.org'
    """
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
    except ValueError:
        return "(an endpoint URL that could not be read)"
    if not parts.scheme or not host:
        return "(an endpoint URL that could not be read)"
    return f"{parts.scheme}://{host}{parts.path}"


def no_answer(what: str) -> ServerError:
    """Connected, then closed or reset before any answer, on every try."""
    err = ServerError(
        f"{what}: the connection was closed before the server answered, after retries",
        hint="the network or the server keeps dropping connections; re-run later "
        "(verified files are kept, nothing partial is)",
    )
    err.connection_lost = True
    return err


def stalled(what: str) -> ServerError:
    """The server stopped sending, on every try."""
    return ServerError(f"{what}: the server stopped answering (timeout)")
