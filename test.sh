#!/usr/bin/env bash
# The test command: install what is missing, build everything with clang
# under ASan+UBSan (warnings are errors), and run every test through ctest:
# unit tests per module, integration tests through the real binary against
# a real redis-server and a loopback Sleuth stand-in, and each libFuzzer
# target for a bounded time. ctest's summary line is the verdict.
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh test
build=${BS_TEST_BUILD:-build-test}
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
  -DBS_SANITIZE=address,undefined -DBS_WERROR=ON -DBS_FUZZ=ON \
  -DBS_FUZZ_SECONDS="${BS_FUZZ_SECONDS:-15}" >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"
