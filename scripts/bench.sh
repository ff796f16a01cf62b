#!/usr/bin/env bash
# Usage: ./scripts/bench.sh [--quick]
#
# Builds build-bench/ (Release, -DTIDEMARK_BUILD_BENCH=ON), starts a throwaway PostgreSQL for
# the store benchmarks, and runs every benchmark with its target printed beside it.
#   --quick  one repetition each instead of three
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
reps=3
[[ ${1:-} == --quick ]] && reps=1

scripts/install-deps.sh --bench
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DTIDEMARK_BUILD_BENCH=ON -DTIDEMARK_BUILD_TESTS=OFF >/dev/null
cmake --build build-bench -j"$(nproc)"

pg_dir=/tmp/tidemark-bench-pg-$$
pg_port=55600
trap 'scripts/pg.sh stop --dir "$pg_dir" --port "$pg_port" >/dev/null 2>&1 || true' EXIT
TIDEMARK_BENCH_PG_URL=$(scripts/pg.sh start --port "$pg_port" --dir "$pg_dir" | tail -n 1)
export TIDEMARK_BENCH_PG_URL

echo "== store: bulk insert of 1M metric points (SQLite vs raw SQLite reference; PostgreSQL)"
build-bench/bench/store_bench --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true

echo "== serve: readiness, idle memory, /health ceiling"
bench/serve_bench.sh build-bench --runs 5
