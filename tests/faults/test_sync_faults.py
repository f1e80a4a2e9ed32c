"""Whole syncs through a faulty network: transient faults are ridden out, verified."""

from __future__ import annotations

from pathlib import Path

import pytest

from brainbucket import PartialFailureError, sync
from brainbucket.sync import verify

from ._helpers import PART, THRESHOLD, make_study, temporaries, tree_digests
from .proxy import Fault, FaultProxy

# A bit of everything, spread over the run; each fault hits a request at most twice in a row,
# within the session's retry budget (BRAINBUCKET_RETRIES=2).
MIXED = [  # the first matching fault that is due applies: specific ones first
    Fault("lose", method="PUT", path=r"\.brainbucket/HEAD", first=1),
    Fault("status", method="PUT", every=5, status=503, code="SlowDown"),
    Fault("drop", method="PUT", path="partNumber=2", first=1),
    Fault("status", method="POST", path="uploadId=", first=1, status=500, code="InternalError"),
    Fault("reset", method="GET", path="list-type=2", first=1),
    Fault("cut", method="GET", path=r"/sub-0\d/", every=4, after_bytes=2000),
    Fault("status", method="GET", path=r"\.brainbucket/", first=2, status=503),
    Fault("drop", method="HEAD", first=2),
]


def test_upload_and_download_through_faults(
    proxy: FaultProxy, root_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A broken-off download is resumed with a new ranged GET, which the "every 4th GET" cut
    # counts too; with transfers interleaving, one file can draw three cuts in a row. Four
    # retries (the default is five) keep this schedule within budget every time.
    monkeypatch.setenv("BRAINBUCKET_RETRIES", "4")
    src = make_study(tmp_path / "study")
    proxy.add(*MIXED)
    kw = {"endpoint_url": proxy.url, "multipart_threshold": THRESHOLD, "part_size": PART}
    up = sync(src, root_url, **kw)
    assert up.ok
    down = tmp_path / "down"
    assert sync(root_url, down, **kw).ok
    injected = proxy.injected()
    kinds = {r.action for r in injected}
    assert {"status", "drop", "cut", "lose"} <= kinds, kinds
    assert tree_digests(down) == tree_digests(src)
    assert temporaries(down) == []
    assert verify(down).ok
    assert verify(root_url, deep=True).ok
    # A second run through the same faults moves nothing: the lost pointer answer did not
    # leave a dataset that looks changed.
    again = sync(src, root_url, **kw)
    assert again.transferred == 0


# Every try of a request for sub-02 fails: the server answers 503, or the connection is
# closed or reset before any answer. The server is reachable all along, so only those
# files fail; the run goes on with the rest.
SUB_02_FAILS = {
    "503": lambda method: Fault("status", method=method, path=r"/sub-02/", status=503),
    "drop": lambda method: Fault("drop", method=method, path=r"/sub-02/"),
    "reset": lambda method: Fault("reset", method=method, path=r"/sub-02/"),
}


@pytest.mark.parametrize("kind", sorted(SUB_02_FAILS))
def test_one_subject_failing_rest_synced_then_rerun(
    kind: str, proxy: FaultProxy, root_url: str, tmp_path: Path
) -> None:
    src = make_study(tmp_path / "study", subjects=3, big=False)
    proxy.add(SUB_02_FAILS[kind]("PUT"))
    with pytest.raises(PartialFailureError) as info:
        sync(src, root_url, endpoint_url=proxy.url)
    failed = [p for p, _ in info.value.failures]
    assert failed
    assert all("/sub-02/" in f"/{p}" for p in failed)
    assert all("after retries" in e for _, e in info.value.failures), info.value.failures
    proxy.clear()
    assert sync(src, root_url, endpoint_url=proxy.url).ok
    assert verify(root_url, deep=True).ok
    down = tmp_path / "down"
    assert sync(root_url, down).ok
    assert tree_digests(down) == tree_digests(src)


@pytest.mark.parametrize("kind", sorted(SUB_02_FAILS))
def test_one_subject_failing_rest_downloaded_then_rerun(
    kind: str, proxy: FaultProxy, root_url: str, tmp_path: Path
) -> None:
    src = make_study(tmp_path / "study", subjects=3, big=False)
    assert sync(src, root_url).ok
    proxy.add(SUB_02_FAILS[kind]("GET"))
    down = tmp_path / "down"
    with pytest.raises(PartialFailureError) as info:
        sync(root_url, down, endpoint_url=proxy.url)
    failed = [p for p, _ in info.value.failures]
    assert failed
    assert all("/sub-02/" in f"/{p}" for p in failed), failed
    assert all("after retries" in e for _, e in info.value.failures), info.value.failures
    assert set(tree_digests(down)) == {p for p in tree_digests(src) if "/sub-02/" not in f"/{p}"}
    assert not temporaries(down), "a temporary file was left behind"
    proxy.clear()
    assert sync(root_url, down, endpoint_url=proxy.url).ok
    assert tree_digests(down) == tree_digests(src)


def test_download_with_every_read_cut_fails_clearly(
    proxy: FaultProxy, root_url: str, tmp_path: Path
) -> None:
    src = make_study(tmp_path / "study", subjects=1, big=False)
    assert sync(src, root_url).ok
    proxy.add(Fault("cut", method="GET", path=r"/sub-01/", after_bytes=100))
    down = tmp_path / "down"
    result = sync(root_url, down, endpoint_url=proxy.url, check=False)
    assert result.failed
    assert all("/sub-01/" in f"/{p}" for p, _ in result.failed)
    got, want = tree_digests(down), tree_digests(src)
    # What landed is exactly the source's; every sub-01 file longer than the cut is missing.
    assert all(want[p] == d for p, d in got.items())
    longer = {p for p in want if "/sub-01/" in f"/{p}" and (src / p).stat().st_size > 100}
    assert longer
    assert not longer & set(got)
    assert {p for p, _ in result.failed} == longer
    assert temporaries(down) == []


@pytest.mark.parametrize(
    ("what", "fault"),
    [
        # a single PUT (obstore, x-amz-checksum-crc64nvme)
        (
            "whole file",
            Fault("corrupt", method="PUT", path=r"sub-01_ses-01_dwi\.nii\.gz$", first=1),
        ),
        # one part of a multipart upload (boto3, x-amz-checksum-crc32)
        ("multipart part", Fault("corrupt", method="PUT", path="partNumber=2", first=1)),
    ],
)
def test_bytes_damaged_on_the_way_up_are_refused_by_the_server(
    proxy: FaultProxy, root_url: str, tmp_path: Path, what: str, fault: Fault
) -> None:
    # Uploads carry a checksum of the bytes brainbucket read; a byte flipped in transit must
    # make the server refuse the request, not store a damaged object.
    src = make_study(tmp_path / "study")
    proxy.add(fault)
    kw = {"endpoint_url": proxy.url, "multipart_threshold": THRESHOLD, "part_size": PART}
    first = sync(src, root_url, check=False, **kw)
    assert len(proxy.injected("corrupt")) == 1, what
    assert first.failed, what  # refused (400 BadDigest is not retried), reported per file
    again = sync(src, root_url, **kw)  # the fault fired once; the re-run completes
    assert again.ok
    down = tmp_path / "down"
    assert sync(root_url, down).ok
    assert tree_digests(down) == tree_digests(src)
    assert verify(root_url, deep=True).ok
