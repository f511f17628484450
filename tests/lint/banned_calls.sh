#!/usr/bin/env bash
# Refuses C library calls that this code base does not use, because each has
# a bounded replacement (STYLE.md, curl's checksrc): sprintf/vsprintf
# (snprintf), strcpy/strcat (memcpy with a known length, or the arena),
# strtok (not re-entrant), atoi/atol (no error report: strtol),
# gets. Comments and string literals are not code and are skipped.
#   tests/lint/banned_calls.sh [SOURCE_DIR]
set -euo pipefail
src=${1:-$(dirname "$0")/../..}
cd "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.c' '*.h')
else
  mapfile -t files < <(find common parsers queue deploy config ingest worker cmd tests bench -name '*.[ch]')
fi
python3 - "${files[@]}" <<'PY'
import re, sys
banned = re.compile(r"\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|atoll|gets)\s*\(")
strip = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
bad = 0
for path in sys.argv[1:]:
    text = open(path, encoding="utf-8", errors="replace").read()
    # Keep line numbers: replace stripped spans by as many newlines.
    code = strip.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    for n, line in enumerate(code.split("\n"), 1):
        m = banned.search(line)
        if m:
            print("%s:%d: banned call %s()" % (path, n, m.group(1)))
            bad += 1
print("banned calls: %d in %d files" % (bad, len(sys.argv) - 1))
sys.exit(1 if bad else 0)
PY
