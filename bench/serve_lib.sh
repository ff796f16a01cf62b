# Sourced by the benchmarks that run `tidemark serve` (serve_bench.sh, search_http_bench.sh).
#
# serve_lib_init NAME BUILD_DIR: checks that BUILD_DIR/tidemark and wrk are there, then sets
#   bin (the binary), work (a scratch directory, removed on exit), port (a random free-ish
#   one) and pid (empty; set it to the server's, which is killed on exit too), and prints the
#   machine and the build.
# serve_lib_status PATH: sets status_line to the status line of GET PATH on 127.0.0.1:$port
#   (raw HTTP over bash's /dev/tcp: polling forks nothing); fails when nothing listens.
# serve_lib_get PATH: the whole response (status line, headers and body); fails likewise.

serve_lib_init() {
  local name=$1 build=$2
  bin=$build/tidemark
  [[ -x $bin ]] || { echo "$name: $bin not found" >&2; exit 1; }
  command -v wrk >/dev/null || { echo "$name: wrk missing (scripts/install-deps.sh --bench)" >&2; exit 1; }
  work=$(mktemp -d "/tmp/tidemark-${name%.sh}.XXXXXX")
  pid=
  trap serve_lib_cleanup EXIT
  port=$((20000 + RANDOM % 20000))
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "build:   $(grep -m1 CMAKE_BUILD_TYPE "$build/CMakeCache.txt" | cut -d= -f2), $("$bin" version | head -1)"
}

serve_lib_cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}

serve_lib_request() {
  # The braces route bash's own "connection refused" message to /dev/null too.
  { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
  printf 'GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$1" >&3
}

serve_lib_status() {
  status_line=
  serve_lib_request "$1" || return 1
  IFS= read -r -t 1 status_line <&3 || status_line=
  exec 3<&- 3>&-
}

serve_lib_get() {
  serve_lib_request "$1" || return 1
  timeout 5 cat <&3 || true
  exec 3<&- 3>&-
}
