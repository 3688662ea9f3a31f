"""Render bench/results/latest.json as the Markdown tables of BENCHMARKS.md.

    python3 -m bench.report [results.json]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent


def render(r: dict[str, Any]) -> str:
    m = r["machine"]
    out = [f"Run started {r['started']} UTC on {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, "
           f"sqlglot {m['sqlglot']}, {m['platform']}; load average at start {tuple(round(x, 2) for x in m['loadavg_at_start'] or ())}.",
           ""]
    if "a" in r:
        a, s = r["a"], r["a"]["scan"]
        st, d = s["stats"], a["data"]
        out += [
            f"### (a) Scan of a {d['rows']:,}-row JSONL history export ({d['bytes'] / 1e6:.0f} MB)",
            "",
            "| | value | target |",
            "|---|---|---|",
            f"| wall time, end to end (`run_scan`: read, dedupe, prefilter, parse, match, record snapshot) | **{s['wall_s']} s** | < 10 s |",
            f"| peak memory, whole process tree (sampled RSS sum) | **{s['peak_tree_rss_mb']} MB** | < 500 MB |",
            f"| peak RSS main process / largest worker (getrusage) | {s['maxrss_self_mb']} MB / {s['maxrss_largest_child_mb']} MB | |",
            f"| CPU time main process / workers | {s['cpu_self_s']} s / {s['cpu_children_s']} s | |",
            f"| rows read / distinct texts | {st['texts_read']:,} / {st['distinct_texts']:,} | |",
            f"| ruled out by the prefilter / parsed / fallback / error | {st['prefiltered_out']:,} / {st['parsed']:,} / {st['fallback']} / {st['error']} | |",
            f"| findings (distinct text x user x deprecation) / uses counted | {s['findings']:,} / {s['deprecated_uses']:,} | |",
            f"| generated: texts mentioning a deprecated name / near-miss names / users | {d['mentioning']:,} / {d['near_misses']:,} / {d['users']:,} | |",
            "",
        ]
    if "b" in r:
        b, s, n = r["b"], r["b"]["scan"], r["b"]["naive"]
        ext = b["naive_extrapolated_to_rows_s (linear, an estimate)"]
        out += [
            f"### (b) Naive baseline vs scan, same {b['data']['rows']:,}-row file, same run",
            "",
            "| | naive (parse every row, 1 process) | scan |",
            "|---|---|---|",
            f"| wall time | {n['wall_s']} s ({n['ms_per_row']} ms/row) | {s['wall_s']} s |",
            f"| CPU time | {n['cpu_self_s']} s | {round(s['cpu_self_s'] + s['cpu_children_s'], 2)} s |",
            f"| parses | {n['rows']:,} | {s['stats']['parsed'] + s['stats']['fallback'] + s['stats']['error']:,} |",
            f"| uses of deprecated relations found | {n['deprecated_uses']:,} | {s['deprecated_uses']:,} |",
            "",
            f"Speedup: **{b['speedup']}x** in wall time (target >= 50x), {b.get('speedup_cpu')}x in CPU time. "
            f"Same answer: {b['same_answer']}. "
            f"Naive at {', '.join(f'{int(k):,}' for k in ext)} rows, extrapolated linearly (an estimate, not run): "
            f"{', '.join(f'{v:,.0f} s' for v in ext.values())}.",
            "",
        ]
    if "c" in r:
        c = r["c"]
        out += [
            "### (c) Reference finding and rewrite on the bigquery-etl corpus",
            "",
            "| | value |",
            "|---|---|",
            f"| .sql files / Jinja (skipped) / unreadable / analysed | {c['files']:,} / {c['jinja_skipped']} / {c['unreadable']} / {c['analysed']:,} |",
            f"| status of analysed files | {', '.join(f'{k} {v}' for k, v in sorted(c['status'].items()))} |",
            f"| worker crashes | {c['worker_crashes']} |",
            f"| reference finding | {c['find_wall_s']} s, **{c['find_files_per_s']} files/s** |",
            f"| rewrite (5 most-referenced relations -> `*_v2`) | {c['rewrite_files']} files in {c['rewrite_wall_s']} s, **{c['rewrite_files_per_s']} files/s** |",
            f"| reference finding alone on those same files | {c.get('find_on_rewrite_files_wall_s')} s |",
            f"| rewrite outcomes | {', '.join(f'{k} {v}' for k, v in sorted(c['rewrite_outcomes'].items()))} |",
            f"| peak memory (process tree) | {c['peak_tree_rss_mb']} MB |",
            "",
        ]
        if c.get("top_errors"):
            out += ["Most common non-parsed reasons: " + "; ".join(f"{e} ({n})" for e, n in c["top_errors"]), ""]
    if "popular" in r:
        out += render_popular(r["popular"])
    return "\n".join(out)


def render_popular(p: dict[str, Any]) -> list[str]:
    d, sm = p["data"], p["summary"]
    names = {"floor": "one-process floor (read, aggregate, parse each candidate once)",
             "old": f"scan before (`{p['commits'].get('old', '')[:7]}`)",
             "new": f"scan now (`{p['commits'].get('new', 'working tree')[:7]}`)"}
    out = [f"### A popular table is retired: {d['rows']:,} rows, {d['deprecations']} deprecations",
           "",
           f"{len(p['runs']['floor'])} runs per contender, back to back (floor, before, now) in each round; "
           "median [min - max]. Scans are `deprecator scan --format json --quiet` end to end (config, scan, "
           "snapshot, the JSON report written to a file); the floor writes nothing.",
           "",
           "| | wall time | x floor | peak memory (process tree) | findings | digest |",
           "|---|---|---|---|---|---|"]
    for k in ("floor", "old", "new"):
        if k not in sm:
            continue
        s = sm[k]
        runs = p["runs"][k]
        digest = ", ".join(sorted({r.get("digest", "") for r in runs})) if k != "floor" else ""
        findings = runs[0].get("findings")
        out.append(f"| {names[k]} | **{s['wall_s_median']} s** [{s['wall_s_min']} - {s['wall_s_max']}] | "
                   f"{s.get('x_floor', 1.0)} | **{s['peak_mb_median']} MB** [{s['peak_mb_min']} - {s['peak_mb_max']}] | "
                   f"{findings:,} | {digest} |")
    loads = [r["loadavg_before"][0] for rs in p["runs"].values() for r in rs if r.get("loadavg_before")]
    out += ["", f"Identical JSON findings and unparsed list (digest): {p['identical_json']}; identical text report "
            f"(all but its timing line): {p['identical_text']}. 1-minute load average before each run: "
            f"{min(loads):.1f} to {max(loads):.1f}." if loads else "", ""]
    if p.get("a_summary"):
        out += ["Same run, the 3%-candidate (a) history (`run_scan` alone):", "",
                "| | wall time | peak memory |", "|---|---|---|"]
        for k, s in p["a_summary"].items():
            out.append(f"| {names[k]} | {s['wall_s_median']} s [{s['wall_s_min']} - {s['wall_s_max']}] | "
                       f"{s['peak_mb_median']} MB [{s['peak_mb_min']} - {s['peak_mb_max']}] |")
        out.append("")
    return out


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "results" / "latest.json"
    print(render(orjson.loads(path.read_bytes())))
