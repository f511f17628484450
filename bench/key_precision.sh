#!/usr/bin/env bash
# Prints the issue-key precision tables of README "Issue keys: precision":
# the jira pattern over tests/corpora/commons-io-commits.jsonl in four
# configurations (bench/key_precision.c says which and what each column is).
# Builds build/key_precision first (cmake -S . -B build when build/ is not
# configured yet). Extra arguments go to the tool (--dump, --tune N).
#   bench/key_precision.sh [--dump] [--tune N]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build >/dev/null
fi
cmake --build build --target key_precision >/dev/null
exec build/key_precision "$@" tests/corpora/commons-io-commits.jsonl \
  tests/corpora/commons-io-keys.tsv
