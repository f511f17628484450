#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time on its committed seed corpus
# plus every Bitbucket fixture, in a scratch copy (the committed corpus is
# not modified). Any crash, leak or timeout fails the test and leaves the
# reproducer in tests/fuzz/work/.
#   run_fuzzer.sh BINARY CORPUS_DIR SECONDS
set -euo pipefail
bin=$1 corpus=$2 seconds=${3:-20}
name=$(basename "$bin")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/bs-fuzz-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$here/work"
if [ -d "$corpus" ]; then cp -r "$corpus"/. "$work/corpus/" 2>/dev/null || true; fi
if [ -n "${BS_FIXTURES:-}" ] && [ -d "$BS_FIXTURES" ]; then
  find "$BS_FIXTURES" -name '*.json' -size -256k | while read -r f; do
    cp "$f" "$work/corpus/fixture-$(echo "$f" | md5sum | cut -c1-12).json"
  done
else
  echo "run_fuzzer.sh: BS_FIXTURES not set or missing: no fixture seeds" >&2
fi
echo "run_fuzzer.sh: $name seeds: $(find "$corpus" -type f 2>/dev/null | wc -l) committed," \
  "$(find "$work/corpus" -type f -name 'fixture-*' | wc -l) fixtures" >&2
dict=()
if [ -f "$here/json.dict" ]; then dict=(-dict="$here/json.dict"); fi
# Not exec: the EXIT trap must still remove the scratch corpus.
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=65536 -print_final_stats=1 "${dict[@]}" \
  -artifact_prefix="$here/work/$name-" "$work/corpus"
