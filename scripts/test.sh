#!/usr/bin/env bash
# Usage: ./scripts/test.sh [--fast]
#
# THE test command (README and .ci/run call exactly this). In order:
#   1. install missing Debian packages (scripts/install-deps.sh)
#   2. configure and build build/ (RelWithDebInfo, tests on)
#   3. start a throwaway PostgreSQL 15 on a free port (scripts/pg.sh) and export
#      TIDEMARK_TEST_PG_URL for the store contract suite
#   4. ctest in build/
#   5. configure and build build-asan/ (Debug, ASan + UBSan) and ctest there
# PostgreSQL is stopped and its folder deleted on exit, whatever happened.
#
#   --fast  skip the sanitizer pass (step 5), for local iteration
#
# Environment: TIDEMARK_BUILD_DIR / TIDEMARK_ASAN_BUILD_DIR override build/ and build-asan/
# (e.g. to test beside another checkout's build); CI=true makes a missing PostgreSQL fatal.
#
# Exits non-zero when any step fails. Under CI=true PostgreSQL must come up; elsewhere a
# PostgreSQL that does not start is reported and its tests are skipped (TIDEMARK_SKIP_PG=1).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

fast=0
for arg in "$@"; do
  case "$arg" in
    --fast) fast=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
      exit 0
      ;;
    *)
      echo "test.sh: unknown option '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

jobs=$(nproc)
build_dir=${TIDEMARK_BUILD_DIR:-build}
asan_dir=${TIDEMARK_ASAN_BUILD_DIR:-build-asan}
summary=()
pg_dir=

log() { printf '\n== test.sh: %s\n' "$*"; }

# Runs "$@" as a named phase, timing it; a failure prints the summary so far and exits.
phase() {
  local name=$1
  shift
  local start=$SECONDS
  log "$name"
  if "$@"; then
    summary+=("PASS  $name ($((SECONDS - start)) s)")
  else
    local rc=$?
    summary+=("FAIL  $name ($((SECONDS - start)) s, exit $rc)")
    print_summary
    exit "$rc"
  fi
}

print_summary() {
  printf '\n== test.sh summary\n'
  printf '%s\n' "${summary[@]}"
}

cleanup() {
  if [[ -n "$pg_dir" ]]; then
    scripts/pg.sh stop --dir "$pg_dir" --port "$pg_port" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

install_deps() {
  local args=()
  # >>> browser end-to-end tests: once tests/e2e/ exists, install chromium (and node) too.
  if [[ -d tests/e2e || -d tests/browser ]]; then
    args+=(--browser)
  fi
  # <<<
  scripts/install-deps.sh "${args[@]}"
  # playwright-core for tests/browser, pinned by its package-lock.json (no browser download:
  # it drives Debian's chromium).
  if [[ -f tests/browser/package-lock.json && ! -d tests/browser/node_modules/playwright-core ]]; then
    (cd tests/browser && npm ci --no-audit --no-fund)
  fi
}

build() {
  local dir=$1 type=$2
  shift 2
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DTIDEMARK_BUILD_TESTS=ON "$@" &&
    cmake --build "$dir" -j"$jobs"
}

free_port() {
  local port
  for port in $(seq 55432 55531); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

# Starts PostgreSQL in a folder of its own (so that stopping it never touches a developer's
# cluster) and exports its URL. Under CI a failure fails the run; elsewhere PG tests skip.
start_postgres() {
  pg_port=$(free_port) || {
    echo "test.sh: no free port in 55432-55531" >&2
    return 1
  }
  pg_dir=/tmp/tidemark-test-pg-$$
  local url
  if url=$(scripts/pg.sh start --port "$pg_port" --dir "$pg_dir" | tail -n 1); then
    export TIDEMARK_TEST_PG_URL=$url
    unset TIDEMARK_SKIP_PG
    echo "PostgreSQL at $url"
    return 0
  fi
  if [[ "${CI:-}" == "true" ]]; then
    echo "test.sh: PostgreSQL did not start and CI=true: failing" >&2
    return 1
  fi
  echo "test.sh: WARNING: PostgreSQL did not start; its tests are skipped (TIDEMARK_SKIP_PG=1)" >&2
  export TIDEMARK_SKIP_PG=1
  summary+=("WARN  PostgreSQL unavailable: PostgreSQL store tests skipped")
}

run_ctest() {
  ctest --test-dir "$1" --output-on-failure -j2
}

run_ctest_sanitized() {
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    LSAN_OPTIONS="suppressions=$repo/tests/lsan.supp:print_suppressions=0" \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_ctest "$asan_dir"
}

if [[ -z "${TIDEMARK_FIXTURES:-}" && -d "$repo/../shared/fixtures" ]]; then
  export TIDEMARK_FIXTURES="$repo/../shared/fixtures"
fi

total_start=$SECONDS
phase "install dependencies" install_deps
phase "build $build_dir/ (RelWithDebInfo)" build "$build_dir" RelWithDebInfo
phase "start PostgreSQL" start_postgres
phase "ctest $build_dir/ (RelWithDebInfo)" run_ctest "$build_dir"
if ((fast)); then
  summary+=("SKIP  sanitizer pass (--fast)")
else
  phase "build $asan_dir/ (Debug, ASan+UBSan)" build "$asan_dir" Debug -DTIDEMARK_SANITIZE=ON
  phase "ctest $asan_dir/ (Debug, ASan+UBSan)" run_ctest_sanitized
fi
print_summary
echo "test.sh: all passed in $((SECONDS - total_start)) s"
