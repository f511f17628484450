#!/usr/bin/env bash
# Ingest throughput per Redis topology (issue 13): `bitsleuth serve` with
# the shipped defaults (bench/mkconfig.py shipped) under the same load as
# bench/run.sh's ingest rounds (wrk, bench/sign.lua: unique signed 5 KB
# Cloud pushes, 32 connections, S seconds), against each topology that
# tests/integration/redis_topo.py starts:
#
#   single     one redis-server, no AOF
#   sentinel   a master, 2 replicas, 3 sentinels; redis.wait_replicas 1
#   cluster    3 masters (no replicas), queue.shards 1
#   cluster3   3 masters with a replica each, queue.shards 3
#
# Prints one table of deliveries/s (and p99, non-2xx) per topology and
# writes it to bench/results/topology.tsv. Not part of ctest.
#
#   bench/topology.sh [--quick] [--secs S] [--conns N] [--rounds R]
#                     [--topologies "single sentinel cluster cluster3"] [--bin PATH]
#
#   --quick   one 5 s round per topology (default: 2 rounds of 10 s)
#   --bin     a bitsleuth binary to measure instead of building build-bench
#
# Needs: wrk (installed when missing), redis-server, redis-sentinel,
# redis-cli, python3, cmake and a C compiler (builds build-bench).
set -euo pipefail
cd "$(dirname "$0")/.."

secs=10 rounds=2 conns=32 topologies="single sentinel cluster cluster3" bin=""
while [ $# -gt 0 ]; do
  case $1 in
    --quick) secs=5 rounds=1 ;;
    --secs) secs=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --conns) conns=$2; shift ;;
    --topologies) topologies=$2; shift ;;
    --bin) bin=$2; shift ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "topology.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

work=bench/.work res=bench/results
mkdir -p "$work" "$res"
log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

if ! command -v wrk >/dev/null; then
  sudo_=(); [ "$(id -u)" -ne 0 ] && sudo_=(sudo)
  "${sudo_[@]}" apt-get install -y -qq -o DPkg::Lock::Timeout=600 wrk >/dev/null
fi
if [ -n "$bin" ]; then
  bs=$(realpath "$bin")
else
  log "building bitsleuth (build-bench, RelWithDebInfo)"
  cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build-bench -j"$(nproc)" --target bitsleuth >/dev/null
  bs=$PWD/build-bench/bitsleuth
fi

# shellcheck source=bench/procs.sh
. bench/procs.sh

secret=bench-secret token=bench-token
export BENCH_SECRET=$secret BENCH_TOKEN=$token

# topo_up TOPOLOGY: starts it (redis_topo.py up ... --print-config) and
# sets tpid and tcfg (the redis: lines it printed).
tpid="" tcfg=""
topo_up() {
  local kind=$1 out=$tmp/topo-$1.out args=()
  case $kind in
    single) args=(single) ;;
    sentinel) args=(sentinel --replicas 2) ;;
    cluster) args=(cluster --masters 3 --replicas 0) ;;
    cluster3) args=(cluster --masters 3 --replicas 1) ;;
  esac
  python3 tests/integration/redis_topo.py up "${args[@]}" --print-config >"$out" 2>"$tmp/topo-$1.err" &
  tpid=$!; pids+=("$tpid")
  for _ in $(seq 1200); do
    grep -q '^# ready' "$out" && break
    kill -0 "$tpid" 2>/dev/null || { cat "$tmp/topo-$1.err" >&2; return 1; }
    sleep 0.05
  done
  grep -q '^# ready' "$out" || { echo "topology.sh: $kind did not come up" >&2; return 1; }
  tcfg=$(sed '/^# ready/,$d' "$out")
}

# write_config FILE LISTEN_PORT TOPOLOGY: the shipped config with the
# topology's redis: lines, and wait_replicas / shards as the table says.
write_config() {
  local f=$1 p=$2 kind=$3 wait=0 shards=1
  case $kind in
    sentinel) wait=1 ;;
    cluster3) wait=1 shards=3 ;;
  esac
  python3 bench/mkconfig.py "$f" "$p" "btopo" shipped 1
  python3 - "$f" "$wait" "$shards" "$tcfg" <<'PY'
import sys
f, wait, shards, lines = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
y = open(f).read()
url = "  url: redis://127.0.0.1:1/0"
assert url in y, "mkconfig.py wrote no redis url line"
block = lines.rstrip("\n")
if wait:
    block += "\n  wait_replicas: %d\n  wait_timeout_ms: 1000" % wait
y = y.replace(url, block)
if shards > 1:
    if "\nqueue:\n" in y:
        y = y.replace("\nqueue:\n", "\nqueue:\n  shards: %d\n" % shards, 1)
    else:
        y += "\nqueue:\n  shards: %d\n" % shards
open(f, "w").write(y)
PY
  "$bs" check -c "$f" >/dev/null 2>"$f.check" || { cat "$f.check" >&2; return 1; }
}

tsv=$res/topology.tsv
printf 'topology\tround\tsecs\trequests\trps\tp50_ms\tp99_ms\terrors\tnon2xx\ts202\n' >"$tsv"
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
for t in $topologies; do
  log "topology $t: starting"
  topo_up "$t"
  port_=$(port)
  cfg=$work/topology-$t.yaml
  if ! write_config "$cfg" "$port_" "$t"; then
    log "topology $t: bitsleuth check refused the config (above); skipped"
    printf '%s\t-\t-\t-\tconfig refused\t-\t-\t-\t-\t-\n' "$t" >>"$tsv"
    stop "$tpid"; continue
  fi
  : >"$work/topology-$t.log"
  "$bs" serve -c "$cfg" 2>>"$work/topology-$t.log" & spid=$!; pids+=("$spid")
  wait_http "$port_" readyz
  # Warm-up, then the rounds.
  env BODY_FILE=bench/push5.json SECRET="$secret" wrk -t1 -c"$conns" -d2s --timeout 10s \
    -s bench/sign.lua "http://127.0.0.1:$port_/hooks/bitbucket" >/dev/null 2>&1
  for r in $(seq "$rounds"); do
    line=$(env BODY_FILE=bench/push5.json SECRET="$secret" wrk -t1 -c"$conns" -d"${secs}s" --timeout 10s \
      -s bench/sign.lua "http://127.0.0.1:$port_/hooks/bitbucket" 2>&1 | grep '^RESULT')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$r" "$secs" "$(kv requests "$line")" \
      "$(kv rps "$line")" "$(kv p50_ms "$line")" "$(kv p99_ms "$line")" "$(kv errors "$line")" \
      "$(kv non2xx "$line")" "$(kv s202 "$line")" >>"$tsv"
    log "topology $t round $r: $(kv rps "$line") deliveries/s, p99 $(kv p99_ms "$line") ms, non-2xx $(kv non2xx "$line")"
  done
  stop "$spid"
  stop "$tpid"
done

# The table: the median round per topology.
python3 - "$tsv" "$conns" "$secs" <<'PY'
import statistics
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
print("\nbitsleuth serve, wrk -c%s, %s s rounds, unique signed 5 KB pushes\n" % (sys.argv[2], sys.argv[3]))
print("| topology | deliveries/s | p99 ms | non-2xx | errors |")
print("|---|---:|---:|---:|---:|")
seen = []
for r in rows:
    if r[0] not in seen:
        seen.append(r[0])
for t in seen:
    rs = [r for r in rows if r[0] == t]
    if rs[0][4] == "config refused":
        print("| %s | config refused | | | |" % t)
        continue
    med = lambda i: statistics.median(float(r[i]) for r in rs)
    print("| %s | %.0f | %.2f | %d | %d |" % (t, med(4), med(6), sum(int(r[8]) for r in rs),
                                              sum(int(r[7]) for r in rs)))
PY
