"""Run the side-by-side benchmarks and report ratios.

    python3 -m bench.run [--quick] [--reps N] [--systems a,b] [WORKLOAD...]

Builds what is missing (bench programs, Debian's kernel, the initramfs
images), runs every selected workload on every system ``reps`` times, prints
a table (median [min..max] per system, and the ratios moss-py / Linux-in-QEMU
(nokaslr) and moss-py / qemu-aarch64), and writes
bench/results/<timestamp>.json and .png plus latest.json / latest.png.
See bench/README.md for how to read it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench import build
from bench.peers import Peer, Result, all_peers
from bench.workloads import BY_NAME, WORKLOADS, Workload

RESULTS = build.REPO / "bench" / "results"
RATIOS = (("moss", "linux_nokaslr", "moss/linux"), ("moss", "qemu_user", "moss/qemu-user"),
          # the speed-up of 2 CPUs over 1 (parallel_cpu), when the smp2 systems ran
          ("moss", "moss_smp2", "moss 2cpu gain"), ("linux_nokaslr", "linux_nokaslr_smp2", "Linux 2cpu gain"),
          # this checkout against an older one (--moss-base), when it ran
          ("moss", "moss_base", "moss/base"))
SHORT = {"linux_nokaslr": "Linux nokaslr", "linux_kaslr": "Linux default",
         "qemu_user": "qemu-aarch64", "moss": "moss-py", "moss_smp2": "moss-py 2 CPUs",
         "linux_nokaslr_smp2": "Linux 2 CPUs", "moss_base": "moss-py base"}
SMP_SYSTEMS = ("moss_smp2", "linux_nokaslr_smp2")      # only when --systems names them


def summarize(results: list[Result]) -> dict:
    """Median and spread of the successful samples, or the reason none came."""
    vals = [r.ns_per_op for r in results if r.ok]
    if not vals:
        reason = next((r.reason for r in results if r.reason), "not run")
        return {"ok": False, "reason": reason, "samples": []}
    s = {"ok": True, "median": statistics.median(vals), "min": min(vals), "max": max(vals),
         "samples": vals, "n": len(vals)}
    if len(vals) >= 4:
        q = statistics.quantiles(vals, n=4)
        s["q1"], s["q3"] = q[0], q[2]
    failed = [r.reason for r in results if not r.ok]
    if failed:
        s["failed_reps"] = failed
    extra = [r.extra for r in results if r.ok and r.extra]
    if extra:
        s["extra"] = extra[-1]
        spread = per_call_spread(extra)
        if spread:
            s["spread"] = spread
    return s


SPREAD_KEYS = ("p50_ns", "p99_ns", "max_ns")


def per_call_spread(extras: list[dict]) -> dict:
    """The median over the repetitions of each per-call figure a program reported (its single
    calls timed one by one: bench/programs/latency.h; sleep_accuracy's overshoots)."""
    out = {}
    for key in SPREAD_KEYS:
        vals = [float(e[key]) for e in extras if key in e]
        if vals:
            out[key] = statistics.median(vals)
    return out


def fmt_ns(ns: float | None) -> str:
    if ns is None:
        return "-"
    for unit, div in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= div:
            return f"{ns / div:.3g}{unit}"
    return f"{ns:.3g}ns"


def fmt_cell(s: dict) -> str:
    if not s or not s.get("ok"):
        return "n/r"
    if s["n"] == 1:
        return fmt_ns(s["median"])
    return f"{fmt_ns(s['median'])} [{fmt_ns(s['min'])}..{fmt_ns(s['max'])}]"


def ratios(row: dict) -> dict:
    out = {}
    for a, b, name in RATIOS:
        sa, sb = row.get(a), row.get(b)
        if sa and sb and sa.get("ok") and sb.get("ok") and sb["median"] > 0:
            out[name] = sa["median"] / sb["median"]
        else:
            out[name] = None
    return out


def render_table(report: dict) -> str:
    systems = [p["key"] for p in report["systems"]]
    head = ["workload", "op", *[SHORT.get(k, k) for k in systems], *[r[2] for r in RATIOS]]
    rows = []
    notes = []
    for name, row in report["results"].items():
        w = BY_NAME[name]
        cells = [name, w.op]
        for k in systems:
            s = row["systems"].get(k, {})
            cells.append(fmt_cell(s))
            if s and not s.get("ok"):
                notes.append(f"  {name} / {SHORT.get(k, k)}: {s.get('reason')}")
        for r in RATIOS:
            v = row["ratios"].get(r[2])
            cells.append("-" if v is None else f"{v:.3g}x")
        rows.append(cells)
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(wd) for c, wd in zip(cells, widths)).rstrip()
    out = [line(head), line(["-" * wd for wd in widths]), *map(line, rows)]
    out.append("")
    out.append("cells: median [min..max] of the repetitions, time per op; n/r = not run:")
    out.extend(notes or ["  (everything ran)"])
    out.extend(render_spread(report, systems))
    return "\n".join(out)


def render_spread(report: dict, systems: list[str]) -> list[str]:
    """Per-call p50 / p99 / max (median of the repetitions) for the workloads that time single
    calls: the issue's p99 targets are read here."""
    rows = []
    for name, row in report["results"].items():
        cells = []
        for k in systems:
            sp = row["systems"].get(k, {}).get("spread")
            if sp:
                figures = " / ".join(fmt_ns(sp.get(key)) for key in SPREAD_KEYS)
                cells.append(f"{SHORT.get(k, k)} {figures}")
        if cells:
            rows.append(f"  {name:15} " + "   ".join(cells))
    if not rows:
        return []
    return ["", "per call, p50 / p99 / max (median of the repetitions):", *rows]


def write_chart(report: dict, path: Path) -> str | None:
    """Grouped bars, log scale; returns an error string if no chart."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib not installed (pip install matplotlib): no chart"
    systems = [p["key"] for p in report["systems"]]
    names = list(report["results"])
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(names) + 3), 5.5))
    width = 0.8 / max(1, len(systems))
    for i, key in enumerate(systems):
        xs, ys, lo, hi = [], [], [], []
        for j, name in enumerate(names):
            s = report["results"][name]["systems"].get(key, {})
            x = j + (i - (len(systems) - 1) / 2) * width
            if s.get("ok") and s["median"] > 0:
                xs.append(x)
                ys.append(s["median"])
                lo.append(s["median"] - s["min"])
                hi.append(s["max"] - s["median"])
            else:
                ax.text(x, 1.2, "n/r", rotation=90, ha="center", va="bottom", fontsize=7,
                        color="gray")
        ax.bar(xs, ys, width, label=SHORT.get(key, key), yerr=[lo, hi], capsize=2)
        if key == "moss":                   # moss-py / Linux nokaslr above moss's bars
            for x, y, name in zip(xs, ys, [n for n in names
                                           if report["results"][n]["systems"].get(key, {}).get("ok")
                                           and report["results"][n]["systems"][key]["median"] > 0]):
                r = report["results"][name]["ratios"].get("moss/linux")
                if r is not None:
                    ax.text(x, y * 1.6, f"{r:.2g}x", ha="center", va="bottom", fontsize=7,
                            rotation=90)
    ax.set_yscale("log")
    ax.set_ylim(bottom=1)
    ax.set_ylabel("time per op (ns, log scale)")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([f"{n}\n({BY_NAME[n].op})" for n in names], rotation=35, ha="right",
                       fontsize=8)
    mode = "quick" if report["quick"] else "full"
    ax.set_title(f"moss-py side-by-side benchmarks ({mode}, {report['timestamp']}); "
                 "lower is better")
    ax.legend(fontsize=8)
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return None


def run_bench(names: list[str] | None = None, *, quick: bool = False, reps: int | None = None,
              systems: list[str] | None = None, peers: list[Peer] | None = None,
              cell_budget_s: float | None = None, log=print, base: Path | None = None) -> dict:
    """Run the selected workloads on the selected systems; return the report.

    Systems are interleaved (workload -> repetition -> system) so that a
    change of load on this shared machine hits every system alike, which
    keeps the ratios honest.  Every VM is booted once up front and reused.
    A cell (workload x system) stops repeating once it has a sample and has
    used ``cell_budget_s`` seconds (10 s quick, 120 s full)."""
    workloads = [BY_NAME[n] for n in names] if names else list(WORKLOADS)
    reps = reps or (3 if quick else 5)
    budget = cell_budget_s if cell_budget_s is not None else (10.0 if quick else 120.0)
    t_start = time.monotonic()
    build.build_programs()
    build.build_moss_image()
    peers = peers or all_peers(quick, smp=any(s in SMP_SYSTEMS for s in systems or ()), base=base)
    if systems and base is not None and "moss_base" not in systems:
        systems = [*systems, "moss_base"]
    if systems:
        unknown = set(systems) - {p.key for p in peers}
        if unknown:
            raise ValueError(f"unknown system(s) {sorted(unknown)}")
        peers = [p for p in peers if p.key in systems]
    results: dict[str, dict] = {w.name: {"systems": {}} for w in workloads}
    described = []
    try:
        for peer in peers:
            t0 = time.monotonic()
            try:
                peer.start()
            except Exception as e:           # reported per workload by run()
                log(f"[bench] {peer.key}: start failed: {e}")
            described.append(peer.describe())
            log(f"[bench] {peer.key}: ready in {time.monotonic() - t0:.1f} s")
        for w in workloads:
            n = 1 if (w.kind == "boot" and quick) else reps
            got: dict[str, list[Result]] = {p.key: [] for p in peers}
            spent = {p.key: 0.0 for p in peers}
            for _ in range(n):
                for peer in peers:
                    mine = got[peer.key]
                    if mine and (not mine[-1].ok or spent[peer.key] >= budget):
                        continue
                    t0 = time.monotonic()
                    mine.append(peer.run(w, w.args(quick)))
                    spent[peer.key] += time.monotonic() - t0
            for peer in peers:
                cell = results[w.name]["systems"][peer.key] = summarize(got[peer.key])
                cell["seconds"] = round(spent[peer.key], 2)
                last = got[peer.key][-1]
                log(f"  {w.name:15} {peer.key:14} {fmt_cell(cell)}"
                    + ("" if last.ok else f"  ({last.reason})"))
    finally:
        for peer in peers:
            peer.stop()
    for row in results.values():
        row["ratios"] = ratios(row["systems"])
    return {
        "timestamp": time.strftime("%Y%m%d-%H%M%S"),
        "quick": quick,
        "reps": reps,
        "elapsed_s": round(time.monotonic() - t_start, 2),
        "host": {"machine": platform.machine(), "cpus": os.cpu_count(),
                 "loadavg": os.getloadavg(), "python": platform.python_version()},
        "systems": described,
        "workloads": {w.name: {"op": w.op, "doc": w.doc, "args": list(w.args(quick))}
                      for w in workloads},
        "results": results,
    }


@contextlib.contextmanager
def cpu_hog():
    """One extra CPU-bound process for as long as the block runs (`--contended`): on this
    2-core machine the guest's vCPU and moss-py's host then share their cores with it."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield hog
    finally:
        hog.kill()
        hog.wait()


def save(report: dict, outdir: Path = RESULTS) -> tuple[Path, Path | None]:
    outdir.mkdir(parents=True, exist_ok=True)
    stem = outdir / report["timestamp"]
    js = stem.with_suffix(".json")
    js.write_text(json.dumps(report, indent=1) + "\n")
    shutil.copyfile(js, outdir / "latest.json")
    png = stem.with_suffix(".png")
    err = write_chart(report, png)
    if err:
        print(f"[bench] {err}", file=sys.stderr)
        return js, None
    shutil.copyfile(png, outdir / "latest.png")
    return js, png


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m bench.run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workloads", nargs="*", metavar="WORKLOAD",
                    help="workloads to run (default: all): " + ", ".join(BY_NAME))
    ap.add_argument("--quick", action="store_true",
                    help="small iteration counts, 3 repetitions, one boot per VM")
    ap.add_argument("--reps", type=int, help="repetitions (default 3 quick, 5 full)")
    ap.add_argument("--systems", help="comma-separated subset of: "
                    "linux_nokaslr,linux_kaslr,qemu_user,moss, and moss_smp2,linux_nokaslr_smp2 "
                    "(2 vCPUs; parallel_cpu's speed-up)")
    ap.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    ap.add_argument("--no-save", action="store_true", help="print only")
    ap.add_argument("--moss-base", type=Path, metavar="DIR",
                    help="also run moss-py from the checkout DIR (system moss_base, interleaved with this "
                         "one; a worktree of an older revision with its guest stub built): column moss/base")
    ap.add_argument("--contended", action="store_true",
                    help="then run everything again beside one extra CPU-bound process and report both")
    a = ap.parse_args(argv)
    unknown = [n for n in a.workloads if n not in BY_NAME]
    if unknown:
        ap.error(f"unknown workload(s) {unknown}; known: {', '.join(BY_NAME)}")
    systems = a.systems.split(",") if a.systems else None
    known = {"linux_nokaslr", "linux_kaslr", "qemu_user", "moss", "moss_base", *SMP_SYSTEMS}
    if systems and not set(systems) <= known:
        ap.error(f"unknown system(s) {sorted(set(systems) - known)}; known: {sorted(known)}")
    report = run_bench(a.workloads or None, quick=a.quick, reps=a.reps, systems=systems,
                       log=lambda m: print(m, file=sys.stderr, flush=True), base=a.moss_base)
    print()
    print(render_table(report))
    print(f"\ntotal {report['elapsed_s']:.1f} s")
    if a.contended:
        with cpu_hog():
            contended = run_bench(a.workloads or None, quick=a.quick, reps=a.reps, systems=systems,
                                  log=lambda m: print(m, file=sys.stderr, flush=True), base=a.moss_base)
        report["contended"] = contended
        print("\nwith one extra CPU-bound process (--contended):\n")
        print(render_table(contended))
        print(f"\ntotal {contended['elapsed_s']:.1f} s")
    if not a.no_save:
        js, png = save(report, a.out)
        print(f"wrote {js}" + (f" and {png}" if png else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
