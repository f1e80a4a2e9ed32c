"""Whole-process start-up: ``brainbucket --help`` and a no-op sync, paired with s5cmd.

Usage::

    python benchmarks/startup.py                      # 242-file study, 15 rounds
    python benchmarks/startup.py --repeat 25 --baseline HEAD~3
    python benchmarks/startup.py --tiny               # same 242 names, 1 KiB each (quick)

A no-op sync of a small study is almost all fixed cost: starting the interpreter, importing
the command, reading the hash cache and the manifest (one GET), and a ``stat`` per file. This
script times the whole client process — what a user waits for — not an in-process figure:
wall time, and CPU seconds (user + system of the process tree, from ``wait4``).

Every round runs each step once for every tool, one process at a time, in an order that
rotates from round to round (A B, then B A, ...), so a drift in machine load falls on every
tool alike; the per-round ratio brainbucket ÷ s5cmd is reported beside the medians. Steps:

- ``help``: ``brainbucket --help`` (s5cmd: ``s5cmd --help``);
- ``noop-upload``: ``sync STUDY s3://bucket`` again, nothing changed, onto the tool's own
  upload;
- ``noop-download``: ``sync s3://bucket DIR`` again into the tool's own earlier download.

The study is the benchmark's ``bids`` workload (``_workloads.py``: 20 subjects x 2 sessions,
242 files, 1.34 GB), served by ``brainbucket.server.LocalServer`` on loopback. brainbucket's
bytecode is compiled first, as a pip install does.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from _measure import run_measured  # noqa: E402
from _tools import REPO, Tool, available  # noqa: E402
from _workloads import FULL, Spec, ensure_tree  # noqa: E402
from run import export_baseline, machine  # noqa: E402

from brainbucket import open_store  # noqa: E402
from brainbucket.server import LocalServer  # noqa: E402

# The benchmark's study with its 242 names and tiny contents: a no-op sync only stats files,
# so this measures the same thing in seconds instead of uploading 1.34 GB first.
TINY = Spec("bids", subjects=20, sessions=2, anat=1024, dwi=1024)
STEPS = ("help", "noop-upload", "noop-download")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


@dataclass(frozen=True)
class Timing:
    tool: str
    step: str
    round: int
    wall_s: float
    cpu_s: float
    exit_code: int


def _help(tool: Tool) -> list[str]:
    if tool.kind == "s5cmd":
        return [str(Path(sys.executable).parent / "s5cmd"), "--help"]
    return [sys.executable, "-m", "brainbucket", "--help"]


def _prepare(tool: Tool, study: Path) -> tuple[list[str], list[str]]:
    """Upload and download once, untimed; the no-op command lines that repeat them."""
    bucket = f"startup-{tool.label}"
    open_store(f"s3://{bucket}").create_bucket(versioning=False)
    up = tool.upload(study, bucket, "")
    dest = tool.scratch / "download"
    dest.mkdir(parents=True, exist_ok=True)
    down = tool.download(bucket, "", dest)
    for cmd in (up, down):
        r = run_measured(cmd, tool.env(), cwd=tool.scratch)
        if r.exit_code != 0:
            msg = f"{tool.name}: {' '.join(cmd)} failed: {r.output_tail[-500:]}"
            raise SystemExit(msg)
    return up, down


def summarise(timings: list[Timing], tools: list[str]) -> str:
    """A markdown table: per step and tool, min / median / max wall, median CPU, and the
    median of the per-round ratios to the first tool that is not brainbucket."""
    by: dict[tuple[str, str], list[Timing]] = defaultdict(list)
    for t in timings:
        by[(t.step, t.tool)].append(t)
    peer = next((t for t in tools if not t.startswith("brainbucket")), None)
    lines = [
        "| step | tool | wall min / median / max (s) | CPU median (s) | ÷ "
        + (peer or "-")
        + " (median of rounds) |",
        "|---|---|---|---|---|",
    ]
    for step in STEPS:
        for tool in tools:
            got = by.get((step, tool))
            if not got:
                continue
            walls = [t.wall_s for t in got]
            cpus = [t.cpu_s for t in got]
            ratio = "-"
            if peer and tool != peer and (step, peer) in by:
                theirs = {t.round: t for t in by[(step, peer)]}
                pairs = [
                    (t.wall_s / theirs[t.round].wall_s, t.cpu_s / max(theirs[t.round].cpu_s, 1e-3))
                    for t in got
                    if t.round in theirs
                ]
                if pairs:
                    ratio = (
                        f"wall {statistics.median(p[0] for p in pairs):.2f}, "
                        f"CPU {statistics.median(p[1] for p in pairs):.2f}"
                    )
            lines.append(
                f"| {step} | {tool} | {min(walls):.3f} / {statistics.median(walls):.3f} / "
                f"{max(walls):.3f} | {statistics.median(cpus):.3f} | {ratio} |"
            )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--repeat", type=int, default=15, help="rounds (default 15)")
    p.add_argument("--tiny", action="store_true", help="the study's 242 names, 1 KiB each")
    p.add_argument(
        "--baseline", metavar="REV", default=None,
        help="also run brainbucket at git revision REV (exported under the cache)",
    )  # fmt: skip
    p.add_argument("--cache", type=Path, default=HERE / ".cache", help="trees and server data")
    p.add_argument("--results", type=Path, default=HERE / "results", help="JSON output folder")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cache: Path = args.cache.absolute()
    compileall.compile_dir(str(REPO / "src" / "brainbucket"), quiet=1)
    baseline = export_baseline(args.baseline, cache) if args.baseline else None
    name = "bids-tiny" if args.tiny else "bids"
    tree = ensure_tree(cache, name, TINY if args.tiny else FULL["bids"])
    log(f"study: {tree.files} files, {tree.bytes / 1e6:.1f} MB in {tree.path}")
    scratch = cache / "scratch-startup"
    shutil.rmtree(scratch, ignore_errors=True)
    # A fresh server each run: its uploads are untimed preparation, and kept they only grow.
    server_dir = cache / "server-startup"
    shutil.rmtree(server_dir, ignore_errors=True)
    server = LocalServer(server_dir)
    os.environ.update(
        AWS_ACCESS_KEY_ID=server.admin.access_key,
        AWS_SECRET_ACCESS_KEY=server.admin.secret_key,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    server.start()
    os.environ["BRAINBUCKET_ENDPOINT_URL"] = server.endpoint_url  # the harness's own calls
    timings: list[Timing] = []
    try:
        keys = (server.endpoint_url, server.admin.access_key, server.admin.secret_key)
        tools = [Tool("brainbucket", *keys, scratch / "brainbucket")]
        if baseline is not None:
            tools.append(
                Tool(f"brainbucket@{baseline[1]}", *keys, scratch / "baseline",
                     kind="brainbucket", src=baseline[2])
            )  # fmt: skip
        tools.append(Tool("s5cmd", *keys, scratch / "s5cmd"))
        for tool in tools:
            why = available(tool.kind, tool.env())
            if why:
                raise SystemExit(f"{tool.name} is not available: {why}")
        commands = {}
        for tool in tools:
            up, down = _prepare(tool, tree.path)
            commands[tool.name] = {"help": _help(tool), "noop-upload": up, "noop-download": down}
            log(f"{tool.name}: uploaded and downloaded once (untimed)")
        for rnd in range(args.repeat):
            k = rnd % len(tools)
            order = tools[k:] + tools[:k]
            for step in STEPS:
                for tool in order:
                    r = run_measured(commands[tool.name][step], tool.env(), cwd=tool.scratch)
                    if r.exit_code != 0:
                        log(f"{tool.name} {step}: exit {r.exit_code}: {r.output_tail[-300:]}")
                    timings.append(
                        Timing(tool.name, step, rnd, r.wall_s, r.user_s + r.sys_s, r.exit_code)
                    )
            log(f"round {rnd + 1}/{args.repeat} done (load {os.getloadavg()[0]:.1f})")
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(server_dir, ignore_errors=True)
    table = summarise(timings, [t.name for t in tools])
    print(table)
    args.results.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = args.results / f"startup-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "machine": machine(),
                "study": {"files": tree.files, "bytes": tree.bytes, "tiny": args.tiny},
                "baseline": args.baseline,
                "timings": [t.__dict__ for t in timings],
                "table": table,
            },
            indent=2,
        )
    )
    log(f"results in {out}")
    return 1 if any(t.exit_code for t in timings) else 0


if __name__ == "__main__":
    sys.exit(main())
