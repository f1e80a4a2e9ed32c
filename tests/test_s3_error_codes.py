"""How the store reads an error answer's code and status (``store._errors.from_code``).

The answers themselves are the real servers' (``tests/portability/``); these pin down the
mapping of the ones that mean "not here" rather than "not now".
"""

from __future__ import annotations

import pytest

from brainbucket import BrainbucketError, NoCredentialsError, ServerError, UsageError
from brainbucket.store._errors import from_code


@pytest.mark.parametrize(("code", "status"), [("NotImplemented", 501), ("", 501)])
def test_not_implemented_is_a_usage_error_not_a_server_error(code: str, status: int) -> None:
    err = from_code(code, status, "s3://lab", anon=False)
    assert type(err) is UsageError
    assert err.exit_code == 2
    assert str(err).startswith("s3://lab: this server does not support")
    assert "try again" not in (err.hint or "")


@pytest.mark.parametrize(
    ("code", "status"),
    [("UnsupportedAlgorithm", 400), ("AuthorizationHeaderMalformed", 400), ("", 401)],
)
def test_an_unsigned_request_refused_as_malformed_means_private(code: str, status: int) -> None:
    err = from_code(code, status, "s3://lab/x", anon=True)
    assert isinstance(err, NoCredentialsError)
    assert str(err) == "s3://lab/x: private — credentials required"


def test_the_same_answer_to_a_signed_request_is_not_called_private() -> None:
    err = from_code("UnsupportedAlgorithm", 400, "s3://lab/x", anon=False)
    assert not isinstance(err, NoCredentialsError)
    assert str(err) == "s3://lab/x: request failed (UnsupportedAlgorithm)"


def test_a_real_server_error_is_still_one() -> None:
    err = from_code("InternalError", 500, "s3://lab", anon=False)
    assert isinstance(err, ServerError)
    assert isinstance(err, BrainbucketError)
