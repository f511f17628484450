#!/usr/bin/env bash
# Longer fuzzing than the test command gives: builds the libFuzzer targets
# (clang, ASan+UBSan, coverage-instrumented libraries) and runs each one for
# SECONDS (default 300) on its seed corpus plus every fixture. A crash,
# leak or timeout stops with the reproducer in tests/fuzz/work/; add it to
# the unit tests of that parser as a regression case.
#   bench/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
shift || true
scripts/deps.sh test
build="build-fuzz"
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBS_SANITIZE=address,undefined -DBS_FUZZ=ON >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"
export BS_FIXTURES=${BS_FIXTURES:-$PWD/tests/fixtures/bitbucket}
for t in "${targets[@]}"; do
  echo "== $t for ${seconds}s"
  tests/fuzz/run_fuzzer.sh "$build/$t" "tests/fuzz/corpus/$t" "$seconds" 2>&1 | tail -n 3
done
