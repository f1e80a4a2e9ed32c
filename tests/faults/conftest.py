"""Fixtures for fault tests: a fault proxy in front of the session's S3 server.

SeaweedFS allocates storage for each new bucket on its first write, which costs about a second;
these tests share one versioned bucket and give each test its own prefix instead.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from brainbucket import open_store
from brainbucket.server import LocalServer
from brainbucket.store import S3Store

from .proxy import FaultProxy
from .scripted import Script, ScriptedServer

# Where to append a line per test with the faults its proxy injected (for reports); read at
# import, before the session clears BRAINBUCKET_* variables.
_FAULT_LOG = os.environ.get("BRAINBUCKET_FAULT_LOG")


@pytest.fixture(scope="session")
def fault_bucket(s3_server: LocalServer) -> str:
    """One versioned bucket shared by the fault tests."""
    name = f"faults-{uuid.uuid4().hex[:8]}"
    with pytest.MonkeyPatch.context() as mp:
        for k, v in s3_server.env().items():
            mp.setenv(k, v)
        store = open_store(f"s3://{name}")
        assert isinstance(store, S3Store)
        store.create_bucket()
    return name


@pytest.fixture(scope="session")
def plain_bucket(s3_server: LocalServer) -> str:
    """A bucket without versioning: overwriting an object leaves no older copy to fall back on."""
    name = f"plain-{uuid.uuid4().hex[:8]}"
    with pytest.MonkeyPatch.context() as mp:
        for k, v in s3_server.env().items():
            mp.setenv(k, v)
        store = open_store(f"s3://{name}")
        assert isinstance(store, S3Store)
        store.create_bucket(versioning=False)
    return name


@pytest.fixture
def root_url(fault_bucket: str, s3_env: dict[str, str]) -> str:
    """``s3://BUCKET/PREFIX`` private to this test (the environment is set for the admin)."""
    return f"s3://{fault_bucket}/t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def proxy(s3_server: LocalServer, request: pytest.FixtureRequest) -> Iterator[FaultProxy]:
    """A fault proxy in front of the test server, stopped after the test."""
    with FaultProxy(s3_server.endpoint_url, lifetime=120) as p:
        yield p
        if _FAULT_LOG:
            counts = Counter(r.action for r in p.records)
            with open(_FAULT_LOG, "a") as f:
                f.write(json.dumps({"test": request.node.nodeid, **counts}) + "\n")


@pytest.fixture
def faulty_store(root_url: str, proxy: FaultProxy) -> S3Store:
    """This test's prefix, reached through the fault proxy."""
    store = open_store(root_url, endpoint_url=proxy.url)
    assert isinstance(store, S3Store)
    return store


@pytest.fixture
def direct_store(root_url: str) -> S3Store:
    """The same prefix reached directly, to check what really reached the server."""
    store = open_store(root_url)
    assert isinstance(store, S3Store)
    return store


@pytest.fixture
def scripted() -> Iterator[Callable[..., ScriptedServer]]:
    """Start scripted HTTP servers (see ``scripted.py``); all closed after the test."""
    servers: list[ScriptedServer] = []

    def start(script: Script, **kw: bool) -> ScriptedServer:
        servers.append(ScriptedServer(script, **kw))
        return servers[-1]

    yield start
    for s in servers:
        s.close()
    # A script that failed on a request met during the test fails that test, here.
    errors = [e for s in servers for e in s.errors]
    assert not errors, f"a scripted server could not answer: {errors[0]!r}"
