"""Shared fixtures: one real SeaweedFS S3 server per test session, auth enforced.

Identities: ``admin`` (everything), ``readonly`` (Read, List) and anonymous read/list on the
``public`` bucket only. Every test gets its own bucket so tests never see each other's data.

The portability tests also run against two other real S3 servers, each started once per
session on loopback when a test first asks for it (``tests/servers.py`` says what each
honours): ``rclone serve s3`` (``rclone_server``) and moto's server mode (``moto_server``).
The ``server`` fixture is each of the three in turn, with the environment pointing at it.
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from brainbucket import open_store
from brainbucket.assemblies import demo_assembly
from brainbucket.server import Identity, LocalServer
from brainbucket.store import LocalStore, S3Store, Store
from servers import MotoServer, RcloneServer, S3Endpoint

# The default suite's test material, in the repository (see data/README.md).
DATA = Path(__file__).resolve().parent / "data"

# The full test corpus, which only tests marked ``corpus`` read: $BRAINBUCKET_CORPUS, else
# ../shared/corpus beside the repository. Read at import: ``_isolated_aws_env`` below clears
# every BRAINBUCKET_* variable before the tests run.
_CORPUS_ENV = os.environ.get("BRAINBUCKET_CORPUS")
FULL_CORPUS = (
    Path(_CORPUS_ENV) if _CORPUS_ENV else Path(__file__).resolve().parents[2] / "shared" / "corpus"
)

PUBLIC_BUCKET = "public"
_counter = itertools.count()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """A running SeaweedFS server on a free loopback port, stopped at the end."""
    data = tmp_path_factory.mktemp("seaweed")
    identities = [
        Identity.generate("admin"),
        Identity.generate("readonly", ("Read", "List")),
    ]
    server = LocalServer(data, identities=identities, public_buckets=(PUBLIC_BUCKET,))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def rclone_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RcloneServer]:
    """``rclone serve s3`` over a local folder on a free loopback port, keys enforced."""
    server = RcloneServer(tmp_path_factory.mktemp("rclone"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """moto's S3 server in its own process on a free loopback port (keys not enforced)."""
    server = MotoServer(tmp_path_factory.mktemp("moto"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


SERVERS = ("seaweedfs", "rclone", "moto")


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> S3Endpoint:
    """Each S3 server in turn; the environment points brainbucket at it as its admin.

    A test that applies to some servers only names them:
    ``@pytest.mark.parametrize("server", ["seaweedfs", "rclone"], indirect=True)``.
    """
    if request.param == "seaweedfs":
        endpoint = S3Endpoint.of_seaweedfs(request.getfixturevalue("s3_server"))
    else:
        endpoint = request.getfixturevalue(f"{request.param}_server").endpoint()
    for k, v in endpoint.env().items():
        monkeypatch.setenv(k, v)
    return endpoint


@pytest.fixture
def server_bucket(server: S3Endpoint) -> str:
    """A fresh bucket on ``server``, versioned where the server can be; its name.

    Made with the server's plain client, not brainbucket: a test of one command must not
    fail because ``mb`` does.
    """
    name = _unique_bucket("p")
    client = server.client()
    client.create_bucket(Bucket=name)
    if server.traits.versioning:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture(scope="session", autouse=True)
def _isolated_aws_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the user's ~/.aws and any real AWS settings out of every test."""
    home = tmp_path_factory.mktemp("awshome")
    saved = dict(os.environ)
    for k in list(os.environ):
        if k.startswith(("AWS_", "BRAINBUCKET_")):
            del os.environ[k]
    os.environ["AWS_CONFIG_FILE"] = str(home / "config")
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(home / "credentials")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ["BRAINBUCKET_CACHE"] = str(home / "cache")
    os.environ["BRAINBUCKET_RETRIES"] = "2"
    # Outages are ridden through only where a test asks for it (tests/faults/test_server_restart.py):
    # elsewhere a fault must surface after the clients' own retries.
    os.environ["BRAINBUCKET_RETRY_WINDOW"] = "0"
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def s3_env(s3_server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment pointing brainbucket (and aws/boto3) at the test server as admin."""
    env = s3_server.env()
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def _unique_bucket(prefix: str = "t") -> str:
    return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def bucket(s3_env: dict[str, str]) -> str:
    """A fresh, versioned, empty bucket; its name."""
    name = _unique_bucket()
    store = open_store(f"s3://{name}")
    assert isinstance(store, S3Store)
    store.create_bucket()
    return name


@pytest.fixture
def unversioned_bucket(s3_env: dict[str, str]) -> str:
    """A fresh bucket without versioning, where a read can only get the current bytes."""
    name = _unique_bucket()
    store = open_store(f"s3://{name}")
    assert isinstance(store, S3Store)
    store.create_bucket(versioning=False)
    return name


@pytest.fixture
def s3_store(bucket: str) -> S3Store:
    store = open_store(f"s3://{bucket}/root")
    assert isinstance(store, S3Store)
    return store


@pytest.fixture
def local_store(tmp_path: Path) -> LocalStore:
    root = tmp_path / "store"
    root.mkdir()
    store = open_store(root)
    assert isinstance(store, LocalStore)
    return store


@pytest.fixture(params=["s3", "local"])
def store(request: pytest.FixtureRequest) -> Store:
    """The same suite runs against every backend."""
    if request.param == "s3":
        return request.getfixturevalue("s3_store")
    return request.getfixturevalue("local_store")


@pytest.fixture
def public_bucket(s3_env: dict[str, str]) -> str:
    """The bucket anonymous users may read (created once, shared)."""
    store = open_store(f"s3://{PUBLIC_BUCKET}")
    assert isinstance(store, S3Store)
    store.create_bucket(versioning=False)
    return PUBLIC_BUCKET


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked ``corpus`` run only where the full corpus is."""
    if item.get_closest_marker("corpus") is None or FULL_CORPUS.is_dir():
        return
    if _CORPUS_ENV:
        pytest.fail(f"BRAINBUCKET_CORPUS={_CORPUS_ENV} is not a folder", pytrace=False)
    pytest.skip(
        "needs the full corpus: set BRAINBUCKET_CORPUS to the folder holding "
        f"bids-examples.tar.gz and hcp1200_sc_manifest.tsv (not found at {FULL_CORPUS})"
    )


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``tests/data/``: the trimmed test material the default suite reads."""
    return DATA


@pytest.fixture
def full_corpus(request: pytest.FixtureRequest) -> Path:
    """The full test corpus folder, for tests marked ``corpus`` (skipped where it is absent)."""
    if request.node.get_closest_marker("corpus") is None:
        pytest.fail("a test that reads the full corpus must be marked @pytest.mark.corpus")
    return FULL_CORPUS


@pytest.fixture
def nifti_files() -> dict[str, Path]:
    """Real NIfTI/DWI files shipped inside nibabel and dipy."""
    import dipy.data
    import nibabel.testing

    nib_data = Path(nibabel.testing.data_path)
    dipy_files = Path(dipy.data.__file__).parent / "files"
    files = {
        "t1w": nib_data / "anatomical.nii",
        "example4d": nib_data / "example4d.nii.gz",
        "dwi": dipy_files / "small_101D.nii.gz",
        "bval": dipy_files / "small_101D.bval",
        "bvec": dipy_files / "small_101D.bvec",
    }
    for name, p in files.items():
        assert p.exists(), f"{name}: {p} missing"
    return files


@pytest.fixture
def copy_tree():
    def _copy(src: Path, dst: Path) -> Path:
        shutil.copytree(src, dst)
        return dst

    return _copy


# -- assemblies and access: a private cache, identities, a real assembly -----------------


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ``BRAINBUCKET_CACHE`` for this test; assemblies land in ``cache/assemblies``."""
    root = tmp_path / "cache"
    monkeypatch.setenv("BRAINBUCKET_CACHE", str(root))
    return root / "assemblies"


@pytest.fixture
def assembly():  # type: ignore[no-untyped-def]
    """A BrainIO-shaped neural recording assembly with MultiIndex dimensions."""
    return demo_assembly(seed=1)


@pytest.fixture
def as_identity(s3_server: LocalServer, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Switch the environment's credentials: an identity name, or ``None`` for none at all."""

    def switch(name: str | None) -> None:
        if name is None:
            monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
            monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
            return
        for k, v in s3_server.env(name).items():
            monkeypatch.setenv(k, v)

    return switch


@pytest.fixture
def files_under():  # type: ignore[no-untyped-def]
    """Every file below a folder (none if it does not exist)."""

    def _files(root: Path) -> list[Path]:
        return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []

    return _files
