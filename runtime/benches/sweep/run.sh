#!/usr/bin/env bash
# Runs `vs_tokio --quick` N times on each flavor (2 workers, 1 worker, current-thread),
# interleaved, writing one JSON and one text file (with `uptime` before and after) per
# run into DIR. On a shared machine a single run can mislead; docs/performance.md gives
# the range and median over such a sweep. Summarise with `summarize.py DIR`.
#
#   runtime/benches/sweep/run.sh 13 target/sweep
set -euo pipefail
runs=${1:-13}
dir=$(realpath -m "${2:-target/sweep}")
mkdir -p "$dir"
cd "$(dirname "$0")/../.."
bench=$(cargo bench -p asupersync --bench vs_tokio --no-run --message-format=json 2>/dev/null |
  grep -o '"executable":"[^"]*vs_tokio[^"]*"' | tail -1 | cut -d'"' -f4)
for i in $(seq 1 "$runs"); do
  for flavor in "" "--workers 1" "--current-thread"; do
    name="r$i$(echo "$flavor" | tr -d ' -')"
    { uptime; "$bench" --quick $flavor --json "$dir/$name.json"; uptime; } > "$dir/$name.txt" 2>&1
  done
done
echo "wrote $((runs * 3)) runs to $dir"
