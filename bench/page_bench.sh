#!/usr/bin/env bash
# Usage: bench/page_bench.sh BUILD_DIR [--models N] [--runs N] [--keep DIR]
#
# The catalog page's speed on a generated catalog (issue 9): generates a dbt project of N models
# (default 100000; bench/dbt_manifest_gen, sources and exposures come on top), ingests it into a
# fresh SQLite file, serves it, and runs bench/page_bench.js (first render and keystroke-to-
# results in headless Chromium). Prints the catalog size and the ingest time too. With --keep DIR
# the store is kept in DIR and reused by the next run with the same DIR (no second ingest).
set -euo pipefail

build=${1:?usage: page_bench.sh BUILD_DIR [--models N] [--runs N]}
shift
models=100000
runs=7
keep=
while (($#)); do
  case "$1" in
    --models) models=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    *) echo "page_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
here=$(cd "$(dirname "$0")" && pwd)
bin=$build/tidemark
gen=$build/bench/dbt_manifest_gen
[[ -x $bin && -x $gen ]] || { echo "page_bench.sh: build tidemark and dbt_manifest_gen first" >&2; exit 1; }
[[ -d $here/../tests/browser/node_modules/playwright-core ]] ||
  { echo "page_bench.sh: run npm ci in tests/browser" >&2; exit 1; }

work=$(mktemp -d /tmp/tidemark-page-bench.XXXXXX)
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
db=$work/page.db
[[ -n $keep ]] && { mkdir -p "$keep"; db=$keep/page.db; }
if [[ ! -f $db ]]; then
  "$gen" --models "$models" --out "$work/dbt" >/dev/null
  start=$(date +%s%N)
  "$bin" ingest dbt "$work/dbt" --db "sqlite:$db" --log-level warn >/dev/null
  echo "ingest: $(( ($(date +%s%N) - start) / 1000000 )) ms"
fi
port=$((20000 + RANDOM % 20000))
"$bin" serve --db "sqlite:$db" --listen "127.0.0.1:$port" --log-level warn &
pid=$!
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.1
done
# A started server first runs detection over the whole catalog (about 20 s at 100k models),
# at a lower CPU priority but on both cores; the page is measured once that run is over.
started=$(date +%s%N)
for _ in $(seq 1 3600); do
  curl -sf "http://127.0.0.1:$port/metrics" | grep -q '^tidemark_detection_runs_total{result="ok"} [1-9]' && break
  sleep 0.5
done
echo "first detection run over after $(( ($(date +%s%N) - started) / 1000000 )) ms"
echo "catalog: $models models generated, with their sources, tests and exposures"
node "$here/page_bench.js" "http://127.0.0.1:$port" --runs "$runs"
