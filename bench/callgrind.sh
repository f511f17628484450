#!/usr/bin/env bash
# Instructions per request of the ingest path, counted by callgrind: a
# figure that does not move with the machine's noise, to catch regressions.
#
#   bench/callgrind.sh [-n N] [--warm W] [--payload bench/push5.json] [--no-build] [--redis]
#                      [--variant shipped|lean|noevents]
#
# `bitsleuth serve` (build-bench, RelWithDebInfo, the shipped defaults of
# examples/bitsleuth.yaml: content dedupe and raw body on) runs twice under
# valgrind --tool=callgrind against a redis-server without AOF: once
# answering W signed unique pushes, once W + N. The difference of the two
# runs' total instruction counts (Ir), divided by N, is the cost of one
# request from accept to the 202 (evhttp, HMAC, JSON, issue keys, the Redis
# command and its reply, the log line); start-up, shutdown and the warm-up
# requests cancel out. Prints one line on stdout:
#   ingest_ir_per_request=NNNNN requests=N payload=FILE
# With --redis, redis-server (AOF on, appendfsync always, as shipped) runs
# under callgrind instead and serve runs plainly: the line is then
#   redis_ir_per_request=NNNNN requests=N payload=FILE
# (Redis' user-space work per delivery: the enqueue script, the AOF feed).
# --variant picks bench/mkconfig.py's config (default shipped; noevents:
# queue.events false); the line then ends with variant=NAME.
# Details go to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
n=200 warm=20 payload=bench/push5.json build=1 who=serve variant=shipped
while [ $# -gt 0 ]; do
  case $1 in
    -n) n=$2; shift ;;
    --warm) warm=$2; shift ;;
    --payload) payload=$2; shift ;;
    --no-build) build=0 ;;
    --redis) who=redis ;;
    --variant) variant=$2; shift ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "callgrind.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
work=bench/.work
mkdir -p "$work"
if [ "$build" = 1 ]; then
  command -v valgrind >/dev/null || apt-get install -y -qq -o DPkg::Lock::Timeout=600 valgrind >/dev/null
  cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build-bench -j"$(nproc)" --target bitsleuth >/dev/null
fi
bs=$PWD/build-bench/bitsleuth

# shellcheck source=bench/procs.sh
. bench/procs.sh

rport=$(port) sport=$(port)
# start_redis DIR [PREFIX...]: redis-server on rport in DIR (under PREFIX,
# e.g. valgrind), AOF as shipped with --redis, none otherwise; sets rpid.
start_redis() {
  local dir=$1 aof=(--appendonly no)
  shift
  [ "$who" = redis ] && aof=(--appendonly yes --appendfsync always)
  mkdir -p "$dir"
  "$@" redis-server --port "$rport" --bind 127.0.0.1 --dir "$dir" --save "" "${aof[@]}" \
    --daemonize no --logfile "$dir/redis.log" 2>>"$dir/valgrind.log" & rpid=$!; pids+=("$rpid")
  for _ in $(seq 600); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.05; done
}
[ "$who" = serve ] && start_redis "$tmp/redis"
export BENCH_SECRET=bench-secret BENCH_TOKEN=bench-token
python3 bench/mkconfig.py "$tmp/cg.yaml" "$sport" bcg "$variant" "$rport"

# one_run K: serve (or, with --redis, redis-server) under callgrind, K
# signed unique requests, stop; prints Ir.
one_run() {
  local k=$1 out=$tmp/callgrind.out.$1 vpid cg
  cg=(valgrind --tool=callgrind --callgrind-out-file="$out")
  if [ "$who" = redis ]; then
    start_redis "$tmp/redis.$k" "${cg[@]}"
    cg=()
  fi
  redis-cli -p "$rport" flushall >/dev/null
  : >"$tmp/serve.$k.log"
  "${cg[@]}" "$bs" serve -c "$tmp/cg.yaml" \
    2>>"$tmp/serve.$k.log" & vpid=$!; pids+=("$vpid")
  # Ready when it says so (no probe requests: they would be counted).
  for _ in $(seq 1200); do
    grep -q 'redis is up' "$tmp/serve.$k.log" && grep -q 'listening on' "$tmp/serve.$k.log" && break
    kill -0 "$vpid" 2>/dev/null || { cat "$tmp/serve.$k.log" >&2; return 1; }
    sleep 0.05
  done
  python3 - "$sport" "$k" "$payload" <<'PY' >&2
import hashlib, hmac, http.client, sys, time
port, k, payload = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
template = open(payload, "rb").read()
hole = b"0" * 40
assert hole in template
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
salt = int(time.time())
ok = 0
for i in range(k):
    h = b"%08x%08x%024x" % (salt, k, i)
    body = template.replace(hole, h)
    sig = hmac.new(b"bench-secret", body, hashlib.sha256).hexdigest()
    conn.request("POST", "/hooks/bitbucket", body, {
        "Content-Type": "application/json", "X-Event-Key": "repo:push",
        "X-Request-UUID": "{%s}" % h.decode(), "X-Hub-Signature": "sha256=" + sig})
    r = conn.getresponse()
    r.read()
    ok += r.status == 202
conn.close()
print("callgrind.sh: %d requests, %d answered 202" % (k, ok))
if ok != k:
    sys.exit(1)
PY
  kill -TERM "$vpid"
  wait "$vpid" || true
  if [ "$who" = redis ]; then
    kill -TERM "$rpid"
    wait "$rpid" || true
  fi
  awk '/^(summary|totals):/{print $2; exit}' "$out"
}

ir1=$(one_run "$warm")
ir2=$(one_run $((warm + n)))
echo "callgrind.sh: Ir $ir1 for $warm requests, $ir2 for $((warm + n))" >&2
name=ingest
[ "$who" = redis ] && name=redis
suffix=""
[ "$variant" != shipped ] && suffix=" variant=$variant"
echo "${name}_ir_per_request=$(((ir2 - ir1) / n)) requests=$n payload=$payload$suffix"
