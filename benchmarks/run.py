"""Compare brainbucket sync with aws-cli, s5cmd and rclone on one local S3 server.

Usage::

    python benchmarks/run.py                       # full run, 3 repeats, updates README.md
    python benchmarks/run.py --quick               # small sizes, 1 repeat (~1-2 minutes)
    python benchmarks/run.py --repeat 5 --workloads small tree100k --tools s5cmd brainbucket
    python benchmarks/run.py --tools brainbucket --baseline e138c57   # this code vs e138c57

The harness starts its own SeaweedFS server (authentication enforced) on a free loopback
port, generates the workload trees once (kept under ``benchmarks/.cache``), and runs every
tool against the same server in the same run, interleaved (A B C D, then the next repeat
starting with the next tool). Results go to ``benchmarks/results/*.json``; a full run also
rewrites the table in ``benchmarks/README.md``.

``--baseline REV`` adds brainbucket at another git revision as one more tool,
``brainbucket@<short sha>``: that revision's ``src/`` is exported (``git archive``) under the
cache, compiled, and run exactly like this checkout's brainbucket with its own scratch state
and buckets; the summary then compares the two step by step (client CPU, new ÷ baseline).
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import hashlib
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from _measure import Sample, run_measured  # noqa: E402
from _report import compare, compare_table, summarise, table, update_readme  # noqa: E402
from _tools import REPO, Tool, available  # noqa: E402
from _workloads import FULL, QUICK, Tree, ensure_tree, tree_stats  # noqa: E402

from brainbucket import open_store  # noqa: E402
from brainbucket.server import LocalServer  # noqa: E402

ALL_TOOLS = ("aws", "s5cmd", "rclone", "brainbucket")
ALL_WORKLOADS = ("bids", "small", "tree100k")
# Each tool syncs to the root of its own fresh bucket.
PREFIX = ""
# Pause after syncing, before each timed step (see Bench.measure).
SETTLE_S = 0.5


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


@dataclass
class Bench:
    server: LocalServer
    tools: list[Tool]
    trees: dict[str, Tree]
    repeat: int
    scratch: Path
    state_file: Path
    samples: list[Sample] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    baseline: dict[str, str] = field(default_factory=dict)  # --baseline: commit, source

    # -- helpers ----------------------------------------------------------------------------

    @property
    def client(self):  # the harness's own control-plane client (admin)
        return open_store("s3://harness", endpoint_url=self.server.endpoint_url).client

    def new_bucket(self, label: str) -> str:
        name = f"{label}-{secrets.token_hex(3)}".lower()
        store = open_store(f"s3://{name}", endpoint_url=self.server.endpoint_url)
        store.create_bucket(versioning=True)
        return name

    def drop_bucket(self, name: str) -> None:
        # SeaweedFS drops a whole bucket (its collection) at once, even when not empty.
        with contextlib.suppress(Exception):
            self.client.delete_bucket(Bucket=name)

    def remote_stats(self, bucket: str) -> tuple[int, int]:
        store = open_store(
            f"s3://{bucket}/{PREFIX}".rstrip("/"), endpoint_url=self.server.endpoint_url
        )
        files = size = 0
        for info in store.walk(""):
            if info.path.startswith(".brainbucket/"):
                continue
            files += 1
            size += info.size
        return files, size

    def version_count(self, bucket: str) -> int:
        """Object versions (not counting brainbucket's own manifest files) under the prefix."""
        top = f"{PREFIX}/" if PREFIX else ""
        internal = f"{top}.brainbucket/"
        s5cmd = Path(sys.executable).parent / "s5cmd"
        if s5cmd.exists():  # ~20x faster than paging 100,000 versions through botocore
            r = subprocess.run(
                [str(s5cmd), "--endpoint-url", self.server.endpoint_url, "ls", "--all-versions",
                 f"s3://{bucket}/{top}*"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if r.returncode == 0:
                # One line per version: date, time, size, key[, version id].
                lines = [ln.split(None, 3) for ln in r.stdout.splitlines() if ln.strip()]
                return sum(1 for f in lines if len(f) == 4 and not f[3].startswith(internal))
            if "no object found" in r.stderr:
                return 0
        n = 0
        pages = self.client.get_paginator("list_object_versions").paginate(
            Bucket=bucket, Prefix=top
        )
        for page in pages:
            for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                if not v["Key"].startswith(internal):
                    n += 1
        return n

    def measure(self, tool: Tool, cmd: list[str], tree: Tree, step: str, rep: int, check) -> Sample:
        # Start every tool on a settled machine: the kernel's deferred work from the step
        # before (writing back and freeing the previous tool's 1.34 GB or 5,000 files) would
        # otherwise run inside the next tool's timing. Measured: up to 0.5 CPU-s on a download.
        os.sync()
        time.sleep(SETTLE_S)
        load = os.getloadavg()[0]
        self.loads.append(load)
        r = run_measured(cmd, tool.env(), cwd=tool.scratch)
        note = ""
        ok = r.exit_code == 0
        if not ok:
            note = f"exit {r.exit_code}: {r.output_tail.strip()[-300:]}"
        else:
            problem = check()
            if problem:
                ok, note = False, problem
        s = Sample(
            tool.name, tree.name, step, rep, r.wall_s, r.user_s, r.sys_s, r.peak_rss_mib,
            tree.files, tree.bytes, r.exit_code, ok, note or f"load1={load:.2f}",
        )  # fmt: skip
        self.samples.append(s)
        status = "ok" if ok else f"FAILED ({note[:200]})"
        width = max(11, *(len(t.name) for t in self.tools))  # brainbucket@<sha>: 19
        log(
            f"{tree.name:9s} {step:13s} {tool.name:{width}s} {r.wall_s:8.2f} s  cpu {s.cpu_s:7.2f} s"
            f"  rss {r.peak_rss_mib:6.0f} MiB  load {load:.1f}  {status}"
        )
        return s

    def rotated(self, rep: int) -> list[Tool]:
        k = rep % len(self.tools)
        return self.tools[k:] + self.tools[:k]

    # -- workloads --------------------------------------------------------------------------

    def download_source(self, tree: Tree) -> str:
        """A bucket holding ``tree`` for the download steps (uploaded untimed)."""
        names = [t.name for t in self.tools]
        # The code under test, never a --baseline: every tool downloads the same bucket.
        uploader = next((t for t in self.tools if t.name == "brainbucket"), None)
        if uploader is None:
            uploader = self.tools[names.index("s5cmd")] if "s5cmd" in names else self.tools[0]
        bucket = self.new_bucket(f"src-{tree.name}")
        uploader.reset_state()
        r = run_measured(
            uploader.upload(tree.path, bucket, PREFIX), uploader.env(), uploader.scratch
        )
        got = self.remote_stats(bucket)
        if r.exit_code != 0 or got != (tree.files, tree.bytes):
            msg = f"could not prepare the download source with {uploader.name}: {r.output_tail[-500:]}"
            raise SystemExit(msg)
        log(f"{tree.name}: download source s3://{bucket}/{PREFIX} uploaded by {uploader.name}")
        return bucket

    def transfer(self, tree: Tree) -> None:
        """Upload, no-op upload, download, no-op download; every tool, every repeat."""
        expect = (tree.files, tree.bytes)

        def remote_check(bucket: str):
            def check() -> str:
                got = self.remote_stats(bucket)
                return "" if got == expect else f"remote has {got}, expected {expect}"

            return check

        def local_check(dest: Path):
            def check() -> str:
                got = tree_stats(dest)
                return "" if got == expect else f"local has {got}, expected {expect}"

            return check

        source = self.download_source(tree)
        for rep in range(self.repeat):
            for tool in self.rotated(rep):
                bucket = self.new_bucket(f"{tool.label}-{tree.name}-r{rep}")
                tool.reset_state()
                cmd = tool.upload(tree.path, bucket, PREFIX)
                self.measure(tool, cmd, tree, "upload", rep, remote_check(bucket))
                before = self.version_count(bucket)

                def noop_check(bucket: str = bucket, before: int = before) -> str:
                    after = self.version_count(bucket)
                    return "" if after == before else f"no-op wrote {after - before} objects"

                self.measure(tool, cmd, tree, "noop-upload", rep, noop_check)
                self.drop_bucket(bucket)
            for tool in self.rotated(rep):
                dest = tool.scratch / f"dl-{tree.name}"
                shutil.rmtree(dest, ignore_errors=True)
                dest.mkdir(parents=True)
                tool.reset_state()
                cmd = tool.download(source, PREFIX, dest)
                self.measure(tool, cmd, tree, "download", rep, local_check(dest))
                self.measure(tool, cmd, tree, "noop-download", rep, local_check(dest))
                shutil.rmtree(dest, ignore_errors=True)
        self.drop_bucket(source)

    def warm_up(self, tool: Tool, tree: Tree, bucket: str) -> None:
        """One untimed no-op re-sync, so brainbucket's hash cache (wiped with the scratch
        folder at every start) is as warm as right after its own upload: its timed re-syncs
        then cost the same whether the upload was made in this run or reused."""
        r = run_measured(tool.upload(tree.path, bucket, PREFIX), tool.env(), tool.scratch)
        log(
            f"{tree.name}: {tool.name} warm-up re-sync (untimed) {r.wall_s:.2f} s, "
            f"cpu {r.user_s + r.sys_s:.2f} s, exit {r.exit_code}"
        )

    def noop_big(self, tree: Tree) -> None:
        """No-op re-sync of a large tree each tool uploaded itself (peers' uploads are kept)."""
        state = json.loads(self.state_file.read_text()) if self.state_file.exists() else {}
        tree_id = f"{tree.path}:{tree.files}:{tree.bytes}:{tree.path.stat().st_mtime_ns}" + (
            f":/{PREFIX}" if PREFIX else ""
        )
        buckets: dict[str, str] = {}
        for tool in self.tools:
            # One kept upload for any --baseline (the one of another revision is replaced, not
            # kept beside it: 100,000 objects each).
            slot = tool.name if tool.src is None else "brainbucket@baseline"
            prev = state.get(slot, {})
            # brainbucket's own upload is reused only while its source code is unchanged (a
            # --baseline's by the digest of its own exported source).
            bb = tool.kind == "brainbucket"
            fingerprint = tree_id + (f":{source_digest(tool.src_dir)}" if bb else "")
            if prev.get("fingerprint") == fingerprint:
                reused = False
                with contextlib.suppress(Exception):
                    reused = self.remote_stats(prev["bucket"]) == (tree.files, tree.bytes)
                if reused:
                    buckets[tool.name] = prev["bucket"]
                    log(f"{tree.name}: reusing {tool.name}'s upload s3://{prev['bucket']}")
                    if bb:
                        self.warm_up(tool, tree, prev["bucket"])
                    continue
            if prev.get("bucket"):
                self.drop_bucket(prev["bucket"])
            bucket = self.new_bucket(f"{tool.label}-{tree.name}")
            tool.reset_state()
            cmd = tool.upload(tree.path, bucket, PREFIX)
            expect = (tree.files, tree.bytes)
            s = self.measure(
                tool, cmd, tree, "upload", 0,
                lambda b=bucket, e=expect: "" if self.remote_stats(b) == e else "incomplete upload",
            )  # fmt: skip
            if not s.ok:
                self.drop_bucket(bucket)
                continue
            buckets[tool.name] = bucket
            state[slot] = {"bucket": bucket, "fingerprint": fingerprint}
            self.state_file.write_text(json.dumps(state, indent=2))
        for rep in range(self.repeat):
            for tool in self.rotated(rep):
                if tool.name not in buckets:
                    continue
                cmd = tool.upload(tree.path, buckets[tool.name], PREFIX)
                self.measure(tool, cmd, tree, "noop-upload", rep, lambda: "")
        # Every file uploaded exactly once: any extra version is a rewrite by some re-sync.
        for name, b in buckets.items():
            after = self.version_count(b)
            if after != tree.files:
                log(f"WARNING: {name}'s bucket holds {after} versions for {tree.files} files")
                for s in self.samples:
                    if s.tool == name and s.workload == tree.name and s.step == "noop-upload":
                        self.samples[self.samples.index(s)] = Sample(
                            **{**s.__dict__, "ok": False, "note": "no-op wrote objects"}
                        )


def source_digest(src_dir: Path = REPO / "src") -> str:
    """A digest of the source files of the ``brainbucket`` package under ``src_dir``."""
    h = hashlib.sha256()
    src = src_dir / "brainbucket"
    for p in sorted(src.rglob("*.py")):
        h.update(str(p.relative_to(src)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def machine() -> dict[str, object]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError):
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def versions(tools: list[Tool]) -> dict[str, str]:
    out: dict[str, str] = {}
    bin_ = Path(sys.executable).parent
    probes = {
        "aws": [str(bin_ / "aws"), "--version"],
        "s5cmd": [str(bin_ / "s5cmd"), "version"],
        "rclone": [str(bin_ / "rclone"), "version"],
        "brainbucket": [sys.executable, "-c", "import brainbucket; print(brainbucket.__version__)"],
    }
    for t in tools:
        with contextlib.suppress(Exception):
            r = subprocess.run(probes[t.kind], env=t.env(), capture_output=True, timeout=60)
            text = (r.stdout or r.stderr).decode(errors="replace").strip().splitlines()
            out[t.name] = text[0] if text else ""
    commit = subprocess.run(
        ["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    out["brainbucket-commit"] = commit.stdout.strip()
    return out


def _git(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, check=False)


def export_baseline(rev: str, cache: Path) -> tuple[str, str, Path]:
    """Export ``rev``'s ``src/`` to ``cache/baseline-<sha>/src`` (once) and compile it.

    Returns the full and the short commit hash and the exported ``src`` folder. The export is
    written beside its final place and renamed into it, so an interrupted one is redone.
    """
    if rev.startswith("-"):
        raise SystemExit(f"--baseline {rev}: not a git revision")
    r = _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if r.returncode != 0:
        raise SystemExit(f"--baseline {rev}: no such commit in {REPO}")
    sha = r.stdout.decode().strip()
    short = _git("rev-parse", "--short", sha).stdout.decode().strip() or sha[:7]
    dest = cache / f"baseline-{sha}"
    src = dest / "src"
    if not (src / "brainbucket").is_dir():
        tmp = cache / f".baseline-{sha}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(dest, ignore_errors=True)
        tmp.mkdir(parents=True)
        archive = tmp / "src.tar"
        r = _git("archive", "--format=tar", "-o", str(archive), sha, "src")
        if r.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            msg = f"--baseline {rev}: git archive failed: {r.stderr.decode().strip()}"
            raise SystemExit(msg)
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        archive.unlink()
        if not (tmp / "src" / "brainbucket").is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
            raise SystemExit(f"--baseline {rev}: no src/brainbucket at {short}")
        tmp.rename(dest)
    # Compiled like this checkout's code (see main), into the export's __pycache__ folders.
    compileall.compile_dir(str(src / "brainbucket"), quiet=1)
    return sha, short, src


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="small sizes, 1 repeat (smoke test)")
    p.add_argument(
        "--repeat", type=int, default=None, help="repeats per step (default 3; 1 with --quick)"
    )
    p.add_argument("--workloads", nargs="+", choices=ALL_WORKLOADS, default=list(ALL_WORKLOADS))
    p.add_argument("--tools", nargs="+", choices=ALL_TOOLS, default=list(ALL_TOOLS))
    p.add_argument("--cache", type=Path, default=HERE / ".cache", help="trees and server data")
    p.add_argument("--results", type=Path, default=HERE / "results", help="JSON output folder")
    p.add_argument(
        "--readme", action=argparse.BooleanOptionalAction, default=None,
        help="write the table into benchmarks/README.md (default: yes for full runs without "
        "--baseline)",
    )  # fmt: skip
    p.add_argument(
        "--baseline", metavar="REV", default=None,
        help="also run brainbucket at git revision REV (its src/ exported under the cache) as "
        "the tool brainbucket@<short sha>, and compare the two step by step",
    )  # fmt: skip
    args = p.parse_args(argv)
    if args.baseline is not None and "brainbucket" not in args.tools:
        p.error("--baseline compares with this checkout's brainbucket: include it in --tools")
    return args


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # stop the server and clean up, as on Ctrl-C


def write_results(
    args: argparse.Namespace,
    bench: Bench,
    *,
    mode: str,
    started: datetime,
    repeat: int,
    tools: list[Tool],
    skipped: dict[str, str],
    trees: dict[str, Tree],
    final: bool,
    baseline: str | None = None,
) -> None:
    """Write the JSON and (full runs) the README table; called after every workload, so an
    interrupted run still leaves what it measured."""
    rows = summarise(bench.samples)
    comparison = compare(rows, "brainbucket", baseline) if baseline else []
    finished = datetime.now(timezone.utc)
    loads = bench.loads or [0.0]
    meta = {
        "mode": mode,
        "complete": final,
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "repeat": repeat,
        "machine": machine(),
        "versions": bench.versions,
        "skipped_tools": skipped,
        "load1_min": min(loads),
        "load1_max": max(loads),
        "workloads": {n: {"files": t.files, "bytes": t.bytes} for n, t in trees.items()},
    }
    if baseline:
        meta["baseline"] = {"rev": args.baseline, "tool": baseline, **bench.baseline}
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"{started.strftime('%Y%m%dT%H%M%SZ')}-{mode}.json"
    out.write_text(
        json.dumps(
            {
                "meta": meta,
                "summary": rows,
                "baseline_comparison": comparison,
                "samples": [s.to_dict() for s in bench.samples],
            },
            indent=1,
        )
    )
    md = table(rows)
    if baseline:
        md += "\n\n" + compare_table(comparison, "brainbucket", baseline)
    if final:
        print(md)
    log(f"results: {out}")
    if args.readme if args.readme is not None else not (args.quick or args.baseline):
        m = meta["machine"]
        header = (
            f"Run {meta['started']} to {meta['finished']}"
            f"{'' if final else ' (interrupted: partial)'}, median of {repeat}; "
            f"{m['cpus']} x {m['cpu']}, {m['memory']} RAM; client and server share the CPUs; "
            f"1-minute load average during the run {meta['load1_min']:.1f}-{meta['load1_max']:.1f}. "
            f"Versions: {', '.join(f'{k} {v}' for k, v in meta['versions'].items())}.\n"
        )
        update_readme(HERE / "README.md", header + "\n" + md)
        log("updated benchmarks/README.md")


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    args = parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 3)
    specs = QUICK if args.quick else FULL
    mode = "quick" if args.quick else "full"
    cache: Path = args.cache.absolute()
    started = datetime.now(timezone.utc)
    if "brainbucket" in args.tools:
        # As a pip install does, so every run does not recompile brainbucket's modules
        # (~0.35 s of start-up here) when PYTHONDONTWRITEBYTECODE is set or the checkout is
        # fresh: the peers are compiled programs or pip-installed with their bytecode.
        compileall.compile_dir(str(REPO / "src" / "brainbucket"), quiet=1)
    baseline: tuple[str, str, Path] | None = None
    if args.baseline is not None:
        baseline = export_baseline(args.baseline, cache)
        log(f"baseline {args.baseline}: commit {baseline[0]}, source {baseline[2]}")
    log(f"generating workloads under {cache}/trees (once)")
    trees = {wl: ensure_tree(cache, wl, specs[wl]) for wl in args.workloads}
    for t in trees.values():
        log(f"  {t.name}: {t.files:,} files, {t.bytes / 1e6:,.1f} MB")
    scratch = cache / f"scratch-{mode}"
    shutil.rmtree(scratch, ignore_errors=True)
    server = LocalServer(cache / f"server-{mode}")
    # The harness's own control-plane calls use the admin identity; no user config is read.
    os.environ.update(
        AWS_ACCESS_KEY_ID=server.admin.access_key,
        AWS_SECRET_ACCESS_KEY=server.admin.secret_key,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    server.start()
    try:
        log(f"server {server.endpoint_url} (data in {server.data_dir})")
        tools: list[Tool] = []
        skipped: dict[str, str] = {}
        keys = (server.endpoint_url, server.admin.access_key, server.admin.secret_key)
        candidates: list[Tool] = []
        for name in args.tools:
            candidates.append(Tool(name, *keys, scratch / name))
            if name == "brainbucket" and baseline is not None:
                # Right after the code under test in the rotation, with its own scratch
                # folder (BRAINBUCKET_CACHE) and its own buckets (named by its label).
                short = baseline[1]
                candidates.append(
                    Tool(f"brainbucket@{short}", *keys, scratch / f"brainbucket-{short}",
                         kind="brainbucket", src=baseline[2])
                )  # fmt: skip
        for tool in candidates:
            why = available(tool.kind, tool.env())
            if why:
                skipped[tool.name] = why
                log(f"  {tool.name}: not available ({why})")
            else:
                tools.append(tool)
        if not tools:
            log("no tool to run")
            return 2
        bench = Bench(server, tools, trees, repeat, scratch, cache / f"prepared-{mode}.json")
        base_name = f"brainbucket@{baseline[1]}" if baseline is not None else None
        if baseline is not None:
            bench.baseline = {"commit": baseline[0], "source": str(baseline[2])}
        # Leftovers of an interrupted run (the large no-op trees are kept on purpose).
        kept = (
            {v["bucket"] for v in json.loads(bench.state_file.read_text()).values()}
            if bench.state_file.exists()
            else set()
        )
        for b in bench.client.list_buckets().get("Buckets", []):
            if b["Name"] not in kept:
                bench.drop_bucket(b["Name"])
        bench.versions = versions(tools)

        def save(final: bool = False) -> None:
            write_results(
                args, bench, mode=mode, started=started, repeat=repeat, tools=tools,
                skipped=skipped, trees=trees, final=final, baseline=base_name,
            )  # fmt: skip

        for wl in ("bids", "small"):
            if wl in trees:
                bench.transfer(trees[wl])
                save()
        if "tree100k" in trees:
            bench.noop_big(trees["tree100k"])
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    save(final=True)
    failed = [s for s in bench.samples if not s.ok]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
