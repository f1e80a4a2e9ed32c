"""The one-thread path for many small downloads (``store/_http/_small.py``).

A scripted HTTP server gives it every answer it must not take at face value: error statuses,
chunked and oversized bodies, answers cut short or never finished, connections closed while
idle, wrong bytes. Each object must still end as the careful path (``DirectGet.fetch``) would
end it: landed and verified, or refused with that path's error, and never half-written.
Against SeaweedFS, a sync of small files must go through it and land every file verified.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from brainbucket import (
    EndpointError,
    IntegrityError,
    ObjectNotFoundError,
    UnsafeKeyError,
)
from brainbucket._hashing import TMP_SUFFIX, sha256_bytes
from brainbucket._types import Expected
from brainbucket.store._http import LIMIT, Abort, DirectGet, Fetch, SmallGets, _small

from .scripted import ScriptedServer

# Sizes chosen to cross every boundary the reader has: empty, one byte, one TCP segment, many.
FILES = {f"sub-{i:02d}/f{i}.json": os.urandom(size) for i, size in enumerate([0, 1, 1000] * 10)}
FILES.update({f"dwi/big{i}.bval": os.urandom(200_000 + i) for i in range(6)})

NOT_FOUND = (
    b"HTTP/1.1 404 Not Found\r\nContent-Length: 63\r\n\r\n"
    b"<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>  \n"
)


def _ok(body: bytes, extra: str = "") -> bytes:
    head = f'HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nETag: "e"\r\n{extra}\r\n'
    return head.encode() + body


def _key(headers: dict[str, str]) -> str:
    return headers[":path"].split("?")[0].removeprefix("/bucket/")


class Lane:
    """A :class:`SmallGets` on a scripted server, with its fallbacks counted."""

    def __init__(self, port: int, connections: int = 4) -> None:
        def sign_many(items: list[tuple[str, str | None]]) -> list[str]:
            keys = [k for k, _ in items]
            for k in keys:
                if "\x00" in k:
                    msg = "a key no URL can carry"
                    raise UnsafeKeyError(msg)
            return [f"http://127.0.0.1:{port}/bucket/{k}?X-Amz-Signature=x" for k in keys]

        self.direct = DirectGet(lambda key, version: sign_many([(key, version)])[0])
        self.fallbacks: list[str] = []
        self.gets = SmallGets(sign_many, self._fallback, connections=connections)

    def _fallback(self, want: Fetch, abort: Abort) -> tuple[str, int]:
        self.fallbacks.append(want.key)
        return self.direct.fetch(
            want.key,
            want.dest,
            what=want.what,
            expected=want.expected,
            keep_mtime=False,
            progress=None,
            abort=abort,
        )

    def run(
        self, dest: Path, files: dict[str, bytes], stop: threading.Event | None = None
    ) -> dict[str, Any]:
        """Fetch ``files``; returns each key's digest, or its error."""
        results: dict[str, Any] = {}

        def done(w: Fetch, digest: str | None, nbytes: int, exc: BaseException | None) -> None:
            assert w.key not in results, "an object was reported twice"
            assert threading.current_thread() is runner, "results must come on the run's thread"
            results[w.key] = exc if exc is not None else digest

        wants = (
            Fetch(
                path=k,
                key=k,
                dest=str(dest / k),
                what=f"s3://bucket/{k}",
                expected=Expected(size=len(v), sha256=sha256_bytes(v)),
                tag=k,
            )
            for k, v in files.items()
        )
        runner = threading.current_thread()
        self.gets.run(wants, done, stop or threading.Event())
        return results


def _landed(dest: Path, results: dict[str, Any], files: dict[str, bytes]) -> None:
    for k, v in files.items():
        assert results[k] == sha256_bytes(v), f"{k}: {results[k]!r}"
        assert (dest / k).read_bytes() == v
    _no_temp_files(dest)


def _no_temp_files(folder: Path) -> None:
    assert not [p for p in folder.rglob(f"*{TMP_SUFFIX}")], "a temporary file was left behind"


def test_many_files_over_a_few_kept_alive_connections(scripted, tmp_path: Path) -> None:
    server: ScriptedServer = scripted(lambda n, h: _ok(FILES[_key(h)]))
    lane = Lane(server.port, connections=4)
    results = lane.run(tmp_path, FILES)
    _landed(tmp_path, results, FILES)
    assert lane.fallbacks == []
    assert server.connections == 4, "connections were not kept alive"


def test_connection_close_answers_each_get_a_new_connection(scripted, tmp_path: Path) -> None:
    server = scripted(lambda n, h: _ok(FILES[_key(h)], "Connection: close\r\n"))
    lane = Lane(server.port)
    _landed(tmp_path, lane.run(tmp_path, FILES), FILES)
    assert lane.fallbacks == []
    assert server.connections == len(FILES)


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
def test_idle_connections_closed_by_the_server_are_opened_afresh(
    scripted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reset: bool
) -> None:
    # The server hangs up after every answer without saying so: each kept-alive connection is
    # found dead (an end of file, a reset, a broken pipe), either while idle or on the next
    # request, and is reopened without turning to the careful path.
    monkeypatch.setenv("BRAINBUCKET_RETRIES", "0")
    server = scripted(lambda n, h: _ok(FILES[_key(h)]), close_after=True, reset=reset)
    lane = Lane(server.port)
    _landed(tmp_path, lane.run(tmp_path, FILES), FILES)
    assert lane.fallbacks == []


def test_answers_taken_elsewhere_still_land_verified(scripted, tmp_path: Path) -> None:
    big = os.urandom(LIMIT + 1)
    files = {"chunked.json": os.urandom(5000), "big.nii": big, "slow.json": b"x" * 3000}
    files.update(FILES)

    def script(n: int, h: dict[str, str]) -> bytes:
        key = _key(h)
        body = files[key]
        if key == "chunked.json":
            head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            return head + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
        if key == "slow.json":
            time.sleep(0.2)  # headers and body in separate reads
        return _ok(body)

    server = scripted(script)
    lane = Lane(server.port)
    _landed(tmp_path, lane.run(tmp_path, files), files)
    assert sorted(lane.fallbacks) == ["big.nii", "chunked.json"]


def test_error_answer_is_worded_by_the_careful_path(scripted, tmp_path: Path) -> None:
    gone = "sub-00/f0.json"
    server = scripted(lambda n, h: NOT_FOUND if _key(h) == gone else _ok(FILES[_key(h)]))
    lane = Lane(server.port)
    results = lane.run(tmp_path, FILES)
    assert isinstance(results.pop(gone), ObjectNotFoundError)
    assert not (tmp_path / gone).exists()
    _landed(tmp_path, results, {k: v for k, v in FILES.items() if k != gone})
    assert lane.fallbacks == [gone]


def test_answer_cut_short_is_fetched_again(scripted, tmp_path: Path) -> None:
    cut = "dwi/big3.bval"
    tries: list[str] = []

    def script(n: int, h: dict[str, str]) -> bytes | None:
        key = _key(h)
        answer = _ok(FILES[key])
        if key == cut and cut not in tries:
            tries.append(key)
            return answer[: len(answer) // 2]  # then the connection closes
        return answer

    # The server hangs up after every answer: after the cut one, mid-body.
    server = scripted(script, close_after=True)
    lane = Lane(server.port)
    _landed(tmp_path, lane.run(tmp_path, FILES), FILES)
    assert lane.fallbacks == [cut]


def test_wrong_bytes_are_refused_and_leave_nothing(scripted, tmp_path: Path) -> None:
    bad = "sub-02/f2.json"

    def script(n: int, h: dict[str, str]) -> bytes:
        body = FILES[_key(h)]
        return _ok(bytes(b ^ 1 for b in body) if _key(h) == bad else body)

    server = scripted(script)
    lane = Lane(server.port)
    results = lane.run(tmp_path, FILES)
    assert isinstance(results.pop(bad), IntegrityError)
    assert not (tmp_path / bad).exists()
    _landed(tmp_path, results, {k: v for k, v in FILES.items() if k != bad})
    assert lane.fallbacks == [], "a verified mismatch is final, not a network fault"


def test_stalled_answer_is_given_up_and_fetched_again(
    scripted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_small, "READ_TIMEOUT", 0.3)
    stalled = "sub-05/f5.json"
    stalls: list[int] = []

    def script(n: int, h: dict[str, str]) -> bytes | None:
        if _key(h) == stalled and not stalls:
            stalls.append(n)
            time.sleep(3)
            return None
        return _ok(FILES[_key(h)])

    server = scripted(script)
    lane = Lane(server.port)
    t0 = time.monotonic()
    _landed(tmp_path, lane.run(tmp_path, FILES), FILES)
    assert time.monotonic() - t0 < 2.9, "the stalled answer was waited for"
    assert lane.fallbacks == [stalled]


def test_stop_ends_the_run_at_once_and_leaves_nothing(scripted, tmp_path: Path) -> None:
    def script(n: int, h: dict[str, str]) -> bytes | None:
        time.sleep(5)  # every answer stalls
        return None

    server = scripted(script)
    lane = Lane(server.port)
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    t0 = time.monotonic()
    assert lane.run(tmp_path, FILES, stop) == {}
    assert time.monotonic() - t0 < 1.0
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_stop_also_ends_fallbacks_in_flight(scripted, tmp_path: Path) -> None:
    # Chunked answers go to the careful path; its stalled reads must be cut short too.
    def script(n: int, h: dict[str, str]) -> bytes | None:
        if n > len(FILES):
            time.sleep(5)
            return None
        return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

    server = scripted(script)
    lane = Lane(server.port)
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    t0 = time.monotonic()
    lane.run(tmp_path, dict(list(FILES.items())[:3]), stop)
    assert time.monotonic() - t0 < 1.5
    assert lane.fallbacks
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_nobody_listening_is_an_endpoint_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRAINBUCKET_RETRIES", "0")
    import socket

    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    files = dict(list(FILES.items())[:5])
    results = Lane(port).run(tmp_path, files)
    assert sorted(results) == sorted(files)
    assert all(isinstance(e, EndpointError) for e in results.values())
    assert list(tmp_path.iterdir()) == []


def test_a_key_no_url_can_carry_fails_alone(scripted, tmp_path: Path) -> None:
    server = scripted(lambda n, h: _ok(FILES[_key(h)]))
    files = {"bad\x00key": b"x", **FILES}
    results = Lane(server.port).run(tmp_path, files)
    assert isinstance(results.pop("bad\x00key"), UnsafeKeyError)
    _landed(tmp_path, results, FILES)


# -- against the S3 server ---------------------------------------------------------------------


def test_sync_of_small_files_takes_this_path(
    root_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from brainbucket import sync

    src = tmp_path / "src"
    for k, v in FILES.items():
        (src / k).parent.mkdir(parents=True, exist_ok=True)
        (src / k).write_bytes(v)
    url = root_url
    sync(src, url)

    slow: list[str] = []
    fetch = DirectGet.fetch

    def counted(self: DirectGet, key: str, *a: Any, **kw: Any) -> Any:
        slow.append(key)
        return fetch(self, key, *a, **kw)

    monkeypatch.setattr(DirectGet, "fetch", counted)
    dest = tmp_path / "dest"
    result = sync(url, dest)
    assert not result.failed
    assert slow == [], "small files went through the thread path"
    for k, v in FILES.items():
        assert (dest / k).read_bytes() == v
    _no_temp_files(dest)
