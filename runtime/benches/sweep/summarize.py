"""Prints the tables of docs/performance.md from a sweep (run.sh) and, if present, the
callgrind counts (callgrind.sh):

    python3 runtime/benches/sweep/summarize.py target/sweep target/callgrind

Ratios are Tokio's time over ours (above 1: we are faster); each cell is the median over
the runs, then the range. Instruction counts are per workload run: the total minus a run
that only builds the runtimes, divided by the runs (warm-up plus rounds)."""
import json, glob, re, sys, subprocess, statistics, os

runs_dir, cg_dir = sys.argv[1], sys.argv[2]
FLAVORS = [("2 workers", lambda f: re.fullmatch(r"r\d+\.json", os.path.basename(f))),
           ("1 worker", lambda f: "workers1" in f),
           ("current-thread", lambda f: "currentthread" in f)]
order = ["spawn_many_local", "spawn_many_remote_idle", "yield_many", "ping_pong", "chained_spawn",
         "mpsc_contention", "mpsc_contention_full", "oneshot_request_reply", "timer_timeout",
         "tcp_echo", "cancel_tree"]

def load(f):
    txt = open(f[:-5] + ".txt").read()
    loads = [float(x) for x in re.findall(r"load average: ([\d.]+)", txt)]
    return json.load(open(f)), loads

data = {}
for name, pick in FLAVORS:
    data[name] = [load(f) for f in sorted(glob.glob(f"{runs_dir}/r*.json")) if pick(f)]

all_loads = [l for runs in data.values() for _, ls in runs for l in ls]
print(f"<!-- runs: {sum(len(v) for v in data.values())}, load {min(all_loads):.2f}-{max(all_loads):.2f} -->\n")
print("| workload | " + " | ".join(f"{n} ({len(data[n])} runs)" for n, _ in FLAVORS) + " |")
print("|---|" + "---|" * len(FLAVORS))
for w in order:
    cells = []
    for n, _ in FLAVORS:
        rs = sorted(x["ratio"] for d, _ in data[n] for x in d["workloads"] if x["name"] == w)
        below = sum(r < 1 for r in rs)
        med = statistics.median(rs)
        cell = f"{med:.2f} ({rs[0]:.2f}–{rs[-1]:.2f})"
        if med < 1:
            cell = f"**{cell}**"
        cells.append(cell + (f", {below} below 1" if below else ""))
    print(f"| {w} | " + " | ".join(cells) + " |")

print("\n### Memory per idle task\n")
print("| flavor | Tokio | asupersync |\n|---|---:|---:|")
for n, _ in FLAVORS:
    t = [d["idle_task_memory"]["tokio_bytes_per_task"] for d, _ in data[n]]
    a = [d["idle_task_memory"]["asupersync_bytes_per_task"] for d, _ in data[n]]
    print(f"| {n} | {min(t)}–{max(t)} B | {min(a)}–{max(a)} B |")

print("\n### tcp_echo latency (median over the runs of each run's p50 and p99)\n")
print("| flavor | Tokio p50 | Tokio p99 | asupersync p50 | asupersync p99 |\n|---|---:|---:|---:|---:|")
for n, _ in FLAVORS:
    lat = [d["tcp_echo_latency"] for d, _ in data[n] if d.get("tcp_echo_latency")]
    cells = [statistics.median(l[side][q] for l in lat) / 1000
             for side in ("tokio", "asupersync") for q in ("p50_ns", "p99_ns")]
    print(f"| {n} | " + " | ".join(f"{c:.0f} µs" for c in cells) + " |")

def cg_total(f):
    out = subprocess.run(["callgrind_annotate", f], capture_output=True, text=True).stdout
    return int(re.search(r"([\d,]+) \(100.0%\)\s+PROGRAM TOTALS", out).group(1).replace(",", ""))

if os.path.exists(f"{cg_dir}/base.asupersync"):
    base = {s: cg_total(f"{cg_dir}/base.{s}") for s in ("asupersync", "tokio")}
    raw = {}
    for w in order:
        for s in ("asupersync", "tokio"):
            d = json.load(open(f"{cg_dir}/{w}.{s}.json"))
            runs = {x["name"]: x["rounds"] + 1 for x in d["workloads"]}
            raw[w, s] = (cg_total(f"{cg_dir}/{w}.{s}") - base[s], runs)
    print("\n### Instructions per workload run (callgrind, 2 workers serialized)\n")
    print(f"<!-- build-only baseline: {base['asupersync']/1e6:.2f} M -->")
    print("| workload | Tokio | asupersync | ratio |\n|---|---:|---:|---:|")
    for w in order:
        per = {}
        for s in ("asupersync", "tokio"):
            t, runs = raw[w, s]
            if w == "mpsc_contention":  # the filter also matches mpsc_contention_full
                t -= raw["mpsc_contention_full", s][0]
            per[s] = t / runs[w]
        print(f"| {w} | {per['tokio']/1e6:.2f} M | {per['asupersync']/1e6:.2f} M | {per['tokio']/per['asupersync']:.2f} |")
