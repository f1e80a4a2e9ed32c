"""What tests read in a command's stderr besides its own messages."""

from __future__ import annotations

import re

# The line a command ends with when it talked to a server other than AWS and stderr is not a
# terminal (tests/test_cli_endpoint_notice.py tests it; other tests look past it).
ENDPOINT_NOTICE = re.compile(r"^brainbucket: used endpoint \S+ \(from .+\)$")


def messages(err: str | bytes) -> list[str]:
    """The lines of ``err`` without the closing endpoint notice."""
    text = err.decode() if isinstance(err, bytes) else err
    return [line for line in text.splitlines() if not ENDPOINT_NOTICE.match(line)]
