#!/usr/bin/env bash
# Ingest throughput: bitsleuth `serve` against the Fastify + ioredis peer
# (bench/peer-node/), side by side in one run, same payload
# (bench/push5.json, signed), same connection count, same Redis.
# Both do HMAC check, JSON parse, issue-key scan and XADD, then 202.
# Rounds alternate (bitsleuth, peer, bitsleuth, peer, ...) so that drift in
# a shared, noisy machine hits both; the printed ratio is what counts.
#   bench/ingest_bench.sh [SECONDS_PER_ROUND] [CONNECTIONS] [ROUNDS]
# Needs: wrk (apt-get install wrk), node >= 20 and npm (for the peer).
# shellcheck disable=SC2001
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10} conns=${2:-32} rounds=${3:-3}
body=bench/push5.json
work=bench/.work
mkdir -p "$work"

scripts/deps.sh build
command -v wrk >/dev/null || { sudo_=(); [ "$(id -u)" -ne 0 ] && sudo_=(sudo); "${sudo_[@]}" apt-get install -y -qq wrk >/dev/null; }
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target bitsleuth >/dev/null

if [ ! -d "$work/peer-node/node_modules" ]; then
  # A copy, so that npm's node_modules stays out of the source tree.
  rm -rf "$work/peer-node" && cp -r bench/peer-node "$work/peer-node"
  (cd "$work/peer-node" && npm install --no-audit --no-fund --silent >/dev/null)
fi

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rport=$(port) bport=$(port) pport=$(port)
rdir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$rdir"; }
trap cleanup EXIT

redis-server --port "$rport" --bind 127.0.0.1 --dir "$rdir" --save "" --appendonly no \
  --daemonize no --logfile "$rdir/redis.log" & pids+=($!)
for _ in $(seq 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done

cat > "$work/bench.yaml" <<YAML
listen: 127.0.0.1:$bport
log_level: warn
redis:
  url: redis://127.0.0.1:$rport/0
  prefix: bench
bitbucket:
  secret_env: BENCH_SECRET
sleuth:
  dry_run: true
queue:
  content_dedupe: false      # every request is the same push: count them all
  raw_ttl: 0                 # the peer keeps only the body in its stream
deployments:
  - {org: acme, deployment: web, repository: "acme/shop", branch: main, environment: production}
YAML
BENCH_SECRET=bench-secret build/bitsleuth serve -c "$work/bench.yaml" 2>"$work/bitsleuth.log" & pids+=($!)
bs_pid=$!
(cd "$work/peer-node" && REDIS_PORT=$rport exec node server.js "$pport" bench-secret) >"$work/peer.log" 2>&1 & pids+=($!)
peer_pid=$!
for p in $bport $pport; do
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$p/" && break; sleep 0.1; done
done

sig="sha256=$(openssl dgst -sha256 -hmac bench-secret "$body" | awk '{print $2}')"
run() { BODY_FILE=$body SIG=$sig wrk -t2 -c"$conns" -d"${secs}s" -s bench/post.lua "http://127.0.0.1:$1" | grep RESULT; }

# Warm-up (JIT for node, page cache for both).
run "$bport" >/dev/null; run "$pport" >/dev/null
echo "round  server     $(printf '%-10s %-10s %-10s %s' rps p50_ms p99_ms errors/non2xx)"
bs_rps=() peer_rps=()
for r in $(seq "$rounds"); do
  for who in bitsleuth peer; do
    p=$bport; [ $who = peer ] && p=$pport
    line=$(run "$p")
    rps=$(sed 's/.*rps=\([0-9]*\).*/\1/' <<<"$line")
    p50=$(sed 's/.*p50_ms=\([0-9.]*\).*/\1/' <<<"$line")
    p99=$(sed 's/.*p99_ms=\([0-9.]*\).*/\1/' <<<"$line")
    err=$(sed 's/.*errors=\([0-9]*\) non2xx=\([0-9]*\).*/\1\/\2/' <<<"$line")
    printf '%-6s %-10s %-10s %-10s %-10s %s\n' "$r" "$who" "$rps" "$p50" "$p99" "$err"
    if [ $who = bitsleuth ]; then bs_rps+=("$rps"); else peer_rps+=("$rps"); fi
  done
done
rss() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
python3 - "${bs_rps[*]}" "${peer_rps[*]}" "$(rss $bs_pid)" "$(rss $peer_pid)" <<'PY'
import statistics, sys
b = [int(x) for x in sys.argv[1].split()]
p = [int(x) for x in sys.argv[2].split()]
mb, mp = statistics.median(b), statistics.median(p)
print("median rps: bitsleuth %d, peer %d -> ratio bitsleuth/peer = %.2fx" % (mb, mp, mb / mp))
print("RSS after the run: bitsleuth %d KiB, peer %d KiB -> ratio peer/bitsleuth = %.1fx"
      % (int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[4]) / int(sys.argv[3])))
PY
echo "jobs in redis: bitsleuth $(redis-cli -p "$rport" xlen '{bench}:jobs'), peer $(redis-cli -p "$rport" xlen bench:events)"
