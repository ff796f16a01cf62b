#!/usr/bin/env bash
# Usage: bench/search_callgrind.sh BUILD_DIR STORE_URL [ROUNDS]
#
# Instructions per search request in `tidemark serve` (issue 6), free of the machine's
# contention: serve runs under valgrind --tool=callgrind; once the index is in memory and the
# first detection pass is over, the counters are zeroed, ROUNDS (default 25) rounds of the
# search_http_bench.sh mix (8 queries, limit=25) go over one keep-alive connection, and the
# counters are dumped; then the same for its 8 suggest prefixes. Prints instructions per
# request of each, and leaves the profiles (callgrind_annotate FILE) in the folder it names.
#
#   bench/search_callgrind.sh build sqlite:/tmp/s20k.db
#
# Measured (20k assets from search_bench, RelWithDebInfo; docs/search.md): search 4.60M ->
# 2.72M instructions per request, suggest 0.88M -> 0.45M, from candidates read as views,
# health remembered in memory, field tokens as views and candidates deduplicated by sorting.
# 2026-12-07: search 2.72M -> 1.32M (lists searched whole, words checked as tokens within
# their runs, SWAR finds and escaping, matches as views, flat facet counts, JSON keys in one
# append); suggest 0.45M unchanged. `bench/search_callgrind.sh build sqlite:/tmp/h5/s20k.db`.
set -euo pipefail

build=${1:?usage: search_callgrind.sh BUILD_DIR STORE_URL [ROUNDS]}
db=${2:?usage: search_callgrind.sh BUILD_DIR STORE_URL [ROUNDS]}
rounds=${3:-25}
out=$(mktemp -d /tmp/tidemark-search-callgrind.XXXXXX)
port=$((30000 + RANDOM % 10000))
valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.%p" "$build/tidemark" serve \
  --db "$db" --listen "127.0.0.1:$port" --log-level info >"$out/serve.log" 2>&1 &
vpid=$!
trap 'kill $vpid 2>/dev/null || true' EXIT
for ((i = 0; ; i++)); do
  kill -0 "$vpid" 2>/dev/null || { echo "serve exited early" >&2; cat "$out/serve.log" >&2; exit 1; }
  grep -q 'search index in memory' "$out/serve.log" &&
    curl -s "127.0.0.1:$port/metrics" | grep -q 'tidemark_detection_runs_total{result="ok"} [1-9]' && break
  ((i < 1200)) || { echo "not ready after 600 s" >&2; exit 1; }
  sleep 0.5
done
curl -s "127.0.0.1:$port/api/v1/search?q=orders&limit=25" >/dev/null  # first-request costs

# Zeroes the counters, requests every URL of "$@" on one connection, dumps as part NAME.
profile() {
  local name=$1
  shift
  callgrind_control -z "$vpid" >/dev/null 2>&1
  curl -s "$@" >/dev/null
  callgrind_control -d "$name" "$vpid" >/dev/null 2>&1
}
searches=() suggests=()
for ((r = 0; r < rounds; r++)); do
  for q in orders id customer%20orders lifetime%20value custmers %22lifetime%20value%22 \
           fct%20orders payments; do
    searches+=("http://127.0.0.1:$port/api/v1/search?q=$q&limit=25")
  done
  for q in o or ord fct fct_or stg_cu dim_cust pay; do
    suggests+=("http://127.0.0.1:$port/api/v1/search/suggest?q=$q")
  done
done
profile search "${searches[@]}"
profile suggest "${suggests[@]}"
kill "$vpid"
wait "$vpid" 2>/dev/null || true
trap - EXIT
part=0
for name in search suggest; do
  part=$((part + 1))
  file="$out/callgrind.$vpid.$part"
  total=$(awk '/^summary:/ {print $2}' "$file")
  echo "$name: $((total / (rounds * 8))) instructions per request ($((rounds * 8)) requests; $file)"
done
