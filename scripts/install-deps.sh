#!/usr/bin/env bash
# Usage: scripts/install-deps.sh [--browser] [--bench]
#
# Installs the Debian 12 packages Tidemark needs to build and test, and nothing else.
# Idempotent: packages already installed are left alone, and when none is missing apt is not
# touched at all (no `apt-get update`), so a warm machine pays ~0.1 s.
#
#   --browser  also chromium, and nodejs + npm when `node` is not on PATH (browser e2e tests)
#   --bench    also wrk and hyperfine (bench/)
#
# Runs as root, or through sudo when it is available.
#
# PostgreSQL contrib extensions (pg_trgm) ship inside postgresql-15 on Debian 12
# (postgresql-15 provides the virtual package postgresql-contrib-15), so none is listed.
set -euo pipefail

packages=(
  g++ make cmake pkgconf ca-certificates git
  libpqxx-dev libboost-dev libssl-dev nlohmann-json3-dev libsimdjson-dev libsqlite3-dev
  libeigen3-dev libspdlog-dev libgtest-dev libbenchmark-dev libcli11-dev libyaml-cpp-dev
  postgresql-common postgresql-15
)

for arg in "$@"; do
  case "$arg" in
    --browser)
      packages+=(chromium)
      if ! command -v node >/dev/null 2>&1; then
        packages+=(nodejs npm)
      fi
      ;;
    --bench) packages+=(wrk hyperfine) ;;
    -h | --help)
      sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
      exit 0
      ;;
    *)
      echo "install-deps.sh: unknown option '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

is_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

missing=()
for pkg in "${packages[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps.sh: all ${#packages[@]} packages present"
  exit 0
fi

as_root=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "install-deps.sh: missing ${missing[*]}; run as root (no sudo found)" >&2
    exit 1
  fi
fi

echo "install-deps.sh: installing ${#missing[@]} missing package(s): ${missing[*]}"
"${as_root[@]}" apt-get update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"
echo "install-deps.sh: done"
