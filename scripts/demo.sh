#!/usr/bin/env bash
# Usage: ./scripts/demo.sh [tidemark demo flags, e.g. --listen 127.0.0.1:8080]
#
# README's first command: installs what is missing, builds build/tidemark (Release) and runs
# `tidemark demo` on the embedded SQLite store (./tidemark-demo.db), which prints the URL to
# open. Ctrl-C stops it; the store stays usable and a second run reuses it.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target tidemark
exec build/tidemark demo "$@"
