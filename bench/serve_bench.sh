#!/usr/bin/env bash
# Usage: bench/serve_bench.sh BUILD_DIR [--runs N] [--duration S]
#
# End-to-end figures for `tidemark serve` (issue 2), each printed with the machine and build:
#   ready_ms   time from exec to the first 200 from GET /health, on a brand-new SQLite file
#              (median of N runs; target < 200 ms)
#   idle_rss   resident memory 1 s after ready, before any load (target < 30 MB)
#   health     wrk -t2 -c64 on GET /health with keep-alive: requests/s and p99 latency. This is
#              the ceiling later API work is compared against.
set -euo pipefail

build=${1:?usage: serve_bench.sh BUILD_DIR [--runs N] [--duration S]}
shift
runs=5
duration=10
while (($#)); do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    *) echo "serve_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

. "$(dirname "$0")/serve_lib.sh"
serve_lib_init serve_bench.sh "$build"

# 0 when GET /health answers 200.
health_ok() {
  serve_lib_status /health || return 1
  [[ $status_line == *" 200 "* ]]
}

times=()
for ((i = 0; i < runs; i++)); do
  rm -f "$work"/new.db*
  start=$(date +%s%N)
  "$bin" serve --db "sqlite:$work/new.db" --listen "127.0.0.1:$port" --log-level warn &
  pid=$!
  until health_ok; do
    kill -0 "$pid" 2>/dev/null || { echo "serve exited early" >&2; exit 1; }
    sleep 0.002
  done
  end=$(date +%s%N)
  times+=($(((end - start) / 1000000)))
  if ((i == runs - 1)); then
    sleep 1
    rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    echo "idle_rss: $((rss_kb / 1024)) MB ($rss_kb kB)   target < 30 MB"
    wrk -t2 -c64 -d"${duration}s" --latency "http://127.0.0.1:$port/health" >"$work/wrk.txt"
    rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
    p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.txt")
    echo "health:   ${rps} req/s, p50 ${p50}, p99 ${p99}   (wrk -t2 -c64 -d${duration}s, keep-alive)"
  fi
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "ready_ms: median ${sorted[$((runs / 2))]} ms over $runs runs (all: ${times[*]})   target < 200 ms"
