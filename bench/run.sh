#!/usr/bin/env bash
# The ingest benchmark in one command (issue 10's harness): bitsleuth with
# the shipped defaults, bitsleuth lean, bitsleuth shipped with queue.events:
# false (issue 15), the Node peer and the floor (bare evhttp), interleaved
# rounds against one redis-server, over connections (1, 32, 256), Redis
# modes (durable = appendfsync always, everysec, no AOF) and payloads (5 KB,
# 200 KB); then the end-to-end runs against a fast loopback Sleuth and the
# callgrind instruction counts (serve's, and Redis' with the events streams
# on and off). Writes bench/results/latest.{md,png,tsv} (--quick:
# bench/results/quick.*, so that a quick run leaves the full one in place).
# See bench/README.md.
#
#   bench/run.sh [--quick] [--rounds N] [--secs S] [--e2e] [--no-e2e]
#                [--no-callgrind] [--conns "1 32 256"] [--modes "durable everysec noaof"]
#                [--payloads "5k 200k"] [--backlog 20000]
#
#   --quick   durable Redis, 32 connections, 5 KB, 2 rounds of 5 s, one 200 KB
#             round, a short end-to-end run and callgrind (about 3 minutes)
#   --e2e     only the end-to-end runs (and the report)
#
# Needs: wrk, gnuplot-nox, valgrind (installed when missing), node >= 20 and
# npm (the peer), redis-server, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cmdline="bench/run.sh${*:+ $*}"

quick=0 e2e=1 e2e_only=0 cg=1
rounds=3 secs=8
conns_list="1 32 256" modes="durable everysec noaof" payloads="5k 200k"
big_rounds="" e2e_secs=10 backlog=20000
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1; rounds=2; secs=5; conns_list=32; modes=durable; payloads="5k 200k"
             big_rounds=1 e2e_secs=5 backlog=5000 ;;
    --rounds) rounds=$2; shift ;;
    --secs) secs=$2; shift ;;
    --conns) conns_list=$2; shift ;;
    --modes) modes=$2; shift ;;
    --payloads) payloads=$2; shift ;;
    --backlog) backlog=$2; shift ;;
    --e2e) e2e_only=1 ;;
    --no-e2e) e2e=0 ;;
    --no-callgrind) cg=0 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
big_rounds=${big_rounds:-$rounds}

work=bench/.work res=bench/results
mkdir -p "$work" "$res"
log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# --- build -----------------------------------------------------------------
scripts/deps.sh build
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v gnuplot >/dev/null || need+=(gnuplot-nox)
if [ "$cg" = 1 ] && ! command -v valgrind >/dev/null; then need+=(valgrind); fi
if [ ${#need[@]} -gt 0 ]; then
  sudo_=(); [ "$(id -u)" -ne 0 ] && sudo_=(sudo)
  "${sudo_[@]}" apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${need[@]}" >/dev/null
fi
log "building bitsleuth (build-bench, RelWithDebInfo) and the bench tools"
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-bench -j"$(nproc)" --target bitsleuth >/dev/null
bs=$root/build-bench/bitsleuth
read -ra evflags <<<"$(pkg-config --cflags --libs libevent)"
for t in floor sleuth_fast; do
  cc -O2 -std=c11 -Wall -o "$work/$t" "bench/$t.c" "${evflags[@]}"
done
[ -f bench/push200.json ] || python3 bench/gen_big.py >/dev/null
if [ ! -d "$work/peer-node/node_modules" ] || ! cmp -s bench/peer-node/server.js "$work/peer-node/server.js"; then
  # A copy, so that npm's node_modules stays out of the source tree.
  rm -rf "$work/peer-node" && cp -r bench/peer-node "$work/peer-node"
  (cd "$work/peer-node" && npm install --no-audit --no-fund --silent >/dev/null)
fi

# --- processes ---------------------------------------------------------------
# shellcheck source=bench/procs.sh
. bench/procs.sh
clk=$(getconf CLK_TCK)
# cpu PID: user+system ticks of the process (all its threads).
cpu() { local s; s=$(<"/proc/$1/stat"); s=${s##*) }; read -ra f <<<"$s"; echo $((f[11] + f[12])); }
hwm() { awk '/^VmHWM/{print $2}' "/proc/$1/status"; }

secret=bench-secret token=bench-token
export BENCH_SECRET=$secret BENCH_TOKEN=$token
rport="" rpid="" rdir=""
redis_start() {  # MODE
  rport=$(port) rdir=$tmp/redis-$1
  rm -rf "$rdir"; mkdir -p "$rdir"
  local aof=(--appendonly no)
  case $1 in
    durable) aof=(--appendonly yes --appendfsync always) ;;
    everysec) aof=(--appendonly yes --appendfsync everysec) ;;
  esac
  redis-server --port "$rport" --bind 127.0.0.1 --dir "$rdir" --save "" "${aof[@]}" \
    --daemonize no --logfile "$rdir/redis.log" & rpid=$!; pids+=("$rpid")
  for _ in $(seq 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "run.sh: redis-server did not start" >&2; return 1
}
rcli() { redis-cli -p "$rport" "$@"; }
# Empty Redis between rounds; with AOF, rewrite it so that the file stays small.
redis_reset() {
  rcli flushall >/dev/null
  if [ "$(rcli config get appendonly | tail -n1)" = yes ]; then
    rcli bgrewriteaof >/dev/null 2>&1 || true
    for _ in $(seq 600); do
      rcli info persistence | grep -q '^aof_rewrite_in_progress:0' &&
        ! rcli info persistence | grep -q '^aof_rewrite_scheduled:1' && break
      sleep 0.05
    done
  fi
}

# Config: examples/bitsleuth.yaml (the shipped defaults) with listen, Redis,
# secret and deployments adjusted; VARIANT lean adds content_dedupe: false
# and raw_ttl: 0, noevents queue.events: false; VARIANT e2e has 64
# deployments and a live Sleuth.
write_config() {  # FILE PORT PREFIX VARIANT [SLEUTH_PORT]
  python3 bench/mkconfig.py "$1" "$2" "$3" "$4" "$rport" "${5:-}"
  "$bs" check -c "$1" >/dev/null 2>"$1.check" || { cat "$1.check" >&2; return 1; }
}

declare -A spid sport
# The bitsleuth servers (one `serve` each, its own prefix) and all servers.
bsservers=(shipped lean noevents)
servers=(shipped lean noevents peer floor)
servers_start() {
  local s
  for s in "${bsservers[@]}"; do
    sport[$s]=$(port)
    write_config "$work/$s.yaml" "${sport[$s]}" "b$s" "$s"
    : >"$work/$s.log"
    "$bs" serve -c "$work/$s.yaml" 2>>"$work/$s.log" & spid[$s]=$!; pids+=("$!")
  done
  sport[peer]=$(port)
  (cd "$work/peer-node" && REDIS_PORT=$rport exec node server.js "${sport[peer]}" "$secret") \
    >"$work/peer.log" 2>&1 & spid[peer]=$!; pids+=("$!")
  sport[floor]=$(port)
  "$work/floor" "${sport[floor]}" 2>"$work/floor.log" & spid[floor]=$!; pids+=("$!")
  for s in "${bsservers[@]}"; do wait_http "${sport[$s]}" healthz; done
  for s in peer floor; do wait_http "${sport[$s]}"; done
}
servers_stop() { local s; for s in "${servers[@]}"; do stop "${spid[$s]}"; done; }

body_of() { case $1 in 5k) echo bench/push5.json ;; 200k) echo bench/push200.json ;; esac; }
# wrk_run PORT CONNS SECS BODY [ENV...]: prints the RESULT line plus
# "gen_ticks=N" (wrk's own user+system ticks).
wrk_run() {
  local p=$1 c=$2 d=$3 b=$4 t=1; shift 4
  [ "$c" -ge 256 ] && t=2
  env BODY_FILE="$b" SECRET="$secret" "$@" wrk -t"$t" -c"$c" -d"${d}s" --timeout 10s \
    -s bench/sign.lua "http://127.0.0.1:$p/hooks/bitbucket" >"$tmp/wrk.out" 2>&1 &
  local w=$! g=0 s
  # wrk's CPU: sampled until it exits (the last sample misses at most
  # its final few milliseconds).
  while kill -0 "$w" 2>/dev/null; do
    s=$(cpu "$w" 2>/dev/null) && g=$s
    sleep 0.2
  done
  wait "$w" || { cat "$tmp/wrk.out" >&2; return 1; }
  echo "$(grep '^RESULT' "$tmp/wrk.out") gen_ticks=$g"
}
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

if [ "$quick" = 1 ]; then name=quick; else name=latest; fi
tsv=$res/$name.tsv
if [ "$e2e_only" = 0 ]; then
  printf 'mode\tpayload\tconns\tround\tserver\trequests\tsecs\trps\tp50_ms\tp90_ms\tp99_ms\tp999_ms\tmax_ms\terrors\tnon2xx\ts202\tserver_cpu_us\tredis_cpu_us\tgen_cpu_us\trss_kb\n' >"$tsv"
fi
measure() {  # MODE PAYLOAD CONNS ROUND SERVER
  local m=$1 pl=$2 c=$3 r=$4 s=$5 p pid line n dur genv=()
  # floor-static: the floor sent one signed request again and again, the
  # generator's cheapest form (its cost against floor's is that of signing).
  if [ "$s" = floor-static ]; then pid=${spid[floor]} p=${sport[floor]} genv=(STATIC=1)
  else pid=${spid[$s]} p=${sport[$s]}; fi
  redis_reset
  for f in "${bsservers[@]}"; do : >"$work/$f.log"; done
  echo 5 >"/proc/$pid/clear_refs"
  local c0 r0 c1 r1
  c0=$(cpu "$pid") r0=$(cpu "$rpid")
  line=$(wrk_run "$p" "$c" "$secs" "$(body_of "$pl")" "${genv[@]}")
  c1=$(cpu "$pid") r1=$(cpu "$rpid")
  n=$(kv requests "$line") dur=$(kv duration_us "$line")
  python3 - "$m" "$pl" "$c" "$r" "$s" "$n" "$dur" "$line" $((c1 - c0)) $((r1 - r0)) "$clk" "$(hwm "$pid")" >>"$tsv" <<'PY'
import sys
m, pl, c, r, s, n, dur, line, dc, dr, clk, rss = sys.argv[1:]
kv = dict(x.split("=", 1) for x in line.split()[1:])
n = int(n) or 1
us = lambda ticks: "%.1f" % (int(ticks) * 1e6 / int(clk) / n)
print("\t".join([m, pl, c, r, s, str(n), "%.2f" % (int(dur) / 1e6), kv["rps"], kv["p50_ms"],
                 kv["p90_ms"], kv["p99_ms"], kv["p999_ms"], kv["max_ms"], kv["errors"],
                 kv["non2xx"], kv["s202"], us(dc), us(dr), us(kv["gen_ticks"]), rss]))
PY
  log "$(tail -n1 "$tsv" | awk -F'\t' '{printf "%-8s %-4s c=%-3s r%s %-7s %8s req/s p99 %s ms  cpu %s us  redis %s us  gen %s us  rss %s kB  non2xx %s", $1,$2,$3,$4,$5,$8,$11,$17,$18,$19,$20,$15}')"
}

if [ "$e2e_only" = 0 ]; then
  for m in $modes; do
    log "redis mode $m"
    redis_start "$m"
    servers_start
    # Warm-up: node's JIT, page cache, every server's first connections.
    for s in "${servers[@]}"; do wrk_run "${sport[$s]}" 32 2 bench/push5.json >/dev/null; done
    for pl in $payloads; do
      nr=$rounds
      [ "$pl" = 200k ] && nr=$big_rounds
      for c in $conns_list; do
        for r in $(seq "$nr"); do
          # Rotate the order every round so that drift hits every server.
          for i in "${!servers[@]}"; do
            measure "$m" "$pl" "$c" "$r" "${servers[$(((i + r - 1) % ${#servers[@]}))]}"
          done
        done
        # The generator's calibration (no Redis involved: first mode only).
        [ "$m" = "${modes%% *}" ] && measure "$m" "$pl" "$c" 1 floor-static
      done
    done
    servers_stop
    stop "$rpid"
  done
fi

# --- end to end: bitsleuth run / serve + work against a fast Sleuth ----------
e2e_tsv=$res/$name-e2e.tsv
if [ "$e2e" = 1 ] || [ "$e2e_only" = 1 ]; then
  log "end to end: durable Redis, 64 targets, $e2e_secs s under wrk, backlog $backlog"
  printf 'phase\tsecs\tingest_requests\tingest_rps\tnon2xx\tdeploys\tdeploys_per_s\tjobs_before\tjobs_after\tbacklog_growth\tbacklog_share\tp99_ms\tbitsleuth_cpu_core\tredis_cpu_core\tsleuth_bad\n' >"$e2e_tsv"
  redis_start durable
  slport=$(port)
  "$work/sleuth_fast" "$slport" "$token" 2>"$work/sleuth_fast.log" & slpid=$!; pids+=("$slpid")
  wait_http "$slport" count
  scount() { curl -s "http://127.0.0.1:$slport/count" | awk '{print $2}'; }
  jobs() { "$bs" stats -c "$work/e2e.yaml" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["jobs"])'; }
  now() { date +%s.%N; }
  # Sleuth's count of refused calls (wrong path or token): must stay 0.
  sbad() { curl -s "http://127.0.0.1:$slport/count" | awk '{print $4}'; }
  e2e_row() { printf '%s %s\n' "$*" "$(sbad)" | tr ' ' '\t' >>"$e2e_tsv"; }

  # (i) one `run` process under wrk, pushes spread over the 64 repositories.
  eport=$(port)
  write_config "$work/e2e.yaml" "$eport" be2e e2e "$slport"
  : >"$work/e2e-run.log"
  "$bs" run -c "$work/e2e.yaml" 2>>"$work/e2e-run.log" & epid=$!; pids+=("$epid")
  wait_http "$eport" healthz
  wrk_run "$eport" 32 2 bench/push5.json REPOS=64 >/dev/null   # warm-up
  for _ in $(seq 100); do [ "$(jobs)" = 0 ] && break; sleep 0.1; done
  j0=$(jobs) d0=$(scount) c0=$(cpu "$epid") r0=$(cpu "$rpid") t0=$(now)
  line=$(wrk_run "$eport" 32 "$e2e_secs" bench/push5.json REPOS=64)
  j1=$(jobs) d1=$(scount) c1=$(cpu "$epid") r1=$(cpu "$rpid") t1=$(now)
  e2e_row "$(python3 - "$line" "$j0" "$j1" "$d0" "$d1" "$c0" "$c1" "$r0" "$r1" "$t0" "$t1" "$clk" <<'PY'
import sys
line, j0, j1, d0, d1, c0, c1, r0, r1, t0, t1, clk = sys.argv[1:]
kv = dict(x.split("=", 1) for x in line.split()[1:])
el = float(t1) - float(t0)
n = int(kv["requests"]); dur = int(kv["duration_us"]) / 1e6
dep = int(d1) - int(d0); grow = int(j1) - int(j0)
print("run %.1f %d %.0f %s %d %.0f %s %s %d %.2f %s %.2f %.2f" % (
    dur, n, n / dur, kv["non2xx"], dep, dep / el, j0, j1, grow, grow / max(n, 1),
    kv["p99_ms"], (int(c1) - int(c0)) / int(clk) / el, (int(r1) - int(r0)) / int(clk) / el))
PY
)"
  log "e2e run: $(tail -n1 "$e2e_tsv")"
  stop "$epid"

  # (ii) a backlog queued by `serve` (no worker), then drained by `work`.
  redis_reset
  : >"$work/e2e-serve.log"
  "$bs" serve -c "$work/e2e.yaml" 2>>"$work/e2e-serve.log" & epid=$!; pids+=("$epid")
  wait_http "$eport" healthz
  # wrk until the stream holds the backlog, then SIGINT (wrk prints its result).
  env BODY_FILE=bench/push5.json SECRET="$secret" REPOS=64 wrk -t1 -c32 -d600s --timeout 10s \
    -s bench/sign.lua "http://127.0.0.1:$eport/hooks/bitbucket" >"$tmp/wrk.out" 2>&1 &
  w=$!
  while kill -0 "$w" 2>/dev/null && [ "$(rcli xlen '{be2e}:jobs')" -lt "$backlog" ]; do sleep 0.05; done
  kill -INT "$w" 2>/dev/null || true
  wait "$w" || true
  line="$(grep '^RESULT' "$tmp/wrk.out") gen_ticks=0"
  stop "$epid"
  queued=$(jobs) d0=$(scount)
  log "e2e backlog: $queued jobs queued by serve ($(kv rps "$line") req/s)"
  : >"$work/e2e-work.log"
  "$bs" work -c "$work/e2e.yaml" 2>>"$work/e2e-work.log" & wpid=$!; pids+=("$wpid")
  c0=$(cpu "$wpid") r0=$(cpu "$rpid") tw0=$(now) tfirst="" dfirst=0
  while :; do
    d=$(scount)
    if [ -z "$tfirst" ] && [ "$d" -gt "$d0" ]; then tfirst=$(now) dfirst=$d; fi
    [ $((d - d0)) -ge "$queued" ] && break
    if [ "$(python3 -c "print(int($(now) - $tw0 > 300))")" = 1 ]; then log "e2e: drain timed out"; break; fi
    sleep 0.1
  done
  tl=$(now) c1=$(cpu "$wpid") r1=$(cpu "$rpid") j1=$(jobs)
  stop "$wpid"
  e2e_row "$(python3 - "$line" "$queued" "$d0" "$d" "$dfirst" "$tfirst" "$tl" "$tw0" "$c0" "$c1" "$r0" "$r1" "$clk" "$j1" <<'PY'
import sys
line, q, d0, d, dfirst, tfirst, tl, tw0, c0, c1, r0, r1, clk, j1 = sys.argv[1:]
kv = dict(x.split("=", 1) for x in line.split()[1:])
el = float(tl) - float(tfirst or tw0)
whole = float(tl) - float(tw0)
dep = int(d) - int(dfirst or d0)
print("work %.1f %s %s %s %d %.0f %s %s %d 0 %s %.2f %.2f" % (
    el, kv["requests"], kv["rps"], kv["non2xx"], int(d) - int(d0), dep / el if el > 0 else 0,
    q, j1, int(j1) - int(q), kv["p99_ms"],
    (int(c1) - int(c0)) / int(clk) / whole, (int(r1) - int(r0)) / int(clk) / whole))
PY
)"
  log "e2e work: $(tail -n1 "$e2e_tsv")"
  stop "$slpid"
  stop "$rpid"
fi

# --- callgrind -----------------------------------------------------------------
cg_out=$res/$name-callgrind.txt
if [ "$cg" = 1 ] && [ "$e2e_only" = 0 ]; then
  log "callgrind: instructions per request (bench/callgrind.sh)"
  bench/callgrind.sh --no-build >"$cg_out" 2>"$work/callgrind.log" || { cat "$work/callgrind.log" >&2; rm -f "$cg_out"; }
  # Redis' side of a delivery with the events streams (shipped) and
  # without (queue.events: false): what they cost Redis, in instructions.
  log "callgrind: Redis instructions per delivery, queue.events on and off"
  { bench/callgrind.sh --no-build --redis &&
    bench/callgrind.sh --no-build --redis --variant noevents; } >"$cg_out.redis" 2>"$work/callgrind-redis.log" ||
    { cat "$work/callgrind-redis.log" >&2; rm -f "$cg_out.redis"; }
fi

# --- report -------------------------------------------------------------------
python3 bench/report.py --cmd "$cmdline" --quick "$quick" --secs "$secs" --rounds "$rounds" \
  --bs "$bs" --tsv "$tsv" --e2e "$e2e_tsv" --callgrind "$cg_out" --callgrind-redis "$cg_out.redis" \
  --out "$res/$name"
log "wrote $res/$name.md, $res/$name.png, $res/$name.tsv"
