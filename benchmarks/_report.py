"""Medians of the samples, the comparison to the fastest peer, the markdown table, and the
comparison of brainbucket with an earlier revision of itself (``--baseline``)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path

from _measure import Sample

PEERS = ("aws", "s5cmd", "rclone")
# Client CPU seconds of the code under test over its baseline's, per step: above this is flagged.
CPU_LIMIT = 1.05
STEP_ORDER = ("upload", "noop-upload", "download", "noop-download")
START = "<!-- results:start -->"
END = "<!-- results:end -->"


def summarise(samples: list[Sample]) -> list[dict[str, object]]:
    """One row per (workload, step, tool): medians over the successful repeats."""
    groups: dict[tuple[str, str, str], list[Sample]] = defaultdict(list)
    for s in samples:
        groups[(s.workload, s.step, s.tool)].append(s)
    rows: list[dict[str, object]] = []
    for (wl, step, tool), group in groups.items():
        good = [s for s in group if s.ok]
        row: dict[str, object] = {
            "workload": wl,
            "step": step,
            "tool": tool,
            "runs": len(group),
            "ok": len(good),
            "files": group[0].files,
            "bytes": group[0].bytes,
        }
        if good:
            wall = statistics.median(s.wall_s for s in good)
            row.update(
                wall_s=wall,
                wall_min_s=min(s.wall_s for s in good),
                wall_max_s=max(s.wall_s for s in good),
                cpu_s=statistics.median(s.cpu_s for s in good),
                peak_rss_mib=statistics.median(s.peak_rss_mib for s in good),
                mb_s=group[0].bytes / wall / 1e6 if wall > 0 else None,
                files_s=group[0].files / wall if wall > 0 else None,
            )
        else:
            row["error"] = group[-1].note
        rows.append(row)
    # Speed relative to the fastest peer on the same workload step (>1: faster than it).
    by_step: dict[tuple[str, str], list[dict[str, object]]] = defaultdict(list)
    for r in rows:
        by_step[(str(r["workload"]), str(r["step"]))].append(r)
    for group_rows in by_step.values():
        peer_walls = [
            float(r["wall_s"])  # type: ignore[arg-type]
            for r in group_rows
            if r["tool"] in PEERS and r.get("wall_s") and r["ok"] == r["runs"]
        ]
        best = min(peer_walls) if peer_walls else None
        for r in group_rows:
            if best is not None and r.get("wall_s"):
                r["vs_fastest_peer"] = best / float(r["wall_s"])  # type: ignore[arg-type]
    order = {s: i for i, s in enumerate(STEP_ORDER)}
    tools = {t: i for i, t in enumerate((*PEERS, "brainbucket"))}
    rows.sort(
        key=lambda r: (
            str(r["workload"]),
            order.get(str(r["step"]), 9),
            tools.get(str(r["tool"]), 9),
        )
    )
    return rows


def _f(v: object, fmt: str) -> str:
    return format(v, fmt) if isinstance(v, (int, float)) else "—"


def table(rows: list[dict[str, object]]) -> str:
    head = (
        "| workload | step | tool | wall s (median) | min-max s | MB/s | files/s | CPU s | "
        "peak RSS MiB | vs fastest peer |\n"
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    lines = [head]
    for r in rows:
        noop = str(r["step"]).startswith("noop")
        if "wall_s" not in r:
            err = str(r.get("error", "failed")).replace("|", "/").replace("\n", " ")[:80]
            lines.append(f"| {r['workload']} | {r['step']} | {r['tool']} | failed: {err} |||||||")
            continue
        vs = r.get("vs_fastest_peer")
        flag = "" if r["ok"] == r["runs"] else f" ({r['ok']}/{r['runs']} ok)"
        lines.append(
            f"| {r['workload']} | {r['step']} | {r['tool']}{flag} | {_f(r['wall_s'], '.2f')} | "
            f"{_f(r['wall_min_s'], '.2f')}-{_f(r['wall_max_s'], '.2f')} | "
            f"{'—' if noop else _f(r['mb_s'], '.0f')} | {_f(r['files_s'], ',.0f')} | "
            f"{_f(r['cpu_s'], '.2f')} | {_f(r['peak_rss_mib'], '.0f')} | "
            f"{_f(vs, '.2f')}{'x' if vs is not None else ''} |"
        )
    return "\n".join(lines)


def compare(rows: list[dict[str, object]], new: str, base: str) -> list[dict[str, object]]:
    """Per workload step run by ``new`` or ``base``: both medians and ``new`` ÷ ``base`` CPU."""
    by_key: dict[tuple[str, str], dict[str, dict[str, object]]] = defaultdict(dict)
    for r in rows:  # already in report order
        if r["tool"] in (new, base):
            by_key[(str(r["workload"]), str(r["step"]))][str(r["tool"])] = r
    out: list[dict[str, object]] = []
    for (wl, step), pair in by_key.items():
        row: dict[str, object] = {"workload": wl, "step": step}
        for side, tool in (("new", new), ("base", base)):
            r = pair.get(tool, {})
            complete = bool(r) and r["ok"] == r["runs"]
            row[f"{side}_wall_s"] = r.get("wall_s") if complete else None
            row[f"{side}_cpu_s"] = r.get("cpu_s") if complete else None
            row[f"{side}_runs"] = f"{r['ok']}/{r['runs']}" if r else "0/0"
        n, b = row["new_cpu_s"], row["base_cpu_s"]
        ratio = float(n) / float(b) if n is not None and b else None  # type: ignore[arg-type]
        row["cpu_ratio"] = ratio
        row["over_limit"] = ratio is not None and ratio > CPU_LIMIT
        out.append(row)
    return out


def compare_table(cmp: list[dict[str, object]], new: str, base: str) -> str:
    """``compare``'s rows as a small markdown table, with a closing verdict line."""
    lines = [
        f"{new} vs {base} (medians; CPU = client CPU seconds; flagged above {CPU_LIMIT:.2f})",
        "",
        f"| workload | step | wall s {new} | wall s {base} | CPU s {new} | CPU s {base} | "
        "CPU new ÷ base | |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in cmp:
        ratio = r["cpu_ratio"]
        if ratio is None:  # a side failed, or did not run (a reused 100k upload)
            flag = f"not compared (runs ok: {r['new_runs']} new, {r['base_runs']} base)"
        else:
            flag = "SLOWER" if r["over_limit"] else ""
        lines.append(
            f"| {r['workload']} | {r['step']} | {_f(r['new_wall_s'], '.2f')} | "
            f"{_f(r['base_wall_s'], '.2f')} | {_f(r['new_cpu_s'], '.2f')} | "
            f"{_f(r['base_cpu_s'], '.2f')} | {_f(ratio, '.3f')} | {flag} |"
        )
    compared = [r for r in cmp if r["cpu_ratio"] is not None]
    over = [f"{r['workload']} {r['step']}" for r in compared if r["over_limit"]]
    limit = f"above {CPU_LIMIT:.2f}x the baseline's client CPU"
    if over:
        verdict = f"{len(over)} of {len(compared)} compared steps {limit}: {', '.join(over)}"
    else:
        verdict = f"no step {limit} ({len(compared)} compared)"
    return "\n".join([*lines, "", verdict])


def update_readme(readme: Path, text: str) -> None:
    """Replace what sits between the results markers of ``readme`` with ``text``."""
    body = readme.read_text() if readme.exists() else f"{START}\n{END}\n"
    if START not in body or END not in body:
        body = body.rstrip("\n") + f"\n\n{START}\n{END}\n"
    pre, rest = body.split(START, 1)
    _, post = rest.split(END, 1)
    readme.write_text(f"{pre}{START}\n{text.rstrip()}\n{END}{post}")
