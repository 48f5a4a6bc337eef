#!/usr/bin/env bash
# Counts the instructions of each vs_tokio workload on each side under callgrind (one
# thread at a time, so the counts do not depend on the machine's load). Summarise with
# `summarize.py SWEEP_DIR DIR`.
#
#   runtime/benches/sweep/callgrind.sh target/callgrind
set -euo pipefail
dir=$(realpath -m "${1:-target/callgrind}")
mkdir -p "$dir"
cd "$(dirname "$0")/../.."
bench=$(cargo bench -p asupersync --bench vs_tokio --no-run --message-format=json 2>/dev/null |
  grep -o '"executable":"[^"]*vs_tokio[^"]*"' | tail -1 | cut -d'"' -f4)
count() { # NAME FILTER SIDE
  valgrind --tool=callgrind --callgrind-out-file="$dir/$1.$3" "$bench" --quick \
    --filter "$2" --only "$3" --json "$dir/$1.$3.json" > "$dir/$1.$3.txt" 2>&1
}
for side in asupersync tokio; do
  count base no_such_workload "$side"
  for w in spawn_many_local spawn_many_remote_idle yield_many ping_pong chained_spawn \
    mpsc_contention mpsc_contention_full oneshot_request_reply timer_timeout tcp_echo cancel_tree; do
    count "$w" "$w" "$side"
  done
done
echo "wrote callgrind counts to $dir"
