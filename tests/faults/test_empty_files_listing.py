"""Telling folder markers from empty files costs a listing page, not a request a file.

BIDS example datasets are thousands of empty placeholder files. The data path's listing strips
a marker's trailing ``/``, so a zero-byte ``a`` may be the file ``a`` or the marker ``a/``;
when many are in doubt, one raw listing of their range settles them all. Requests are counted
by the fault proxy in front of the real server (it injects nothing here).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from brainbucket.store import S3Settings, S3Store, open_store

from .proxy import FaultProxy

EMPTY = 2500  # more than two listing pages


def test_many_empty_files_and_markers_cost_pages_not_files(
    root_url: str, direct_store: S3Store, proxy: FaultProxy
) -> None:
    keys = [f"sub-{i:04d}/anat/sub-{i:04d}_T1w.json" for i in range(EMPTY)]
    markers = ["empty-folder/", "sub-0007/anat/", "sub-2499/"]
    root = root_url.split("/", 3)[3]

    def put(key: str) -> None:  # as S3 consoles make them: the key as given, "/" and all
        direct_store.client.put_object(Bucket=direct_store.bucket, Key=f"{root}/{key}", Body=b"")

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, keys + markers))

    store = open_store(root_url, settings=S3Settings.from_options(endpoint_url=proxy.url))
    proxy.records.clear()
    files = sorted(o.path for o in store.walk())
    requests = [r for r in proxy.records if r.method == "GET"]

    assert files == sorted(keys)  # markers are folders, empty files are files
    # obstore's pages (3) and the raw pages over the doubtful range (3), not one per file.
    assert len(requests) <= 10, len(requests)
    found: set[str] = set()
    assert sorted(o.path for o in store.walk(markers=found)) == sorted(keys)
    assert {m.rstrip("/") for m in found} == {m.rstrip("/") for m in markers}
    top = {e.path for e in store.ls("")}
    assert "empty-folder/" in top
    assert "empty-folder" not in top
